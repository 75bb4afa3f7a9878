import type { Logger } from 'pino';
import type { SnapshotHolder } from '../feeds/feed-service.js';
import { snapshotDelta } from '../interviews/snapshot.js';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import { KomboError } from '../kombo/kombo-error.js';
import type { Metrics } from '../metrics.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { MassRemovalHeldError } from './mass-removal-guard.js';
import { createSingleFlight, type WalkAsk } from './single-flight.js';
import { createSnapshotBuilder, type WalkPlan } from './snapshot-builder.js';
import { createSnapshotFollower } from './snapshot-follower.js';
import { createSyncStatus, walkSummary, type RefreshSummary, type SyncStatus } from './sync-status.js';
import type { WalkCeiling } from './walk-budget.js';
import { LeaseBusyError, StaleLeaseError, type WalkCoordinator, type WalkLease } from './walk-coordinator.js';
import { linkSignals } from '../link-signals.js';
import { createWalkReport } from './walk-report.js';
import type { WalkSlot } from './walk-slots.js';
import { createWalkTurns } from './walk-turns.js';
import { createWebhookCooldown, WEBHOOK_WALK_INTERVAL_MS } from './webhook-cooldown.js';

/** What a refresh did, and what /healthz shows of syncing (kept in `sync-status.ts`). */
export type { RefreshSummary, SyncStatus } from './sync-status.js';

/** How a refresh is asked for. */
export interface RefreshOptions {
  full?: boolean;
  confirmRemovals?: boolean;
  /**
   * A refresh of the schedule, not one anybody asked for: where walkers share the schedule (see
   * {@link SyncEngineOptions.periodicFreshMs}) it is skipped when another walker holds the lease or walked recently.
   */
  periodic?: boolean;
}

/** Runs one integration's refreshes from Kombo, one walk at a time, and swaps the result in whole. */
export interface SyncEngine {
  /** Loads the last saved snapshot, if any, so feeds are served before Kombo answers; true when one was loaded. */
  restore(): Promise<boolean>;
  /**
   * Refreshes now, or joins the walk already in flight, and resolves with its summary; rejects when the walk
   * failed, in which case nothing changed (a held walk rejects with {@link MassRemovalHeldError}). `full` asks for a
   * full walk even when an incremental one would do; asked during an incremental walk, it waits for that walk and
   * then runs a full one (shared by every such caller). `confirmRemovals` runs a full walk of its own (after the one
   * in flight) and applies it whatever it removes.
   */
  refresh(options?: RefreshOptions): Promise<RefreshSummary>;
  /** Takes in the coordinator's snapshot when it is newer than the one served (a change notice); true when it did. */
  adopt(): Promise<boolean>;
  /** The version of the coordinator's snapshot served here (0: none). */
  version(): number;
  /**
   * Asks for a refresh without waiting (webhooks). One in flight may have read past the change already, so one more
   * walk follows it; any number of requests during a walk still make only that one more. Walks started this way are
   * at least `webhookIntervalMs` apart: requests inside the interval make one walk at its end.
   */
  requestRefresh(): void;
  status(): SyncStatus;
  /** Whether a snapshot is being served (restored or walked). */
  hasSnapshot(): boolean;
  /** Aborts the walk in flight and refuses new ones (shutdown). */
  close(): Promise<void>;
}

