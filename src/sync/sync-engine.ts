import type { Logger } from 'pino';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import { KomboError } from '../kombo/kombo-error.js';
import { applyWalk, Snapshot, snapshotDelta } from '../interviews/snapshot.js';
import type { SnapshotStore } from '../interviews/snapshot-store.js';
import type { Metrics } from '../metrics.js';
import { walkBudget, type WalkCeiling, type WalkSize } from './walk-budget.js';
import { countRemovals, createMassRemovalGuard, MassRemovalHeldError, type HeldRemoval } from './mass-removal-guard.js';
import { SETUP_PENDING_CODES } from './sync-scheduler.js';
import { walkInterviews } from './walk-interviews.js';
import type { WalkSlot } from './walk-slots.js';
import { LeaseBusyError, StaleLeaseError, type WalkCoordinator, type WalkLease } from './walk-coordinator.js';
import { StoreUnavailableError } from '../storage/store-errors.js';

/** What one successful refresh did. */
export interface RefreshSummary {
  readonly kind: 'full' | 'incremental';
  readonly startedAt: string;
  readonly durationMs: number;
  readonly pages: number;
  readonly requests: number;
  readonly interviews: number;
  readonly interviewers: number;
  /** Interviews added, changed or removed by this refresh. */
  readonly changes: number;
  /** Interviewers whose feed changed (and was dropped from the cache). */
  readonly changedFeeds: number;
  readonly rejectedRecords: number;
  /**
   * Replica mode: true when this replica did not walk, because another replica's walk (started after this one was
   * asked for, or recent enough for a periodic refresh) already brought what a walk would; every count is then 0.
   */
  readonly walkedElsewhere?: boolean;
}

/** What /healthz shows about syncing. */
export interface SyncStatus {
  readonly running: boolean;
  readonly lastSuccess: (RefreshSummary & { at: string }) | undefined;
  /** `code` is Kombo's `error.code` when it gave one (INTEGRATION.SETUP_SYNC_PENDING, say). */
  readonly lastFailure: { at: string; kind: 'full' | 'incremental'; error: string; code: string | null } | undefined;
  readonly consecutiveFailures: number;
  /** A walk that would remove most interviews, held (nothing of it applied); null when none is. */
  readonly held: HeldRemoval | null;
  /** Replica mode: a walk is waiting for Redis to come back. */
  readonly waitingForRedis?: boolean;
}

/** Where an engine finds the snapshot feeds are served from, and puts the next one. */
export interface SnapshotHolder {
  snapshot(): Snapshot | undefined;
  /** Swaps in `next`; the feeds of `changedEmails` (all, when told `'all'`) must be rendered again. */
  replace(next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void;
}

/** How a refresh is asked for. */
export interface RefreshOptions {
  full?: boolean;
  confirmRemovals?: boolean;
  /**
   * A refresh of the schedule, not one anybody asked for: in replica mode it is skipped when another replica holds the
   * lease or walked within `periodicFreshMs`, so replicas together walk at the rate one instance would.
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
  /**
   * Replica mode: takes in the shared snapshot when it is newer than the one served (a change notice); resolves true
   * when it did. Without a coordinator, false.
   */
  adopt(): Promise<boolean>;
  /** Replica mode: the version of the shared snapshot served here (0: none). */
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
  store: SnapshotStore;
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
   * Replica mode: who walks, and how results reach every replica. Without it (embedded mode) every refresh walks and
   * saves to `store`.
   */
  coordinator?: WalkCoordinator;
  /** Replica mode: a periodic refresh is skipped when the shared snapshot's walk started less than this ago. */
  periodicFreshMs?: number;
  /** Replica mode: how long to wait between tries for a lease another replica holds (default 250 ms, jittered). */
  leasePollMs?: number;
}

/**
 * Walks asked for by webhooks start at least this far apart: whoever can replay or forge a burst of webhooks cannot
 * spend the integration's Kombo rate limit, and a real change still lands within seconds.
 */
export const WEBHOOK_WALK_INTERVAL_MS = 5_000;

/** Creates a {@link SyncEngine}. */
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { client, feeds, store, logger, metrics } = options;
  const now = options.now ?? Date.now;
  const overlapMs = options.overlapMs ?? 60_000;
  const webhookIntervalMs = options.webhookIntervalMs ?? WEBHOOK_WALK_INTERVAL_MS;
  const controller = new AbortController();
  let inFlight: Promise<RefreshSummary> | undefined;
  let inFlightFull = false;
  /** Replica mode: the run in flight is a periodic one, which may end without walking (another replica walked). */
  let inFlightPeriodic = false;
  /** Callers who asked for a full walk while an incremental one ran: one full walk follows it, for all of them. */
  let queuedFull: { promise: Promise<RefreshSummary>; resolve: (summary: RefreshSummary) => void; reject: (error: unknown) => void } | undefined;
  /** A webhook told of a change that no walk started since will read. */
  let webhookChange = false;
  /** Set while a walk started for a webhook is less than `webhookIntervalMs` old. */
  let webhookCooldown: NodeJS.Timeout | undefined;
  let closed = false;
  let lastSuccess: SyncStatus['lastSuccess'];
  let lastFailure: SyncStatus['lastFailure'];
  let consecutiveFailures = 0;
  /** What the next walk's budget is set by: the last full walk, or the budget a walk passed (so real growth lands). */
  let lastSize: WalkSize | undefined;
  const guard = createMassRemovalGuard({ holdMs: options.massRemovalHoldMs });
  const { coordinator } = options;
  /** Replica mode: the version of the shared snapshot served here, and when its walk's lease was granted (Redis's clock). */
  let version = 0;
  let lineage = '';
  let walkedAtMs = 0;
  let waitingForRedis = false;
  let adopting: Promise<boolean> = Promise.resolve(false);

