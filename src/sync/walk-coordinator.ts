import type { SnapshotData, SnapshotDelta } from '../interviews/snapshot.js';

/**
 * One walker's right to walk one integration, until it is released or lost. Its fencing token is higher than that of
 * every lease granted before it; a publish with a token lower than the newest granted is refused, so a walker that
 * lost its lease (paused, partitioned, too slow to renew) never overwrites a newer result.
 */
export interface WalkLease {
  readonly token: number;
  /** When it was granted, by the coordinator's clock. */
  readonly grantedAtMs: number;
  /** Aborts when the lease is lost: it could not be renewed in time, or another walker holds it now. */
  readonly signal: AbortSignal;
  /**
   * Makes `data` the integration's shared snapshot and tells every walker; resolves with its version and lineage.
   * `walk` tells what the walk was (none: treated as a full walk). Throws {@link StaleLeaseError} when a newer lease
   * was granted since this one (nothing written).
   */
  publish(data: SnapshotData, walk?: PublishedWalk): Promise<Published>;
  /** Gives the lease up (idempotent; never throws). */
  release(): Promise<void>;
}

/** What a walk that publishes was: how a coordinator may share or keep it. */
export interface PublishedWalk {
  readonly full: boolean;
  /** Interviews it added, changed or removed. */
  readonly changes: number;
  /**
   * For an incremental walk on the version held: how it got there from that version, to be shared as that delta alone
   * when it is small. A function, as it costs a pass over the snapshot that a coordinator keeping only whole snapshots
   * never needs.
   */
  readonly change?: {
    readonly on: SharedVersion;
    delta(): SnapshotDelta;
    /** How many interviews the snapshot holds after the walk (what a delta's share is weighed against). */
    readonly size: number;
  };
}

/** What a publish made: the version, and a write that may still be under way. */
export interface Published extends SharedVersion {
  /**
   * Settles (never rejects) once the snapshot is written where it outlives this process. Absent: written before the
   * publish resolved. A coordinator shared by several walkers writes first, so every one serves the same bytes; one
   * that only keeps the snapshot for a restart lets it be served while it writes.
   */
  readonly written?: Promise<void>;
}

/**
 * Which shared snapshot a walker holds: its version (versions only grow, per integration) and its lineage (new at
 * every snapshot shared whole; deltas apply only within one).
 */
export interface SharedVersion {
  readonly version: number;
  readonly lineage: string;
}

/** What is newer than a walker holds: the deltas after its version, or the whole snapshot and the deltas after it. */
export type SharedUpdate = (
  | { readonly kind: 'deltas'; readonly deltas: readonly SnapshotDelta[] }
  | { readonly kind: 'whole'; readonly data: SnapshotData; readonly deltas: readonly SnapshotDelta[] }
) &
  SharedVersion & {
    /** When the lease of the walk that made it was granted, by the coordinator's clock (0: unknown, put back). */
    readonly walkedAtMs: number;
    /**
     * A later walk on this version changed nothing but the time: the snapshot's `syncedAtMs` is this now. With no
     * deltas and the version held, that is all there is to take in (nothing was republished, nobody was woken).
     */
    readonly syncedAtMs?: number;
    /**
     * What an earlier process left in storage, not a walk shared now: taking it in says nothing of how the integration
     * fares today (it is no last success).
     */
    readonly restored?: boolean;
  };

/** What asking for a lease gives: the lease, or undefined while another walker holds it; and the coordinator's time. */
export interface LeaseAnswer {
  readonly lease: WalkLease | undefined;
  /** The coordinator's clock at the answer (one clock for every walker: a walk started after a request, or not). */
  readonly nowMs: number;
}

/**
 * Decides which walker (a process of the service) walks each integration, and carries each walk's result to every
 * walker. The engine always has one: a process alone has the local one (`createLocalWalkCoordinator`), which always
 * grants and saves the snapshot for the next start.
 */
export interface WalkCoordinator {
  /**
   * A lease on the integration, or none while another walker holds it. Throws StoreUnavailableError. `wait`: the
   * caller waits for a held lease, so it needs the coordinator's time even when refused; without it a refused answer's
   * `nowMs` may be 0 (a periodic refresh that finds the lease held asks nothing more).
   */
  acquire(integrationId: string, ask?: { readonly wait?: boolean }): Promise<LeaseAnswer>;
  /** What is newer than the version held, else undefined. */
  newer(integrationId: string, held: SharedVersion): Promise<SharedUpdate | undefined>;
  /** Writes back a snapshot this walker holds, unless a newer one is there (the shared store lost its data). */
  putBack(integrationId: string, snapshot: { readonly data: SnapshotData; readonly version: number }): Promise<void>;
  /**
   * Where walkers share their walks: a periodic walk made on `on` without a lease found nothing new, as of
   * `syncedAtMs`. Noted beside the snapshot and told to the other walkers (their own periodic walks then wait an
   * interval), in one exchange with the store; false when `on` is no longer the newest version (nothing noted). A
   * walk that changes nothing needs no lease: it writes no data. Absent: every walk takes a lease.
   */
  noteUnchanged?(integrationId: string, on: SharedVersion, syncedAtMs: number): Promise<boolean>;
  /** How long an unrenewed lease lasts: a walker asked to walk waits about this long for a dead walker's lease. */
  readonly leaseMs: number;
  /**
   * Other processes walk the same integrations and their walks reach this one: a periodic refresh just after one of
   * theirs is skipped, so together they walk at the rate one process would. False for a process alone.
   */
  readonly shared: boolean;
}

/** A walk's result refused: a newer lease was granted since the walk took its own. */
export class StaleLeaseError extends Error {
  constructor(integrationId: string, token: number) {
    super(`refused the walk of ${integrationId} with lease ${token}: another replica has taken a newer lease since`);
    this.name = 'StaleLeaseError';
  }
}

/** A walk that was asked for and waited too long for another walker's lease. */
export class LeaseBusyError extends Error {
  constructor(integrationId: string, waitedMs: number) {
    super(`another replica kept walking ${integrationId} for ${Math.round(waitedMs / 1000)} s; try again`);
    this.name = 'LeaseBusyError';
  }
}
