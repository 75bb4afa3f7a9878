import type { Logger } from 'pino';
import type { SnapshotData } from '../interviews/snapshot.js';
import type { SnapshotStore } from '../interviews/snapshot-store.js';
import { StaleLeaseError, type LeaseAnswer, type Published, type SharedUpdate, type WalkCoordinator, type WalkLease } from './walk-coordinator.js';

/** What {@link createLocalWalkCoordinator} needs. */
export interface LocalWalkCoordinatorOptions {
  /** Where each integration's last snapshot outlives the process (DATA_DIR, or memory in tests). */
  store: SnapshotStore;
  logger: Logger;
}

/** One walker, so one line of versions. */
const LINEAGE = 'local';


/**
 * The coordinator of a single process: every lease is granted at once, a published snapshot is served while it is
 * saved to `store` (for the next start), and the stored snapshot is read back once, before the integration's first walk.
 * Its clock counts asks and grants instead of telling the time: with one walker the order is all a time must tell, and
 * a walk asked for after another was granted is never taken as already done.
 */
export function createLocalWalkCoordinator(options: LocalWalkCoordinatorOptions): WalkCoordinator {
  const { store, logger } = options;
  let clock = 0;
  let token = 0;
  /** The newest token granted per integration: a publish under an older one is refused (fencing, as shared stores do). */
  const newest = new Map<string, number>();
  const versions = new Map<string, number>();
  /** Integrations whose stored snapshot was read back, or that walked here: the store has nothing newer for them. */
  const readBack = new Set<string>();

  const nextVersion = (id: string) => {
    const version = (versions.get(id) ?? 0) + 1;
    versions.set(id, version);
    return version;
  };

  /**
   * Never rejects: a snapshot that cannot be saved is still served, and the next walk's save tries again. Begun on the
   * next turn of the event loop, so the snapshot is served first: encoding it (JSON and its checksum, a few hundred ms
   * at 50,000 interviews) is the save's work, not the time until feeds answer.
   */
  const save = (data: SnapshotData): Promise<void> =>
    new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => store.save(data))
      .catch((error: unknown) => {
        logger.error({ integration: data.integrationId, err: error }, 'could not save the snapshot; feeds are still served from memory');
      });

  async function acquire(id: string): Promise<LeaseAnswer> {
    readBack.add(id);
    const grantedAtMs = ++clock;
    const mine = ++token;
    newest.set(id, mine);
    const lease: WalkLease = {
      token: mine,
      grantedAtMs,
      // Nobody else can take a local lease: its signal never aborts. One of its own per lease, so the walks waiting for
      // a slot (a thousand integrations at start-up) do not pile their listeners onto one shared signal.
      signal: new AbortController().signal,
      async publish(data, walk): Promise<Published> {
        if (newest.get(id) !== mine) throw new StaleLeaseError(id, mine);
        // An incremental walk that changed nothing only moved its sync time: not worth writing the whole snapshot.
        const written = walk === undefined || walk.full || walk.changes > 0 ? save(data) : undefined;
        return { version: nextVersion(id), lineage: LINEAGE, ...(written ? { written } : {}) };
      },
      release: async () => {},
    };
    return { lease, nowMs: grantedAtMs };
  }

  async function newer(id: string): Promise<SharedUpdate | undefined> {
    if (readBack.has(id)) return undefined;
    readBack.add(id);
    let data: SnapshotData | undefined;
    try {
      data = await store.load(id);
    } catch (error) {
      logger.warn({ integration: id, err: error }, 'ignored an unreadable snapshot file; waiting for Kombo instead');
      return undefined;
    }
    if (data === undefined) return undefined;
    return { kind: 'whole', data, deltas: [], version: nextVersion(id), lineage: LINEAGE, walkedAtMs: 0, restored: true };
  }

  return {
    acquire,
    newer,
    putBack: async () => {},
    leaseMs: Infinity, // a local lease is never lost
    shared: false,
  };
}