/** What the engine works with. */
export interface SyncEngineOptions {
  client: KomboClient;
  feeds: SnapshotHolder;
  /** Who walks, where each walk's result is kept, and how it reaches every walker (`createLocalWalkCoordinator` alone). */
  coordinator: WalkCoordinator;
  /** Where walks wait their turn among every integration's (SYNC_CONCURRENCY); none: walks never wait. */
  walkSlot?: WalkSlot;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  fullSyncIntervalMs: number;
  /** Incremental walks ask for changes since the last walk's start less this, against clock skew. */
  overlapMs?: number;
  maxPages?: number;
  /** The most any walk may read (KOMBO_WALK_MAX_RECORDS, KOMBO_WALK_MAX_MB); each walk's budget is set below it. */
  walkCeiling?: WalkCeiling;
  /** Least time between the starts of two walks asked for by {@link SyncEngine.requestRefresh}. */
  webhookIntervalMs?: number;
  /** How long an interviewer with no live interview stays in the snapshot's side tables; unset, for good. */
  formerInterviewerRetentionMs?: number;
  /** FEED_PAST_DAYS: what ended before the feed window is not held (see `SnapshotBuilderOptions.feedPastDays`). */
  feedPastDays?: number;
  /** How long full walks must keep agreeing on a held mass removal before it applies unconfirmed. */
  massRemovalHoldMs: number;
  /**
   * Set where other walkers share the schedule: a periodic refresh is skipped when another walker holds the lease or
   * the coordinator's snapshot was walked less than this ago, so walkers together walk at the rate one would. Unset,
   * a periodic refresh is like any other.
   */
  periodicFreshMs?: number;
  /** How long to wait between tries for a lease another walker holds (default 250 ms, jittered). */
  leasePollMs?: number;
}

