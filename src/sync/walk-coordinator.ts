import type { SnapshotData } from '../interviews/snapshot.js';

/**
 * One replica's right to walk one integration, until it is released or lost. Its fencing token is higher than that of
 * every lease granted before it; a publish with a token lower than the newest granted is refused, so a walker that
 * lost its lease (paused, partitioned, too slow to renew) never overwrites a newer result.
 */
export interface WalkLease {
  readonly token: number;
  /** When it was granted, by the coordinator's clock. */
  readonly grantedAtMs: number;
  /** Aborts when the lease is lost: it could not be renewed in time, or another replica holds it now. */
  readonly signal: AbortSignal;
  /**
   * Makes `data` the integration's shared snapshot and tells every replica; resolves with its version. Throws
   * {@link StaleLeaseError} when a newer lease was granted since this one (nothing written).
   */
  publish(data: SnapshotData): Promise<number>;
  /** Gives the lease up (idempotent; never throws). */
  release(): Promise<void>;
}

/** A published snapshot and its version (versions only grow, per integration). */
export interface SharedSnapshot {
  readonly data: SnapshotData;
  readonly version: number;
  /** When the lease of the walk that made it was granted, by the coordinator's clock (0: unknown, put back). */
  readonly walkedAtMs?: number;
}

/** What asking for a lease gives: the lease, or undefined while another replica holds it; and the coordinator's time. */
export interface LeaseAnswer {
  readonly lease: WalkLease | undefined;
  /** The coordinator's clock at the answer (one clock for every replica: a walk started after a request, or not). */
  readonly nowMs: number;
}

/**
 * Decides which replica walks each integration, and carries each walk's result to every replica. The engine is the
 * same with or without one: without (embedded mode) it walks whenever asked and saves to its snapshot store.
 */
export interface WalkCoordinator {
  /** A lease on the integration, or none while another replica holds it. Throws StoreUnavailableError. */
  acquire(integrationId: string): Promise<LeaseAnswer>;
  /** The integration's published snapshot when its version is above `version`, else undefined. */
  newer(integrationId: string, version: number): Promise<SharedSnapshot | undefined>;
  /** Writes back a snapshot this replica holds, unless a newer one is there (Redis lost its data). */
  putBack(integrationId: string, snapshot: SharedSnapshot): Promise<void>;
  /** How long an unrenewed lease lasts: a replica asked to walk waits about this long for a dead walker's lease. */
  readonly leaseMs: number;
}

/** A walk's result refused: a newer lease was granted since the walk took its own. */
export class StaleLeaseError extends Error {
  constructor(integrationId: string, token: number) {
    super(`refused the walk of ${integrationId} with lease ${token}: another replica has taken a newer lease since`);
    this.name = 'StaleLeaseError';
  }
}

/** A walk that was asked for and waited too long for another replica's lease. */
export class LeaseBusyError extends Error {
  constructor(integrationId: string, waitedMs: number) {
    super(`another replica kept walking ${integrationId} for ${Math.round(waitedMs / 1000)} s; try again`);
    this.name = 'LeaseBusyError';
  }
}
