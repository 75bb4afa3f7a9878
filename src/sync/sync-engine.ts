import type { Logger } from 'pino';
import type { SnapshotHolder } from '../feeds/feed-service.js';
import { applyWalk, snapshotDelta } from '../interviews/snapshot.js';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import type { WalkBudget } from '../kombo/paginate-interviews.js';
import { KomboError } from '../kombo/kombo-error.js';
import type { Metrics } from '../metrics.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { MassRemovalHeldError } from './mass-removal-guard.js';
import { createRemovalCheck } from './removal-check.js';
import { satisfiedElsewhere } from './satisfied-elsewhere.js';
import { createSingleFlight, type WalkAsk } from './single-flight.js';
import { createSnapshotFollower } from './snapshot-follower.js';
import { createSyncStatus, elsewhereSummary, type RefreshSummary, type SyncStatus } from './sync-status.js';
import { createWalkBudgets, type WalkCeiling } from './walk-budget.js';
import { LeaseBusyError, StaleLeaseError, type WalkCoordinator, type WalkLease } from './walk-coordinator.js';
import { walkInterviews } from './walk-interviews.js';
import { linkSignals, takeWalkLease } from './walk-lease.js';
import { createWalkReport } from './walk-report.js';
import type { WalkSlot } from './walk-slots.js';
import { createWebhookCooldown, WEBHOOK_WALK_INTERVAL_MS } from './webhook-cooldown.js';

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
  const report = createWalkReport({ logger, metrics });
  const removals = createRemovalCheck({ holdMs: options.massRemovalHoldMs, logger, metrics, now });
  const budgets = createWalkBudgets(options.walkCeiling);
  const follower = createSnapshotFollower({
    coordinator,
    integrationId: client.integrationId,
    feeds,
    onTakenIn(snapshot, update) {
      status.waitForStore(false);
      if (!update.restored) status.tookIn(snapshot);
    },
  });
  const flight = createSingleFlight<RefreshSummary>({
    run,
    fullWalk: (ask) => plan(ask).full,
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

  /** The walk `ask` makes now: full when asked, while a removal is held, with nothing served, or when one is due. */
  function plan(ask: WalkAsk) {
    const previous = feeds.snapshot();
    const startedAtMs = now();
    // While a removal is held every walk is full: only a full walk can tell a recovery from an agreement.
    const full =
      ask.full || ask.confirmRemovals || removals.held() !== null || previous === undefined || startedAtMs - previous.data.fullSyncedAtMs >= options.fullSyncIntervalMs;
    return { previous, startedAtMs, full, kind: full ? ('full' as const) : ('incremental' as const) };
  }

  async function run(ask: WalkAsk): Promise<RefreshSummary> {
    const startedAtMs = now();
    const heldAtAsk = feeds.snapshot() !== undefined;
    const { lease, askedAtMs } = await takeWalkLease({
      coordinator,
      integrationId: client.integrationId,
      // A periodic refresh takes the lease only when it is free; one asked for waits for it.
      wait: !ask.periodic || ask.full || ask.confirmRemovals,
      pollMs: options.leasePollMs ?? 250,
      signal: controller.signal,
      stopped: closedError,
      now,
      onStore(down) {
        if (status.waitForStore(down !== undefined)) logger.warn({ reason: down?.message }, 'the shared store is unreachable: this walk waits for it (feeds serve on from memory)');
      },
    });
    if (lease === undefined) return elsewhereSummary('incremental', startedAtMs, now(), feeds.snapshot()); // another walker walks it now
    let satisfied: boolean;
    try {
      await follower.catchUp();
      const current = feeds.snapshot()?.data;
      const periodicFreshMs = options.periodicFreshMs ?? 0;
      satisfied = satisfiedElsewhere({ ask, heldAtAsk, askedAtMs, walkedAtMs: follower.walkedAtMs(), startedAtMs, current, periodicFreshMs });
    } catch (error) {
      await lease.release();
      throw error;
    }
    if (satisfied) {
      await lease.release();
      return elsewhereSummary(ask.full ? 'full' : 'incremental', startedAtMs, now(), feeds.snapshot());
    }
    try {
      return await walkAndApply(ask, lease);
    } finally {
      await lease.release();
    }
  }

  async function walkAndApply(ask: WalkAsk, lease: WalkLease): Promise<RefreshSummary> {
    const { previous, startedAtMs, full, kind } = plan(ask);
    const budget = budgets.next(previous);
    flight.walking(full);
    const walkSignal = linkSignals(controller.signal, lease.signal);
    try {
      const walkOnce = () =>
        walkInterviews(client, {
          kind,
          startedAtMs,
          signal: walkSignal.signal,
          ...(full ? {} : { updatedAfterMs: previous!.data.syncedAtMs - (options.overlapMs ?? 60_000) }),
          ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
          budget,
          // One policy for full and incremental walks: an invalid record's interview keeps its last good version.
          onRejected: (record) => report.rejected(record, record.id !== null && previous?.byId.has(record.id) === true),
        });
      const result = await (options.walkSlot ? options.walkSlot.run(walkOnce, controller.signal) : walkOnce());
      // Nothing is applied until every page has been read: a walk that fails halfway changes no feed.
      const base = feeds.snapshot();
      const applied = applyWalk(base, result.walk, { formerInterviewerRetentionMs: options.formerInterviewerRetentionMs });
      removals.check({ kind, startedAtMs, base, next: applied.snapshot, confirmed: ask.confirmRemovals });
      if (full) budgets.walkedFull(result.size);
      // Published first, served after: a result the coordinator refuses (a newer lease exists) or cannot take is served
      // nowhere, so every walker keeps serving the same bytes. An incremental walk on the version held may be shared as
      // what it changed.
      const on = follower.held();
      const delta = () => snapshotDelta(previous!, applied.snapshot, applied.changedEmails);
      const onHeld = kind === 'incremental' && previous !== undefined && base === previous && on.version > 0;
      const published = await lease.publish(applied.snapshot.data, { full, changes: applied.changes, ...(onHeld ? { change: { on, delta } } : {}) });
      follower.published(published, lease.grantedAtMs);
      feeds.replace(applied.snapshot, applied.changedEmails);
      await published.written;
      const summary: RefreshSummary = {
        kind,
        startedAt: new Date(startedAtMs).toISOString(),
        durationMs: now() - startedAtMs,
        pages: result.pages,
        requests: result.requests,
        interviews: applied.snapshot.size,
        interviewers: applied.snapshot.byEmail.size,
        changes: applied.changes,
        changedFeeds: applied.changedEmails.size,
        rejectedRecords: result.rejected.length,
      };
      status.succeeded(summary);
      report.succeeded(summary);
      return summary;
    } catch (error) {
      throw failed(error, kind, startedAtMs, budget, lease);
    } finally {
      walkSignal.dispose();
    }
  }

  /** Tells of a walk that failed, and gives what the refresh rejects with. */
  function failed(error: unknown, kind: 'full' | 'incremental', startedAtMs: number, budget: WalkBudget, lease: WalkLease): unknown {
    if (error instanceof MassRemovalHeldError) return error; // logged and counted by the removal check
    if (error instanceof StaleLeaseError || (lease.signal.aborted && !controller.signal.aborted)) {
      // Not Kombo's failure: another walker walks now. Its result reaches this one by a change notice.
      report.leaseLost(kind, error);
      void follower.catchUp().catch(() => {});
      return error instanceof StaleLeaseError ? error : new StaleLeaseError(client.integrationId, lease.token);
    }
    if (error instanceof StoreUnavailableError) {
      status.waitForStore(true);
      report.storeUnavailable(kind, error);
      return error;
    }
    // A walk we stopped ourselves (shutdown) is no failure of Kombo's: counted and logged apart, not on /healthz.
    const aborted = (error instanceof KomboError && error.kind === 'aborted') || controller.signal.aborted;
    if (error instanceof KomboError && error.kind === 'over_budget') budgets.passed(budget);
    if (!aborted) status.failed(kind, error);
    report.failed(kind, now() - startedAtMs, error, aborted);
    return error;
  }

  return {
    async restore() {
      // The coordinator's snapshot, whoever walked it. A store that cannot be reached stops start-up (server entry); one
      // that cannot be read is logged and walked over.
      let update;
      try {
        update = await follower.catchUp();
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error;
        logger.warn({ err: error }, 'ignored an unreadable shared snapshot; waiting for Kombo instead');
        return false;
      }
      const snapshot = feeds.snapshot();
      if (update === undefined || snapshot === undefined) return false;
      if (update.restored) logger.info({ interviews: snapshot.size, syncedAt: new Date(snapshot.data.syncedAtMs).toISOString() }, 'restored the last saved snapshot');
      else logger.info({ interviews: snapshot.size, version: update.version }, 'took in the shared snapshot');
      return true;
    },
    refresh: (ask = {}) => flight.refresh({ ...ask, periodic: (ask.periodic ?? false) && options.periodicFreshMs !== undefined }),
    adopt: async () => (await follower.catchUp()) !== undefined,
    version: () => follower.held().version,
    requestRefresh: () => cooldown.request(),
    status: () => status.view({ running: flight.running(), held: removals.held() }),
    hasSnapshot: () => feeds.snapshot() !== undefined,
    async close() {
      const ended = flight.close();
      cooldown.close();
      controller.abort(new Error('shutting down'));
      await ended;
    },
  };
}