/** Creates a {@link SyncEngine}. */
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { client, feeds, coordinator, logger, metrics } = options;
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  const closedError = () => new KomboError('sync engine is closed', { kind: 'aborted' });
  const status = createSyncStatus(now);
  const report = createWalkReport({ logger, metrics, hasSnapshot: () => feeds.snapshot() !== undefined });
  const builder = createSnapshotBuilder({ ...options, now, onRejected: report.rejected });
  const integrationId = client.integrationId;
  const follower = createSnapshotFollower({ coordinator, integrationId, feeds, logger, onTakenIn: status.tookIn });
  const turns = createWalkTurns({
    ...{ coordinator, integrationId, feeds, follower, status, logger, now },
    signal: controller.signal,
    stopped: closedError,
    periodicFreshMs: options.periodicFreshMs ?? 0,
    leasePollMs: options.leasePollMs ?? 250,
  });
  const flight = createSingleFlight<RefreshSummary>({
    run,
    fullWalk: (ask) => builder.plan(ask).full,
    closedError,
    onStart: () => cooldown.walkStarted(), // this walk reads whatever a webhook told of so far
    onFailure(ask, error) {
      // A walk asked for that could not run (the store unreachable, another walker's lease held past the wait) is
      // asked again after the webhook interval, not dropped until the next periodic refresh.
      if (!ask.periodic && (error instanceof StoreUnavailableError || error instanceof LeaseBusyError) && !flight.closed()) cooldown.request();
    },
    onIdle: () => cooldown.idle(),
  });
  const cooldown = createWebhookCooldown({
    intervalMs: options.webhookIntervalMs ?? WEBHOOK_WALK_INTERVAL_MS,
    busy: flight.running,
    walk: () => void flight.refresh().catch(() => {}), // logged by the walk
  });

  async function run(ask: WalkAsk): Promise<RefreshSummary> {
    const unleased = coordinator.noteUnchanged && ask.periodic && !ask.confirmRemovals ? await walkWithoutLease(ask, coordinator.noteUnchanged) : undefined;
    if (unleased !== undefined) return unleased;
    const turn = await turns.take(ask);
    if (turn.lease === undefined) return turn.elsewhere;
    try {
      return await walkAndApply(builder.plan(ask), turn.lease);
    } finally {
      await turn.lease.release();
    }
  }

  /**
   * A periodic incremental walk of shared walkers, without a lease (it writes no data): one exchange when it finds
   * nothing. One that finds a change, or cannot be made so (full, nothing held), gives way (undefined) to a walk under
   * the lease, so nothing a walk without a lease read is ever published.
   */
  async function walkWithoutLease(ask: WalkAsk, noteUnchanged: NonNullable<WalkCoordinator['noteUnchanged']>): Promise<RefreshSummary | undefined> {
    const fresh = turns.freshElsewhere(ask, now());
    if (fresh) return fresh;
    const plan = builder.plan(ask);
    const on = follower.held();
    if (plan.full || plan.previous === undefined || on.version === 0) return undefined;
    flight.walking(false);
    const { startedAtMs, kind } = plan;
    // Its own signal: a request's AbortSignal.any on the engine's (process-long) signal would stay on it for good.
    const walk = linkSignals(controller.signal);
    let built;
    try {
      built = await builder.build(plan, { signal: walk.signal, slotSignal: controller.signal });
      const { base, applied } = built;
      if (applied.changes > 0 || base !== plan.previous || follower.held() !== on) return undefined;
      if (!(await noteUnchanged(integrationId, on, applied.snapshot.data.syncedAtMs))) return undefined; // published meanwhile
    } catch (error) {
      throw failed(error, kind, startedAtMs);
    } finally {
      walk.dispose();
    }
    const { result, base, applied } = built;
    if (feeds.snapshot() === base) feeds.replace(applied.snapshot, applied.changedEmails);
    const summary = walkSummary(kind, startedAtMs, now(), result, applied);
    status.succeeded(summary);
    report.succeeded(summary);
    return summary;
  }

  async function walkAndApply(plan: WalkPlan, lease: WalkLease): Promise<RefreshSummary> {
    const { previous, startedAtMs, full, kind } = plan;
    flight.walking(full);
    const walk = linkSignals(controller.signal, lease.signal);
    try {
      const { result, base, applied } = await builder.build(plan, { signal: walk.signal, slotSignal: controller.signal });
      // Published first, served after: a result the coordinator refuses (a newer lease exists) or cannot take is served
      // nowhere, so every walker keeps serving the same bytes. An incremental walk on the version held may be shared as
      // what it changed.
      const on = follower.held();
      const delta = () => snapshotDelta(previous!, applied.snapshot, applied.changedEmails);
      const onHeld = kind === 'incremental' && previous !== undefined && base === previous && on.version > 0;
      const published = await lease.publish(applied.snapshot.data, { full, changes: applied.changes, ...(onHeld ? { change: { on, delta, size: applied.snapshot.size } } : {}) });
      follower.published(published, lease.grantedAtMs);
      feeds.replace(applied.snapshot, applied.changedEmails);
      await published.written;
      const summary = walkSummary(kind, startedAtMs, now(), result, applied);
      status.succeeded(summary);
      report.succeeded(summary);
      return summary;
    } catch (error) {
      throw failed(error, kind, startedAtMs, lease);
    } finally {
      walk.dispose();
    }
  }

  /** Tells of a walk that failed, and gives what the refresh rejects with. */
  function failed(error: unknown, kind: 'full' | 'incremental', startedAtMs: number, lease?: WalkLease): unknown {
    if (error instanceof MassRemovalHeldError) return error; // logged and counted by the removal check
    if (lease && (error instanceof StaleLeaseError || (lease.signal.aborted && !controller.signal.aborted))) {
      // Not Kombo's failure: another walker walks now. Its result reaches this one by a change notice.
      report.leaseLost(kind, error);
      void follower.catchUp().catch(() => {});
      return error instanceof StaleLeaseError ? error : new StaleLeaseError(integrationId, lease.token);
    }
    if (error instanceof StoreUnavailableError) {
      status.waitForStore(true);
      report.storeUnavailable(kind, error);
      return error;
    }
    // A walk we stopped ourselves (shutdown) is no failure of Kombo's: counted and logged apart, not on /healthz.
    const aborted = (error instanceof KomboError && error.kind === 'aborted') || controller.signal.aborted;
    if (!aborted) status.failed(kind, error);
    report.failed(kind, now() - startedAtMs, error, aborted);
    return error;
  }

  return {
    restore: () => follower.restore(),
    refresh: (ask = {}) => flight.refresh({ ...ask, periodic: (ask.periodic ?? false) && options.periodicFreshMs !== undefined }),
    adopt: async () => (await follower.catchUp()) !== undefined,
    version: () => follower.held().version,
    requestRefresh: () => cooldown.request(),
    status: () => status.view({ running: flight.running(), held: builder.held() }),
    hasSnapshot: () => feeds.snapshot() !== undefined,
    async close() {
      const ended = flight.close();
      cooldown.close();
      controller.abort(new Error('shutting down'));
      await ended;
    },
  };
}
