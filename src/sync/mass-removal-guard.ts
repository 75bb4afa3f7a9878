import type { Snapshot } from '../interviews/snapshot.js';

/** A walk that would remove more than this share of an integration's live interviews is held... */
export const MASS_REMOVAL_FRACTION = 0.5;
/** ...if it would remove at least this many: a small integration's few removals always apply. */
export const MASS_REMOVAL_MIN = 50;

/** A removal being held, as the sync status shows it. */
export interface HeldRemoval {
  /** Interviews the latest held walk would remove... */
  readonly removals: number;
  /** ...of this many live ones. */
  readonly of: number;
  /** Start of the first walk held. */
  readonly since: string;
  /** The kind of the first walk held. */
  readonly kind: 'full' | 'incremental';
  /** Start of the latest walk held. */
  readonly lastHeldAt: string;
  /**
   * From when a full walk that still agrees applies it without a confirmation; null until a full walk has held it
   * (only full walks count: an incremental one lists deletions, not what is gone).
   */
  readonly appliesFrom: string | null;
}

/** A refresh whose walk was held: nothing was applied, and the previous snapshot keeps serving. */
export class MassRemovalHeldError extends Error {
  constructor(readonly held: HeldRemoval) {
    super(
      `held: the walk would remove ${held.removals} of ${held.of} interviews; feeds keep serving the previous snapshot ` +
        'until an operator confirms (POST /admin/sync?full=true&confirmRemovals=true) or full walks agree on it for ' +
        'MASS_REMOVAL_HOLD_HOURS',
    );
    this.name = 'MassRemovalHeldError';
  }
}

/** Whether removing `removals` of `live` interviews is a mass removal, to be held. */
export function isMassRemoval(removals: number, live: number): boolean {
  return removals >= MASS_REMOVAL_MIN && removals > live * MASS_REMOVAL_FRACTION;
}

/** How many of `before`'s interviews `after` no longer has. */
export function countRemovals(before: Snapshot | undefined, after: Snapshot): number {
  if (before === undefined || before.integrationId !== after.integrationId || before.byId === after.byId) return 0;
  let removals = 0;
  for (const id of before.byId.keys()) if (!after.byId.has(id)) removals++;
  return removals;
}

/** What to do with a walk. */
export type GuardDecision =
  | {
      readonly action: 'apply';
      /**
       * `normal`: no mass removal, and none held; `recovered`: the held one is no longer reported; `confirmed`: an
       * operator confirmed it; `agreed`: full walks agreed on it for long enough.
       */
      readonly because: 'normal' | 'recovered' | 'confirmed' | 'agreed';
      /** The hold this walk ended, if any. */
      readonly ended: HeldRemoval | null;
    }
  | { readonly action: 'hold'; readonly held: HeldRemoval; /** True for the walk that began the hold. */ readonly first: boolean };

/** One walk, as the guard judges it. */
export interface JudgedWalk {
  readonly kind: 'full' | 'incremental';
  readonly startedAtMs: number;
  readonly removals: number;
  /** Live interviews before the walk. */
  readonly of: number;
  /** An operator confirmed this walk's removals, whatever they are. */
  readonly confirmed: boolean;
}

/** Holds mass removals of one integration until confirmed, or until full walks keep agreeing for `holdMs`. */
export interface MassRemovalGuard {
  judge(walk: JudgedWalk): GuardDecision;
  /** The removal held now, or null. */
  held(): HeldRemoval | null;
}

/** Creates a {@link MassRemovalGuard}. */
export function createMassRemovalGuard(options: { holdMs: number }): MassRemovalGuard {
  let hold: { sinceMs: number; kind: JudgedWalk['kind']; lastMs: number; removals: number; of: number; agreeingSinceMs?: number } | undefined;

  function status(): HeldRemoval | null {
    if (hold === undefined) return null;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      removals: hold.removals,
      of: hold.of,
      since: iso(hold.sinceMs),
      kind: hold.kind,
      lastHeldAt: iso(hold.lastMs),
      appliesFrom: hold.agreeingSinceMs === undefined ? null : iso(hold.agreeingSinceMs + options.holdMs),
    };
  }

  return {
    judge(walk) {
      const ended = status();
      const end = (because: 'recovered' | 'confirmed' | 'agreed'): GuardDecision => {
        hold = undefined;
        return { action: 'apply', because: because === 'recovered' && ended === null ? 'normal' : because, ended };
      };
      if (!isMassRemoval(walk.removals, walk.of)) return end('recovered');
      if (walk.confirmed) return end('confirmed');
      const agreeingSinceMs = hold?.agreeingSinceMs;
      if (walk.kind === 'full' && agreeingSinceMs !== undefined && walk.startedAtMs - agreeingSinceMs >= options.holdMs) return end('agreed');
      const first = hold === undefined;
      hold = {
        sinceMs: hold?.sinceMs ?? walk.startedAtMs,
        kind: hold?.kind ?? walk.kind,
        lastMs: walk.startedAtMs,
        removals: walk.removals,
        of: walk.of,
        ...(agreeingSinceMs !== undefined || walk.kind === 'full' ? { agreeingSinceMs: agreeingSinceMs ?? walk.startedAtMs } : {}),
      };
      return { action: 'hold', held: status()!, first };
    },
    held: status,
  };
}
