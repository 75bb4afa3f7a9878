import type { Logger } from 'pino';
import type { RejectedRecord } from '../interviews/interview-schema.js';
import { KomboError } from '../kombo/kombo-error.js';
import type { Metrics } from '../metrics.js';
import { failureReason } from './failure-reason.js';
import { isSetupPending } from './setup-pending.js';
import type { RefreshSummary } from './sync-status.js';

type Kind = 'full' | 'incremental';

/** How each walk's end is told: one log line and the refresh metrics, by outcome. */
export interface WalkReport {
  succeeded(summary: RefreshSummary): void;
  /** A record failed validation; `kept` when its interview keeps its last good version. */
  rejected(record: RejectedRecord, kept: boolean): void;
  /** Another walker took the lease over: not Kombo's failure, and its result reaches here as a change notice. */
  leaseLost(kind: Kind, error: unknown): void;
  /** The shared store could not take the result: nothing published. */
  storeUnavailable(kind: Kind, error: Error): void;
  /** Kombo failed the walk, or this process stopped it (`aborted`: shutdown, logged at info, no failure). */
  failed(kind: Kind, durationMs: number, error: unknown, aborted: boolean): void;
}

/**
 * Creates a {@link WalkReport}. `hasSnapshot` says whether the integration serves a snapshot, so a failure's log line
 * says what its feeds answer now: the previous snapshot, or 503 while there is none.
 */
export function createWalkReport(options: { logger: Logger; metrics?: Metrics | undefined; hasSnapshot?: () => boolean }): WalkReport {
  const { logger, metrics } = options;
  const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
  return {
    succeeded(summary) {
      const { kind, durationMs } = summary;
      metrics?.refreshes.inc({ kind, outcome: 'success' });
      metrics?.refreshDuration.observe({ kind, outcome: 'success' }, durationMs / 1000);
      metrics?.rejectedRecords.inc(summary.rejectedRecords);
      // A walk that changed nothing is the common case, every few minutes per integration: it is no news at info.
      if (summary.changes === 0 && summary.changedFeeds === 0) logger.debug({ refresh: { ...summary, outcome: 'success' } }, 'refresh succeeded');
      else logger.info({ refresh: { ...summary, outcome: 'success' } }, 'refresh succeeded');
    },
    rejected(record, kept) {
      const outcome = kept ? 'kept its last good version' : record.id === null ? 'skipped, no readable id' : 'skipped, no earlier version';
      logger.warn({ recordId: record.id, path: record.path, reason: record.message, kept }, `invalid Kombo record: ${outcome}`);
    },
    leaseLost(kind, error) {
      logger.warn({ refresh: { kind, outcome: 'lease_lost' }, reason: reason(error) }, 'this walk lost its lease; its result is not published');
      metrics?.refreshes.inc({ kind, outcome: 'lease_lost' });
    },
    storeUnavailable(kind, error) {
      logger.warn(
        { refresh: { kind, outcome: 'redis_unavailable' }, reason: error.message },
        'the shared store is unreachable: the walk is not published; the next one after it returns reads its changes',
      );
      metrics?.refreshes.inc({ kind, outcome: 'redis_unavailable' });
    },
    failed(kind, durationMs, error, aborted) {
      const outcome = aborted ? 'aborted' : 'failure';
      metrics?.refreshes.inc({ kind, outcome });
      metrics?.refreshDuration.observe({ kind, outcome }, durationMs / 1000);
      // Kombo still setting the integration up is no fault: the scheduler says so once, at info, not every try.
      const serving = options.hasSnapshot?.() ?? true;
      logger[aborted ? 'info' : isSetupPending(error) ? 'debug' : 'error'](
        {
          refresh: { kind, durationMs, outcome, error: reason(error), reason: failureReason(error) },
          ...(error instanceof KomboError ? { status: error.status, code: error.code, attempts: error.attempts } : {}),
        },
        aborted
          ? 'refresh aborted'
          : serving
            ? 'refresh failed; the previous snapshot keeps serving every feed'
            : `refresh failed (${failureReason(error).replaceAll('_', ' ')}); there is no snapshot yet, so every feed of this integration answers 503 until a walk succeeds`,
      );
    },
  };
}
