import type { Logger } from 'pino';
import type { Snapshot } from '../interviews/snapshot.js';
import type { Metrics } from '../metrics.js';
import { countRemovals, createMassRemovalGuard, MassRemovalHeldError, type HeldRemoval } from './mass-removal-guard.js';

/** What {@link createRemovalCheck} needs. */
export interface RemovalCheckOptions {
  /** How long full walks must keep agreeing on a held mass removal before it applies unconfirmed. */
  holdMs: number;
  logger: Logger;
  metrics?: Metrics;
  now: () => number;
}

/** A walk about to be applied, as the check sees it. */
export interface CheckedWalk {
  readonly kind: 'full' | 'incremental';
  readonly startedAtMs: number;
  /** The snapshot the walk applies to, and the one it makes. */
  readonly base: Snapshot | undefined;
  readonly next: Snapshot;
  /** An operator confirmed this walk's removals, whatever they are. */
  readonly confirmed: boolean;
  /**
   * The interviews feeds showed that the walk removes (see `AppliedWalk.removals`); unset, every interview of `base`
   * that `next` lacks.
   */
  readonly removals?: number;
}

/** One integration's mass-removal guard, with what it says told to the log and the metrics. */
export interface RemovalCheck {
  /**
   * Throws {@link MassRemovalHeldError} (nothing applied; the hold logged as an error once, when it begins) when the
   * walk would remove most interviews and is neither confirmed nor agreed on long enough; logs the end of a hold.
   */
  check(walk: CheckedWalk): void;
  /** The removal held now, or null. */
  held(): HeldRemoval | null;
}

/** Creates a {@link RemovalCheck}. */
export function createRemovalCheck(options: RemovalCheckOptions): RemovalCheck {
  const { logger, metrics } = options;
  const guard = createMassRemovalGuard({ holdMs: options.holdMs });
  return {
    check({ kind, startedAtMs, base, next, confirmed, removals: counted }) {
      const removals = counted ?? countRemovals(base, next);
      const of = base?.size ?? 0;
      const decision = guard.judge({ kind, startedAtMs, removals, of, confirmed });
      if (decision.action === 'hold') {
        const { held } = decision;
        metrics?.refreshes.inc({ kind, outcome: 'held' });
        metrics?.refreshDuration.observe({ kind, outcome: 'held' }, (options.now() - startedAtMs) / 1000);
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
    },
    held: () => guard.held(),
  };
}
