import type { Logger } from 'pino';
import type { SnapshotHolder } from '../feeds/feed-service.js';
import type { SnapshotData } from '../interviews/snapshot.js';
import type { WalkAsk } from './single-flight.js';
import type { SnapshotFollower } from './snapshot-follower.js';
import { elsewhereSummary, type RefreshSummary, type SyncStatusRecord } from './sync-status.js';
import type { WalkCoordinator, WalkLease } from './walk-coordinator.js';
import { takeWalkLease } from './walk-lease.js';

/** Where a walk stands once it holds the lease and has taken in the coordinator's newest snapshot. */
export interface CaughtUp {
  readonly ask: WalkAsk;
  /** Whether a snapshot was served when the walk was asked for. */
  readonly heldAtAsk: boolean;
  /** The coordinator's time when the lease was first asked for. */
  readonly askedAtMs: number;
  /** When the lease of the walk that made the snapshot served now was granted, by the coordinator's clock. */
  readonly walkedAtMs: number;
  /** When the refresh started, by this process's clock. */
  readonly startedAtMs: number;
  /** The snapshot served now. */
  readonly current: Pick<SnapshotData, 'syncedAtMs' | 'fullSyncedAtMs'> | undefined;
  /** A periodic refresh is satisfied by a walk started less than this before it (0: by none). */
  readonly periodicFreshMs: number;
}

/**
 * Whether another walker's walk already brought what this one would, so it need not walk. A confirmation never is. A
 * periodic refresh is by a walk within `periodicFreshMs` (walkers' clocks, a few seconds apart at worst). One asked
 * for is only by a walk whose lease was granted after it was asked for, by the coordinator's one clock, and a full one
 * when a full one was asked for; or, when nothing was served at the ask, by any snapshot at all.
 */
export function satisfiedElsewhere(state: CaughtUp): boolean {
  const { ask, current } = state;
  if (current === undefined || ask.confirmRemovals) return false;
  if (ask.periodic) return state.startedAtMs - current.syncedAtMs < state.periodicFreshMs;
  const lastWasFull = current.fullSyncedAtMs === current.syncedAtMs;
  return !state.heldAtAsk || (state.walkedAtMs >= state.askedAtMs && (!ask.full || lastWasFull));
}

/** What {@link createWalkTurns} needs. */
export interface WalkTurnsOptions {
  coordinator: WalkCoordinator;
  integrationId: string;
  feeds: SnapshotHolder;
  follower: SnapshotFollower;
  /** See {@link CaughtUp.periodicFreshMs}. */
  periodicFreshMs: number;
  /** Between two tries for a lease another walker holds. */
  leasePollMs: number;
  /** Ends a wait for the lease (shutdown), which then throws `stopped()`. */
  signal: AbortSignal;
  stopped(): Error;
  now(): number;
  /** Told whether walks wait for the store, after each ask for the lease. */
  status: Pick<SyncStatusRecord, 'waitForStore'>;
  logger: Logger;
}

/** A walk's turn: the lease to walk under, or the summary of what another walker's walk already brought. */
export type WalkTurn = { readonly lease: WalkLease; readonly elsewhere?: undefined } | { readonly lease?: undefined; readonly elsewhere: RefreshSummary };

/** Takes turns to walk one integration among every walker of its coordinator. */
export interface WalkTurns {
  /**
   * The lease, and the coordinator's newest snapshot taken in, unless another walker's walk makes this one unneeded
   * (then the lease is given back). A periodic refresh takes the lease only when it is free; one asked for waits for it.
   */
  take(ask: WalkAsk): Promise<WalkTurn>;
  /** A periodic refresh made unneeded by another walker's recent walk: what it did (nothing); else undefined. */
  freshElsewhere(ask: WalkAsk, startedAtMs: number): RefreshSummary | undefined;
}

/** Creates {@link WalkTurns}. */
export function createWalkTurns(options: WalkTurnsOptions): WalkTurns {
  const { feeds, follower, now } = options;

  /**
   * Another walker's walk just brought a periodic refresh's worth (told by a notice, whether it changed anything or
   * not): the refresh asks the coordinator nothing at all, and this is what it did.
   */
  function freshElsewhere(ask: WalkAsk, startedAtMs: number): RefreshSummary | undefined {
    const served = feeds.snapshot()?.data;
    if (!ask.periodic || ask.confirmRemovals || served === undefined || startedAtMs - served.syncedAtMs >= options.periodicFreshMs) return undefined;
    return elsewhereSummary(ask.full ? 'full' : 'incremental', startedAtMs, now(), feeds.snapshot());
  }

  return {
    freshElsewhere,
    async take(ask) {
      const startedAtMs = now();
      const heldAtAsk = feeds.snapshot() !== undefined;
      const fresh = freshElsewhere(ask, startedAtMs);
      if (fresh) return { elsewhere: fresh };
      const { lease, askedAtMs } = await takeWalkLease({
        coordinator: options.coordinator,
        integrationId: options.integrationId,
        wait: !ask.periodic || ask.full || ask.confirmRemovals,
        pollMs: options.leasePollMs,
        signal: options.signal,
        stopped: options.stopped,
        now,
        onStore(down) {
          if (options.status.waitForStore(down !== undefined)) {
            options.logger.warn({ reason: down?.message }, 'the shared store is unreachable: this walk waits for it (feeds serve on from memory)');
          }
        },
      });
      if (lease === undefined) return { elsewhere: elsewhereSummary('incremental', startedAtMs, now(), feeds.snapshot()) }; // another walker walks it now
      let satisfied: boolean;
      try {
        await follower.catchUp();
        const current = feeds.snapshot()?.data;
        satisfied = satisfiedElsewhere({ ask, heldAtAsk, askedAtMs, walkedAtMs: follower.walkedAtMs(), startedAtMs, current, periodicFreshMs: options.periodicFreshMs });
      } catch (error) {
        await lease.release();
        throw error;
      }
      if (!satisfied) return { lease };
      await lease.release();
      return { elsewhere: elsewhereSummary(ask.full ? 'full' : 'incremental', startedAtMs, now(), feeds.snapshot()) };
    },
  };
}
