import type { AppliedWalk, Snapshot } from '../interviews/snapshot.js';
import { KomboError } from '../kombo/kombo-error.js';
import { failureReason, type FailureReason } from './failure-reason.js';
import type { HeldRemoval } from './mass-removal-guard.js';
import type { WalkResult } from './walk-interviews.js';

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
   * True when this process did not walk, because another walker's walk (started after this one was asked for, or
   * recent enough for a periodic refresh) already brought what a walk would; every count is then 0.
   */
  readonly walkedElsewhere?: boolean;
}

/** What /healthz shows about syncing. */
export interface SyncStatus {
  readonly running: boolean;
  readonly lastSuccess: (RefreshSummary & { at: string }) | undefined;
  /**
   * `code` is Kombo's `error.code` when it gave one (INTEGRATION.SETUP_SYNC_PENDING, say); `reason` the kind of
   * failure (authentication, not_found, unreachable…), which unlike `error` carries no upstream text.
   */
  readonly lastFailure: { at: string; kind: 'full' | 'incremental'; error: string; code: string | null; reason: FailureReason } | undefined;
  readonly consecutiveFailures: number;
  /** A walk that would remove most interviews, held (nothing of it applied); null when none is. */
  readonly held: HeldRemoval | null;
  /** Present, and true, while a walk waits for a shared store that cannot be reached. */
  readonly waitingForStore?: boolean;
}

/** One integration's walk record: what its last success and failure were, and whether walks wait for the store. */
export interface SyncStatusRecord {
  /** A walk of this process succeeded. */
  succeeded(summary: RefreshSummary): void;
  /** A walk failed: Kombo's fault or ours, never a walk this process stopped. */
  failed(kind: 'full' | 'incremental', error: unknown): void;
  /**
   * A snapshot from the coordinator was taken in: the store answered, and another walker's walk counts as a success
   * here too (the integration is ok everywhere); what an earlier process left (`restored`) counts as nothing.
   */
  tookIn(snapshot: Snapshot, from: { readonly restored?: boolean | undefined }): void;
  /** Walks wait for the store (`true`) or no longer do; true when this call is what made them wait. */
  waitForStore(waiting: boolean): boolean;
  waitingForStore(): boolean;
  /** The status as /healthz shows it, with what the record does not keep itself. */
  view(now: { running: boolean; held: HeldRemoval | null }): SyncStatus;
}

/** The summary of a walk of this process, read (`result`) and applied (`applied`) by `nowMs`. */
export function walkSummary(kind: 'full' | 'incremental', startedAtMs: number, nowMs: number, result: WalkResult, applied: AppliedWalk): RefreshSummary {
  return {
    kind,
    startedAt: new Date(startedAtMs).toISOString(),
    durationMs: nowMs - startedAtMs,
    pages: result.pages,
    requests: result.requests,
    interviews: applied.snapshot.size,
    interviewers: applied.snapshot.byEmail.size,
    changes: applied.changes,
    changedFeeds: applied.changedEmails.size,
    rejectedRecords: result.rejected.length,
  };
}

/** A summary of a refresh another walker's walk made unneeded: it counts nothing, and says so. */
export function elsewhereSummary(kind: 'full' | 'incremental', startedAtMs: number, nowMs: number, snapshot: Snapshot | undefined): RefreshSummary {
  return {
    kind,
    startedAt: new Date(startedAtMs).toISOString(),
    durationMs: nowMs - startedAtMs,
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

/** Creates a {@link SyncStatusRecord}; `now` stamps successes and failures. */
export function createSyncStatus(now: () => number): SyncStatusRecord {
  let lastSuccess: SyncStatus['lastSuccess'];
  let lastFailure: SyncStatus['lastFailure'];
  let consecutiveFailures = 0;
  let waiting = false;
  const iso = (ms: number) => new Date(ms).toISOString();

  return {
    succeeded(summary) {
      lastSuccess = { ...summary, at: iso(now()) };
      consecutiveFailures = 0;
    },
    failed(kind, error) {
      const message = error instanceof Error ? error.message : String(error);
      lastFailure = { at: iso(now()), kind, error: message, code: error instanceof KomboError ? (error.code ?? null) : null, reason: failureReason(error) };
      consecutiveFailures++;
    },
    tookIn(snapshot, from) {
      waiting = false;
      if (from.restored) return;
      // Its walk started at the snapshot's sync time, and ended (for all this process knows) then too.
      const { syncedAtMs, fullSyncedAtMs } = snapshot.data;
      const summary = elsewhereSummary(fullSyncedAtMs === syncedAtMs ? 'full' : 'incremental', syncedAtMs, syncedAtMs, snapshot);
      lastSuccess = { ...summary, at: iso(syncedAtMs) };
      consecutiveFailures = 0;
    },
    waitForStore(next) {
      const began = next && !waiting;
      waiting = next;
      return began;
    },
    waitingForStore: () => waiting,
    view: ({ running, held }) => ({
      running,
      lastSuccess,
      lastFailure,
      consecutiveFailures,
      held,
      ...(waiting ? { waitingForStore: true } : {}),
    }),
  };
}