  function publish(snapshot: Snapshot, changed: ReadonlySet<string> | 'all'): void {
    feeds.replace(snapshot, changed);
  }

  /** The emails whose feeds differ between two snapshots of one integration, by their last-change times. */
  function changedBetween(before: Snapshot | undefined, after: Snapshot): ReadonlySet<string> | 'all' {
    if (before === undefined) return 'all';
    const changed = new Set<string>();
    const old = before.data.feedChangedAtMs;
    const next = after.data.feedChangedAtMs;
    for (const email of Object.keys(next)) if (old[email] !== next[email]) changed.add(email);
    for (const email of Object.keys(old)) if (!(email in next)) changed.add(email);
    const oldNames = before.data.formerNames ?? {};
    const newNames = after.data.formerNames ?? {};
    for (const email of Object.keys(newNames)) if (oldNames[email] !== newNames[email]) changed.add(email);
    return changed;
  }

  /** Takes in the shared snapshot when newer than ours; one at a time. */
  function adopt(): Promise<boolean> {
    if (!coordinator) return Promise.resolve(false);
    const next = adopting.catch(() => false).then(async () => {
      const shared = await coordinator.newer(client.integrationId, { version, lineage });
      if (shared === undefined || shared.version <= version) return false;
      const before = feeds.snapshot();
      // Deltas apply to the very snapshot they were made on: the one held, or the whole one read with them.
      let snapshot = shared.kind === 'whole' ? Snapshot.fromData(shared.data) : before;
      if (snapshot === undefined) return false;
      for (const delta of shared.deltas) snapshot = Snapshot.patched(snapshot, delta);
      publish(snapshot, changedBetween(before, snapshot));
      version = shared.version;
      lineage = shared.lineage;
      walkedAtMs = shared.walkedAtMs;
      waitingForRedis = false;
      // What another replica walked counts as this replica's last success too: the integration is ok everywhere.
      const at = new Date(snapshot.data.syncedAtMs).toISOString();
      lastSuccess = {
        kind: snapshot.data.fullSyncedAtMs === snapshot.data.syncedAtMs ? 'full' : 'incremental',
        startedAt: at,
        durationMs: 0,
        pages: 0,
        requests: 0,
        interviews: snapshot.size,
        interviewers: snapshot.byEmail.size,
        changes: 0,
        changedFeeds: 0,
        rejectedRecords: 0,
        walkedElsewhere: true,
        at,
      };
      consecutiveFailures = 0;
      return true;
    });
    adopting = next;
    return next;
  }

