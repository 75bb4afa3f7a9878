import type { Logger } from 'pino';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import { KomboError } from '../kombo/kombo-error.js';
import { applyWalk, Snapshot } from '../interviews/snapshot.js';
import type { SnapshotStore } from '../interviews/snapshot-store.js';
import type { Metrics } from '../metrics.js';
import { SETUP_PENDING_CODES } from './sync-scheduler.js';
import { walkInterviews } from './walk-interviews.js';
import type { WalkSlot } from './walk-slots.js';

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
}

/** What /healthz shows about syncing. */
export interface SyncStatus {
  readonly running: boolean;
  readonly lastSuccess: (RefreshSummary & { at: string }) | undefined;
  /** `code` is Kombo's `error.code` when it gave one (INTEGRATION.SETUP_SYNC_PENDING, say). */
  readonly lastFailure: { at: string; kind: 'full' | 'incremental'; error: string; code: string | null } | undefined;
  readonly consecutiveFailures: number;
}

/** Where an engine finds the snapshot feeds are served from, and puts the next one. */
export interface SnapshotHolder {
  snapshot(): Snapshot | undefined;
  /** Swaps in `next`; the feeds of `changedEmails` (all, when told `'all'`) must be rendered again. */
  replace(next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void;
}

/** Runs one integration's refreshes from Kombo, one walk at a time, and swaps the result in whole. */
export interface SyncEngine {
  /** Loads the last saved snapshot, if any, so feeds are served before Kombo answers; true when one was loaded. */
  restore(): Promise<boolean>;
  /**
   * Refreshes now, or joins the walk already in flight, and resolves with its summary; rejects when the walk
   * failed, in which case nothing changed. `full` asks for a full walk even when an incremental one would do.
   */
  refresh(options?: { full?: boolean; confirmRemovals?: boolean }): Promise<RefreshSummary>;
  /**
   * Asks for a refresh without waiting (webhooks). One in flight may have read past the change already, so one more
   * walk follows it; any number of requests during a walk still make only that one more.
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
}

/** Creates a {@link SyncEngine}. */
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { client, feeds, store, logger, metrics } = options;
  const now = options.now ?? Date.now;
  const overlapMs = options.overlapMs ?? 60_000;
  const controller = new AbortController();
  let inFlight: Promise<RefreshSummary> | undefined;
  let trailing = false;
  let closed = false;
  let lastSuccess: SyncStatus['lastSuccess'];
  let lastFailure: SyncStatus['lastFailure'];
  let consecutiveFailures = 0;

  function publish(snapshot: Snapshot, changed: ReadonlySet<string> | 'all'): void {
    feeds.replace(snapshot, changed);
  }

  async function run(forceFull: boolean): Promise<RefreshSummary> {
    const previous = feeds.snapshot();
    const startedAtMs = now();
    const full =
      forceFull || previous === undefined || startedAtMs - previous.data.fullSyncedAtMs >= options.fullSyncIntervalMs;
    const kind = full ? 'full' : 'incremental';
    try {
      const walkOnce = () => walkInterviews(client, {
        kind,
        startedAtMs,
        signal: controller.signal,
        ...(full ? {} : { updatedAfterMs: previous!.data.syncedAtMs - overlapMs }),
        ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
        onRejected: (rejected) =>
          logger.warn({ recordId: rejected.id, path: rejected.path, reason: rejected.message }, 'skipped an invalid Kombo record'),
      });
      const result = await (options.walkSlot ? options.walkSlot.run(walkOnce, controller.signal) : walkOnce());
      // Nothing is applied until every page has been read: a walk that fails halfway changes no feed.
      const applied = applyWalk(feeds.snapshot(), result.walk);
      publish(applied.snapshot, applied.changedEmails);
      if (applied.changes > 0 || full) {
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
      const durationMs = now() - startedAtMs;
      const message = error instanceof Error ? error.message : String(error);
      // A walk we stopped ourselves (shutdown) is no failure of Kombo's: counted and logged apart, not on /healthz.
      const aborted = (error instanceof KomboError && error.kind === 'aborted') || controller.signal.aborted;
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

  function refresh(options: { full?: boolean; confirmRemovals?: boolean } = {}): Promise<RefreshSummary> {
    if (closed) return Promise.reject(new KomboError('sync engine is closed', { kind: 'aborted' }));
    if (inFlight) return inFlight;
    const promise = run(options.full ?? false).finally(() => {
      inFlight = undefined;
      if (trailing && !closed) {
        trailing = false;
        refresh().catch(() => {}); // logged by run()
      }
    });
    inFlight = promise;
    return promise;
  }

  return {
    async restore() {
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
    requestRefresh() {
      if (closed) return;
      if (inFlight) trailing = true;
      else refresh().catch(() => {});
    },
    status: () => ({ running: inFlight !== undefined, lastSuccess, lastFailure, consecutiveFailures }),
    hasSnapshot: () => feeds.snapshot() !== undefined,
    async close() {
      closed = true;
      controller.abort(new Error('shutting down'));
      await inFlight?.catch(() => {});
    },
  };
}
