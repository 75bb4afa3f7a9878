import type { Logger } from 'pino';
import type { SnapshotHolder } from '../feeds/feed-service.js';
import { Snapshot } from '../interviews/snapshot.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import type { SharedUpdate, SharedVersion, WalkCoordinator } from './walk-coordinator.js';

/** What {@link createSnapshotFollower} needs. */
export interface SnapshotFollowerOptions {
  coordinator: WalkCoordinator;
  integrationId: string;
  feeds: SnapshotHolder;
  logger: Logger;
  /** A snapshot was taken in and is served now. */
  onTakenIn?(snapshot: Snapshot, update: SharedUpdate): void;
}

/** Keeps one integration's served snapshot up with its coordinator's: which version is held, and when it was walked. */
export interface SnapshotFollower {
  /**
   * The first catch-up, at start: loads the coordinator's snapshot, whoever walked it, so feeds are served before Kombo
   * answers; true when one was loaded. A store that cannot be reached throws (start-up stops: server entry); one that
   * cannot be read is logged and walked over.
   */
  restore(): Promise<boolean>;
  /**
   * Takes in the coordinator's snapshot when it is newer than the one served, one at a time, and resolves with what it
   * took in (undefined: nothing newer). Throws what the coordinator throws.
   */
  catchUp(): Promise<SharedUpdate | undefined>;
  /** This process published `shared`, walked under a lease granted at `walkedAtMs`. */
  published(shared: SharedVersion, walkedAtMs: number): void;
  /** The version served here (0: none). */
  held(): SharedVersion;
  /** When the lease of the walk behind the served version was granted, by the coordinator's clock (0: unknown). */
  walkedAtMs(): number;
}

/** The emails whose feeds differ between two snapshots of one integration, by their last-change times. */
export function changedBetween(before: Snapshot | undefined, after: Snapshot): ReadonlySet<string> | 'all' {
  if (before === undefined) return 'all';
  const changed = new Set<string>();
  const old = before.data.feedChangedAtMs;
  const next = after.data.feedChangedAtMs;
  // Own entries only: the emails are the ATS's text, and one may be called `constructor`.
  const own = <T>(table: Readonly<Record<string, T>>, email: string) => (Object.hasOwn(table, email) ? table[email] : undefined);
  for (const email of Object.keys(next)) if (own(old, email) !== next[email]) changed.add(email);
  for (const email of Object.keys(old)) if (!Object.hasOwn(next, email)) changed.add(email);
  const oldNames = before.data.formerNames ?? {};
  const newNames = after.data.formerNames ?? {};
  for (const email of Object.keys(newNames)) if (own(oldNames, email) !== newNames[email]) changed.add(email);
  return changed;
}

/** Creates a {@link SnapshotFollower}. */
export function createSnapshotFollower(options: SnapshotFollowerOptions): SnapshotFollower {
  const { coordinator, integrationId, feeds, logger } = options;
  let held: SharedVersion = { version: 0, lineage: '' };
  let walkedAtMs = 0;
  let catchingUp: Promise<SharedUpdate | undefined> = Promise.resolve(undefined);

  async function takeIn(): Promise<SharedUpdate | undefined> {
    const update = await coordinator.newer(integrationId, held);
    if (update === undefined) return undefined;
    const before = feeds.snapshot();
    if (update.version <= held.version) {
      // Another walker walked the version held and found nothing new: only the sync time moves, no feed changes. Its
      // lease time still tells a walk asked for before it that it is done.
      if (before === undefined || update.version !== held.version || update.syncedAtMs === undefined) return undefined;
      const later = update.syncedAtMs > before.data.syncedAtMs;
      if (!later && update.walkedAtMs <= walkedAtMs) return undefined;
      const snapshot = later ? Snapshot.resynced(before, update.syncedAtMs) : before;
      if (later) feeds.replace(snapshot, new Set());
      walkedAtMs = Math.max(walkedAtMs, update.walkedAtMs);
      options.onTakenIn?.(snapshot, update);
      return update;
    }
    // Deltas apply to the very snapshot they were made on: the one held, or the whole one read with them.
    let snapshot = update.kind === 'whole' ? Snapshot.fromData(update.data) : before;
    if (snapshot === undefined) return undefined;
    for (const delta of update.deltas) snapshot = Snapshot.patched(snapshot, delta);
    if (update.syncedAtMs !== undefined && update.syncedAtMs > snapshot.data.syncedAtMs) snapshot = Snapshot.resynced(snapshot, update.syncedAtMs);
    feeds.replace(snapshot, changedBetween(before, snapshot));
    held = { version: update.version, lineage: update.lineage };
    walkedAtMs = update.walkedAtMs;
    options.onTakenIn?.(snapshot, update);
    return update;
  }

  function catchUp(): Promise<SharedUpdate | undefined> {
    const next = catchingUp.catch(() => undefined).then(takeIn);
    catchingUp = next;
    return next;
  }

  return {
    async restore() {
      let update;
      try {
        update = await catchUp();
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error;
        logger.warn({ err: error }, 'ignored an unreadable shared snapshot; waiting for Kombo instead');
        return false;
      }
      const snapshot = feeds.snapshot();
      if (update === undefined || snapshot === undefined) return false;
      if (update.restored) logger.info({ interviews: snapshot.size, syncedAt: new Date(snapshot.data.syncedAtMs).toISOString() }, 'restored the last saved snapshot');
      else logger.info({ interviews: snapshot.size, version: update.version }, 'took in the shared snapshot');
      return true;
    },
    catchUp,
    published(shared, grantedAtMs) {
      held = { version: shared.version, lineage: shared.lineage };
      walkedAtMs = grantedAtMs;
    },
    held: () => held,
    walkedAtMs: () => walkedAtMs,
  };
}
