import type { SnapshotData } from '../interviews/snapshot.js';
import type { WalkAsk } from './single-flight.js';

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
