import type { Logger } from 'pino';
import type { SnapshotHolder } from '../feeds/feed-service.js';
import type { ParsedRecord, RejectedRecord } from '../interviews/interview-schema.js';
import { applyWalk, heldFromMs, type AppliedWalk, type Snapshot } from '../interviews/snapshot.js';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import { KomboError } from '../kombo/kombo-error.js';
import type { Metrics } from '../metrics.js';
import type { HeldRemoval } from './mass-removal-guard.js';
import { createRemovalCheck } from './removal-check.js';
import type { WalkAsk } from './single-flight.js';
import { createWalkBudgets, type WalkCeiling } from './walk-budget.js';
import { walkInterviews, type WalkResult } from './walk-interviews.js';
import { createLinkedPrefetch, type LinkedPrefetch } from './prefetch-linked.js';
import { walkLinked } from './walk-linked.js';
import type { WalkSlot } from './walk-slots.js';

/** What {@link createSnapshotBuilder} needs. */
export interface SnapshotBuilderOptions {
  client: KomboClient;
  /** The snapshot walks start from and apply to. */
  feeds: SnapshotHolder;
  /** Where walks wait their turn among every integration's; none: walks never wait. */
  walkSlot?: WalkSlot | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  now: () => number;
  fullSyncIntervalMs: number;
  /** Incremental walks ask for changes since the last walk's start less this, against clock skew (default a minute). */
  overlapMs?: number | undefined;
  maxPages?: number | undefined;
  walkCeiling?: WalkCeiling | undefined;
  formerInterviewerRetentionMs?: number | undefined;
  /**
   * FEED_PAST_DAYS: interviews that ended before the feed window (less a margin, see `heldFromMs`) are not held, and
   * history is dropped as a walk reads it. Unset, every dated interview is held.
   */
  feedPastDays?: number | undefined;
  massRemovalHoldMs: number;
  /** Whether walks also read the linked models (users, jobs, candidates, applications); default true. */
  linkedModels?: boolean | undefined;
  /** A record failed validation; `kept` when its interview keeps its last good version. */
  onRejected(record: RejectedRecord, kept: boolean): void;
}

/** The walk an ask makes, decided when it starts. */
export interface WalkPlan {
  readonly ask: WalkAsk;
  /** The snapshot served when it started. */
  readonly previous: Snapshot | undefined;
  readonly startedAtMs: number;
  readonly full: boolean;
  readonly kind: 'full' | 'incremental';
}

/** A walk read whole and applied, not yet served. */
export interface BuiltSnapshot {
  readonly result: WalkResult;
  /** The snapshot it was applied to (served when the walk ended). */
  readonly base: Snapshot | undefined;
  readonly applied: AppliedWalk;
}

/** Builds one integration's next snapshot from Kombo: decides each walk, reads it within its budget, applies it. */
export interface SnapshotBuilder {
  /** Full when asked, while a removal is held, with nothing served, or once FULL_SYNC_INTERVAL has passed. */
  plan(ask: WalkAsk): WalkPlan;
  /**
   * Reads every page of the planned walk (in a walk slot) and applies it to the snapshot served then. Throws what the
   * walk throws (nothing applied), and {@link MassRemovalHeldError} for a mass removal held. `signal` stops the walk;
   * `slotSignal` a wait for a slot.
   */
  build(plan: WalkPlan, signals: { signal: AbortSignal; slotSignal: AbortSignal }): Promise<BuiltSnapshot>;
  /** The mass removal held now, or null. */
  held(): HeldRemoval | null;
}

/** Creates a {@link SnapshotBuilder}. */
export function createSnapshotBuilder(options: SnapshotBuilderOptions): SnapshotBuilder {
  const { client, feeds, now } = options;
  const budgets = createWalkBudgets(options.walkCeiling);
  const removals = createRemovalCheck({ holdMs: options.massRemovalHoldMs, logger: options.logger, metrics: options.metrics, now });

  function plan(ask: WalkAsk): WalkPlan {
    const previous = feeds.snapshot();
    const startedAtMs = now();
    // While a removal is held every walk is full: only a full walk can tell a recovery from an agreement.
    const full =
      ask.full || ask.confirmRemovals || removals.held() !== null || previous === undefined || startedAtMs - previous.data.fullSyncedAtMs >= options.fullSyncIntervalMs;
    return { ask, previous, startedAtMs, full, kind: full ? 'full' : 'incremental' };
  }

  async function build({ ask, previous, startedAtMs, full, kind }: WalkPlan, signals: { signal: AbortSignal; slotSignal: AbortSignal }): Promise<BuiltSnapshot> {
    const budget = budgets.next(previous);
    const fromMs = options.feedPastDays === undefined ? undefined : heldFromMs(startedAtMs, options.feedPastDays);
    const overlapMs = options.overlapMs ?? 60_000;
    const walkInterviewsOnce = (prefetch: LinkedPrefetch | undefined) =>
      walkInterviews(client, {
        kind,
        startedAtMs,
        signal: signals.signal,
        ...(full ? {} : { updatedAfterMs: previous!.data.syncedAtMs - overlapMs }),
        ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
        budget,
        ...(fromMs !== undefined ? { heldFromMs: fromMs, held: (id: string) => feeds.snapshot()?.byId.has(id) === true } : {}),
        // One policy for full and incremental walks: an invalid record's interview keeps its last good version.
        onRejected: (record) => options.onRejected(record, record.id !== null && previous?.byId.has(record.id) === true),
        ...(prefetch ? { onPage: (kept: readonly ParsedRecord[]) => prefetch.page(kept) } : {}),
      });
    const walkOnce = async (): Promise<WalkResult> => {
      if (options.linkedModels === false) return walkInterviewsOnce(undefined);
      // The linked records the pages reference are asked for while later pages are read, not all after the walk.
      const prefetch = createLinkedPrefetch(client, { previous, signal: signals.signal, budget, maxPages: options.maxPages, logger: options.logger });
      let read: WalkResult;
      try {
        read = await walkInterviewsOnce(prefetch);
      } catch (error) {
        prefetch.abort();
        await prefetch.settled();
        throw error;
      }
      const linked = await walkLinked(client, {
        prefetch,
        kind,
        startedAtMs,
        previous,
        records: read.walk.records,
        overlapMs,
        signal: signals.signal,
        budget,
        maxPages: options.maxPages,
        logger: options.logger,
      });
      return { ...read, walk: { ...read.walk, records: linked.records, linked: linked.linked }, linked: { requests: linked.requests, failed: linked.failed, rejected: linked.rejected } };
    };
    let result: WalkResult;
    try {
      result = await (options.walkSlot ? options.walkSlot.run(walkOnce, signals.slotSignal) : walkOnce());
    } catch (error) {
      if (error instanceof KomboError && error.kind === 'over_budget') budgets.passed(budget);
      throw error;
    }
    // Nothing is applied until every page has been read: a walk that fails halfway changes no feed.
    const base = feeds.snapshot();
    const applied = applyWalk(base, result.walk, {
      formerInterviewerRetentionMs: options.formerInterviewerRetentionMs,
      ...(fromMs !== undefined ? { heldFromMs: fromMs } : {}),
    });
    // What feeds showed and the walk removed: interviews ageing out of the window are never a mass removal.
    removals.check({ kind, startedAtMs, base, next: applied.snapshot, confirmed: ask.confirmRemovals, removals: applied.removals });
    if (full) budgets.walkedFull(fromMs === undefined ? result.size : { records: result.size.held, bytes: result.size.bytes });
    return { result, base, applied };
  }

  return { plan, build, held: removals.held };
}