  /** A summary for a refresh another replica's walk made unneeded. */
  function elsewhere(kind: 'full' | 'incremental', startedAtMs: number): RefreshSummary {
    const snapshot = feeds.snapshot();
    return {
      kind,
      startedAt: new Date(startedAtMs).toISOString(),
      durationMs: now() - startedAtMs,
      pages: 0,
      requests: 0,
      interviews: snapshot?.size ?? 0,
      interviewers: snapshot?.byEmail.size ?? 0,
      changes: 0,
      changedFeeds: 0,
      rejectedRecords: 0,
      walkedElsewhere: true,
    };
  }

  /**
   * Replica mode: the lease to walk. A periodic refresh takes it only when free; an asked-for one waits for it (another
   * replica is walking, or died walking and its lease runs out), up to twice the lease's life.
   */
  async function takeLease(periodic: boolean): Promise<{ lease: WalkLease | undefined; askedAtMs: number }> {
    const waitedFrom = now();
    const pollMs = options.leasePollMs ?? 250;
    let askedAtMs: number | undefined;
    for (;;) {
      let lease: WalkLease | undefined;
      try {
        const answer = await coordinator!.acquire(client.integrationId);
        lease = answer.lease;
        askedAtMs ??= answer.nowMs;
      } catch (error) {
        if (error instanceof StoreUnavailableError) {
          if (!waitingForRedis) logger.warn({ reason: error.message }, 'Redis is unreachable: this walk waits for it (feeds serve on from memory)');
          waitingForRedis = true;
        }
        throw error;
      }
      waitingForRedis = false;
      if (lease || periodic) return { lease, askedAtMs };
      if (now() - waitedFrom > 2 * coordinator!.leaseMs + 5_000) throw new LeaseBusyError(client.integrationId, now() - waitedFrom);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          controller.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, pollMs / 2 + Math.random() * pollMs);
        controller.signal.addEventListener('abort', done, { once: true });
      });
      if (controller.signal.aborted) throw closedError();
    }
  }

  async function run(forceFull: boolean, confirmRemovals = false, periodic = false): Promise<RefreshSummary> {
    const startedAtMs = now();
    const heldAtAsk = feeds.snapshot() !== undefined;
    let lease: WalkLease | undefined;
    if (coordinator) {
      const taken = await takeLease(periodic && !forceFull && !confirmRemovals);
      lease = taken.lease;
      if (lease === undefined) return elsewhere('incremental', startedAtMs); // another replica is walking it right now
      try {
        await adopt();
        const current = feeds.snapshot();
        if (current !== undefined && !confirmRemovals) {
          const lastWasFull = current.data.fullSyncedAtMs === current.data.syncedAtMs;
          // Periodic: a walk within the last half interval will do (replicas' clocks, a few seconds apart at worst).
          // Asked for: only a walk whose lease was granted after this was asked, by Redis's one clock, and a full one
          // when a full one was asked; or, for a first walk, any.
          const satisfied = periodic
            ? startedAtMs - current.data.syncedAtMs < (options.periodicFreshMs ?? 0)
            : !heldAtAsk || (walkedAtMs >= taken.askedAtMs && (!forceFull || lastWasFull));
          if (satisfied) {
            await lease.release();
            return elsewhere(forceFull ? 'full' : 'incremental', startedAtMs);
          }
        }
      } catch (error) {
        await lease.release();
        throw error;
      }
    }
    try {
      return await walkAndApply(forceFull, confirmRemovals, lease);
    } finally {
      await lease?.release();
    }
  }

  async function walkAndApply(forceFull: boolean, confirmRemovals: boolean, lease: WalkLease | undefined): Promise<RefreshSummary> {
    const previous = feeds.snapshot();
    const startedAtMs = now();
    // While a removal is held every walk is full: only a full walk can tell a recovery from an agreement.
    const full =
      forceFull ||
      confirmRemovals ||
      guard.held() !== null ||
      previous === undefined ||
      startedAtMs - previous.data.fullSyncedAtMs >= options.fullSyncIntervalMs;
    const kind = full ? 'full' : 'incremental';
    // After a restart, until a full walk: the snapshot's live interviews (a walk also lists canceled ones).
    const held = previous ? { records: previous.size, bytes: undefined, source: "the snapshot's interviews" } : undefined;
    const budget = walkBudget(lastSize ?? held, options.walkCeiling);
    inFlightFull = full;
    try {
      const walkOnce = () => walkInterviews(client, {
        kind,
        startedAtMs,
        signal: lease ? AbortSignal.any([controller.signal, lease.signal]) : controller.signal,
        ...(full ? {} : { updatedAfterMs: previous!.data.syncedAtMs - overlapMs }),
        ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
        budget,
        // One policy for full and incremental walks: an invalid record's interview keeps its last good version.
        onRejected: (rejected) => {
          const kept = rejected.id !== null && previous?.byId.has(rejected.id) === true;
          const outcome = kept ? 'kept its last good version' : rejected.id === null ? 'skipped, no readable id' : 'skipped, no earlier version';
          logger.warn({ recordId: rejected.id, path: rejected.path, reason: rejected.message, kept }, `invalid Kombo record: ${outcome}`);
        },
      });
      const result = await (options.walkSlot ? options.walkSlot.run(walkOnce, controller.signal) : walkOnce());
      // Nothing is applied until every page has been read: a walk that fails halfway changes no feed.
      const base = feeds.snapshot();
      const applied = applyWalk(base, result.walk, {
        formerInterviewerRetentionMs: options.formerInterviewerRetentionMs,
      });
      guardRemovals(kind, startedAtMs, base, applied.snapshot, confirmRemovals);
      if (full) lastSize = { ...result.size, source: 'the last full walk' };
      if (lease) {
        // Shared first, served after: a result Redis refuses (a newer lease exists) or cannot take is served nowhere,
        // so every replica keeps serving the same bytes.
        // An incremental walk on the version held is shared as what it changed, when that is small.
        const change = kind === 'incremental' && previous !== undefined && base === previous && version > 0
          ? { on: { version, lineage }, delta: snapshotDelta(previous, applied.snapshot, applied.changedEmails) }
          : undefined;
        ({ version, lineage } = await lease.publish(applied.snapshot.data, change));
        walkedAtMs = lease.grantedAtMs;
        publish(applied.snapshot, applied.changedEmails);
      } else {
        publish(applied.snapshot, applied.changedEmails);
      }
      if (!lease && (applied.changes > 0 || full)) {
        try {
          await store.save(applied.snapshot.data);
        } catch (error) {
          logger.error({ err: error }, 'could not save the snapshot; feeds are still served from memory');
        }
      }
      const durationMs = now() - startedAtMs;
      const summary: RefreshSummary = {
        kind,
        startedAt: new Date(startedAtMs).toISOString(),
        durationMs,
        pages: result.pages,
        requests: result.requests,
        interviews: applied.snapshot.size,
        interviewers: applied.snapshot.byEmail.size,
        changes: applied.changes,
        changedFeeds: applied.changedEmails.size,
        rejectedRecords: result.rejected.length,
      };
      lastSuccess = { ...summary, at: new Date(now()).toISOString() };
      consecutiveFailures = 0;
      metrics?.refreshes.inc({ kind, outcome: 'success' });
      metrics?.refreshDuration.observe({ kind, outcome: 'success' }, durationMs / 1000);
      metrics?.rejectedRecords.inc(result.rejected.length);
      logger.info({ refresh: { ...summary, outcome: 'success' } }, 'refresh succeeded');
      return summary;
    } catch (error) {
      if (error instanceof MassRemovalHeldError) throw error; // logged and counted by guardRemovals
      if (error instanceof StaleLeaseError || (lease?.signal.aborted && !controller.signal.aborted)) {
        // Not Kombo's failure: another replica walks now. Its result reaches this replica by a change notice.
        logger.warn({ refresh: { kind, outcome: 'lease_lost' }, reason: error instanceof Error ? error.message : String(error) }, 'this walk lost its lease; its result is not published');
        metrics?.refreshes.inc({ kind, outcome: 'lease_lost' });
        void adopt().catch(() => {});
        throw error instanceof StaleLeaseError ? error : new StaleLeaseError(client.integrationId, lease!.token);
      }
      if (error instanceof StoreUnavailableError) {
        waitingForRedis = true;
        logger.warn({ refresh: { kind, outcome: 'redis_unavailable' }, reason: error.message }, 'Redis is unreachable: the walk is not published; the next one after Redis returns reads its changes');
        metrics?.refreshes.inc({ kind, outcome: 'redis_unavailable' });
        throw error;
      }
      const durationMs = now() - startedAtMs;
      const message = error instanceof Error ? error.message : String(error);
      // A walk we stopped ourselves (shutdown) is no failure of Kombo's: counted and logged apart, not on /healthz.
      const aborted = (error instanceof KomboError && error.kind === 'aborted') || controller.signal.aborted;
      // Passing the budget fails this walk, and lets the next one read HEADROOM times as much, up to the ceiling: a
      // runaway upstream still never passes the ceiling, and an organisation that really grew lands a few walks on.
      if (error instanceof KomboError && error.kind === 'over_budget') {
        lastSize = { records: budget.records, bytes: budget.bytes, source: 'the budget the last walk passed' };
      }
      const outcome = aborted ? 'aborted' : 'failure';
      if (!aborted) {
        lastFailure = { at: new Date(now()).toISOString(), kind, error: message, code: error instanceof KomboError ? (error.code ?? null) : null };
        consecutiveFailures++;
      }
      metrics?.refreshes.inc({ kind, outcome });
      metrics?.refreshDuration.observe({ kind, outcome }, durationMs / 1000);
      // Kombo still setting the integration up is no fault: the scheduler says so once, at info, not every try.
      const pending = error instanceof KomboError && error.code !== undefined && SETUP_PENDING_CODES.has(error.code);
      logger[aborted ? 'info' : pending ? 'debug' : 'error'](
        {
          refresh: { kind, durationMs, outcome, error: message },
          ...(error instanceof KomboError ? { status: error.status, code: error.code, attempts: error.attempts } : {}),
        },
        aborted ? 'refresh aborted' : 'refresh failed; the previous snapshot keeps serving every feed',
      );
      throw error;
    }
  }

  /**
   * Throws {@link MassRemovalHeldError} (nothing applied; the hold logged as an error once, when it begins) when the
   * walk would remove most interviews and is neither confirmed nor agreed on long enough; logs the end of a hold.
   */
  function guardRemovals(kind: 'full' | 'incremental', startedAtMs: number, base: Snapshot | undefined, next: Snapshot, confirmed: boolean): void {
    const removals = countRemovals(base, next);
    const of = base?.size ?? 0;
    const decision = guard.judge({ kind, startedAtMs, removals, of, confirmed });
    if (decision.action === 'hold') {
      const { held } = decision;
      metrics?.refreshes.inc({ kind, outcome: 'held' });
      metrics?.refreshDuration.observe({ kind, outcome: 'held' }, (now() - startedAtMs) / 1000);
      if (decision.first) {
        logger.error({ held }, `held a walk that would remove ${held.removals} of ${held.of} interviews; feeds keep serving the previous snapshot`);
      } else {
        logger.warn({ held }, `still holding a walk that would remove ${held.removals} of ${held.of} interviews`);
      }
      throw new MassRemovalHeldError(held);
    }
    const { because, ended } = decision;
    if (because === 'recovered') logger.info({ held: ended }, 'a walk no longer removes most interviews: the hold is cleared');
    else if (because === 'confirmed') logger.warn({ held: ended, removals, of }, `applied the removal of ${removals} of ${of} interviews: an operator confirmed it`);
    else if (because === 'agreed') {
      logger.warn({ held: ended, removals, of }, `applied the removal of ${removals} of ${of} interviews: full walks agreed on it for MASS_REMOVAL_HOLD_HOURS`);
    }
  }

  const closedError = () => new KomboError('sync engine is closed', { kind: 'aborted' });

  function start(forceFull: boolean, confirmRemovals = false, periodic = false): Promise<RefreshSummary> {
    webhookChange = false; // this walk reads whatever a webhook told of so far
    inFlightPeriodic = periodic;
    const promise = run(forceFull, confirmRemovals, periodic).catch((error: unknown) => {
      // Replica mode: a walk asked for that could not run (Redis unreachable or too slow, another replica's lease held
      // past the wait) is asked again after the webhook interval, not dropped until the next periodic refresh.
      if (!periodic && (error instanceof StoreUnavailableError || error instanceof LeaseBusyError) && !closed) webhookChange = true;
      throw error;
    }).finally(() => {
      inFlight = undefined;
      const queued = queuedFull;
      queuedFull = undefined;
      if (queued && closed) queued.reject(closedError());
      else if (queued) start(true).then(queued.resolve, queued.reject);
      else startWebhookWalk();
    });
    inFlight = promise;
    return promise;
  }

  function refresh(options: RefreshOptions = {}): Promise<RefreshSummary> {
    if (closed) return Promise.reject(closedError());
    // A confirmation applies a walk read after it was given, never one already under way.
    if (options.confirmRemovals && inFlight) return inFlight.catch(() => {}).then(() => refresh(options));
    // A periodic run may end without a walk of its own: one asked for waits for it, then runs (or finds it satisfied).
    if (inFlight && inFlightPeriodic && !options.periodic && coordinator) return inFlight.catch(() => {}).then(() => refresh(options));
    if (!inFlight) return start(options.full ?? false, options.confirmRemovals ?? false, options.periodic ?? false);
    if (!options.full || inFlightFull) return inFlight;
    // The incremental walk in flight is not what was asked for: a full one follows it.
    if (!queuedFull) {
      let resolve!: (summary: RefreshSummary) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<RefreshSummary>((res, rej) => ((resolve = res), (reject = rej)));
      queuedFull = { promise, resolve, reject };
    }
    return queuedFull.promise;
  }

  /** Starts the walk a webhook asked for, once no walk runs and the last one a webhook started is old enough. */
  function startWebhookWalk(): void {
    if (closed || !webhookChange || inFlight || webhookCooldown) return;
    webhookCooldown = setTimeout(() => {
      webhookCooldown = undefined;
      startWebhookWalk();
    }, webhookIntervalMs);
    webhookCooldown.unref();
    start(false).catch(() => {}); // logged by run()
  }

  return {
    async restore() {
      if (coordinator) {
        // Replica mode: the shared snapshot, whoever walked it. Redis unreachable here stops start-up (server entry);
        // one that cannot be read is logged and walked over, as an unreadable snapshot file is.
        let adopted: boolean;
        try {
          adopted = await adopt();
        } catch (error) {
          if (error instanceof StoreUnavailableError) throw error;
          logger.warn({ err: error }, 'ignored an unreadable shared snapshot; waiting for Kombo instead');
          return false;
        }
        if (adopted) logger.info({ interviews: feeds.snapshot()?.size, version }, 'took in the shared snapshot');
        return adopted;
      }
      let data;
      try {
        data = await store.load(client.integrationId);
      } catch (error) {
        logger.warn({ err: error }, 'ignored an unreadable snapshot file; waiting for Kombo instead');
        return false;
      }
      if (data === undefined) return false;
      // A snapshot read from disk was built by an earlier process: every cached feed must go.
      publish(Snapshot.fromData(data), 'all');
      logger.info(
        { interviews: data.interviews.length, syncedAt: new Date(data.syncedAtMs).toISOString() },
        'restored the last saved snapshot',
      );
      return true;
    },
    refresh,
    adopt,
    version: () => version,
    requestRefresh() {
      if (closed) return;
      webhookChange = true;
      startWebhookWalk();
    },
    status: () => ({
      running: inFlight !== undefined,
      lastSuccess,
      lastFailure,
      consecutiveFailures,
      held: guard.held(),
      ...(coordinator ? { waitingForRedis } : {}),
    }),
    hasSnapshot: () => feeds.snapshot() !== undefined,
    async close() {
      closed = true;
      clearTimeout(webhookCooldown);
      controller.abort(new Error('shutting down'));
      await inFlight?.catch(() => {});
    },
  };
}
