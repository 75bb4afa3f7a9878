import { describe, expect, it } from 'vitest';
import type { SnapshotHolder } from '../../src/feeds/feed-service.js';
import { Snapshot, type SnapshotData } from '../../src/interviews/snapshot.js';
import { createMemorySnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createLocalWalkCoordinator } from '../../src/sync/local-walk-coordinator.js';
import type { WalkAsk } from '../../src/sync/single-flight.js';
import { createSnapshotFollower } from '../../src/sync/snapshot-follower.js';
import { createSyncStatus } from '../../src/sync/sync-status.js';
import type { SharedUpdate, WalkCoordinator, WalkLease } from '../../src/sync/walk-coordinator.js';
import { createWalkTurns, satisfiedElsewhere, type CaughtUp } from '../../src/sync/walk-turns.js';
import { domainInterview } from '../helpers/factories.js';
import { captureLogger } from '../helpers/test-service.js';

const ID = 'greenhouse:test';
const T = Date.UTC(2026, 10, 2, 9);
const ASKED: WalkAsk = { full: false, confirmRemovals: false, periodic: false };

function data(syncedAtMs: number, fullSyncedAtMs = syncedAtMs): SnapshotData {
  return { format: 1, integrationId: ID, syncedAtMs, fullSyncedAtMs, firstSyncedAtMs: fullSyncedAtMs, interviews: [domainInterview()], feedChangedAtMs: {} };
}

describe('satisfiedElsewhere', () => {
  const base: CaughtUp = {
    ask: ASKED,
    heldAtAsk: true,
    askedAtMs: 1_000,
    walkedAtMs: 1_000,
    startedAtMs: T,
    current: { syncedAtMs: T - 1_000, fullSyncedAtMs: T - 1_000 },
    periodicFreshMs: 60_000,
  };

  it('is satisfied by a walk whose lease was granted at or after the ask', () => {
    expect(satisfiedElsewhere(base)).toBe(true);
    expect(satisfiedElsewhere({ ...base, walkedAtMs: 999 })).toBe(false);
  });

  it('wants a full walk for a full ask', () => {
    const incremental = { syncedAtMs: T - 1_000, fullSyncedAtMs: T - 3_600_000 };
    expect(satisfiedElsewhere({ ...base, ask: { ...ASKED, full: true } })).toBe(true);
    expect(satisfiedElsewhere({ ...base, ask: { ...ASKED, full: true }, current: incremental })).toBe(false);
    expect(satisfiedElsewhere({ ...base, current: incremental })).toBe(true);
  });

  it('takes any snapshot for a walk asked when none was served, and none when nothing is served now', () => {
    expect(satisfiedElsewhere({ ...base, heldAtAsk: false, walkedAtMs: 0 })).toBe(true);
    expect(satisfiedElsewhere({ ...base, current: undefined })).toBe(false);
  });

  it('never takes another walk for a confirmation', () => {
    expect(satisfiedElsewhere({ ...base, ask: { full: true, confirmRemovals: true, periodic: false } })).toBe(false);
  });

  it('takes a recent enough walk for a periodic refresh, and none when freshness is 0', () => {
    const periodic = { ...base, ask: { ...ASKED, periodic: true }, walkedAtMs: 0 };
    expect(satisfiedElsewhere(periodic)).toBe(true);
    expect(satisfiedElsewhere({ ...periodic, current: { syncedAtMs: T - 60_000, fullSyncedAtMs: T - 60_000 } })).toBe(false);
    expect(satisfiedElsewhere({ ...periodic, periodicFreshMs: 0 })).toBe(false);
  });
});

/** The snapshot served, held by the test. */
function holder(initial?: Snapshot): SnapshotHolder & { current: Snapshot | undefined } {
  return {
    current: initial,
    snapshot() {
      return this.current;
    },
    replace(next) {
      this.current = next;
    },
  };
}

function turnsOver(coordinator: WalkCoordinator, feeds: SnapshotHolder, periodicFreshMs = 0) {
  const { logger, logs } = captureLogger();
  const status = createSyncStatus(() => T);
  const follower = createSnapshotFollower({ coordinator, integrationId: ID, feeds, logger, onTakenIn: status.tookIn });
  const turns = createWalkTurns({
    coordinator,
    integrationId: ID,
    feeds,
    follower,
    status,
    logger,
    now: () => T,
    signal: new AbortController().signal,
    stopped: () => new Error('stopped'),
    periodicFreshMs,
    leasePollMs: 1,
  });
  return { turns, follower, status, logs };
}

describe('createWalkTurns', () => {
  it('with the local coordinator, always gives the lease: no walk asked for, periodic or not, is ever skipped', async () => {
    const store = createMemorySnapshotStore();
    await store.save(data(T - 1_000));
    const { logger } = captureLogger();
    const coordinator = createLocalWalkCoordinator({ store, logger });
    const feeds = holder();
    const { turns, follower } = turnsOver(coordinator, feeds, 0);
    expect(await follower.restore()).toBe(true);
    const asks: WalkAsk[] = [ASKED, { ...ASKED, full: true }, { ...ASKED, periodic: true }, ASKED, { full: true, confirmRemovals: true, periodic: false }];
    for (const ask of asks) {
      const turn = await turns.take(ask);
      expect(turn.lease, JSON.stringify(ask)).toBeDefined();
      // This walk publishes: the next ask comes after its grant, and must walk again.
      follower.published(await turn.lease!.publish(data(T)), turn.lease!.grantedAtMs);
      await turn.lease!.release();
    }
  });

  /** A shared coordinator: another walker's snapshot, walked at `walkedAtMs`, and a lease granted or held elsewhere. */
  function sharedCoordinator(options: { walkedAtMs: number; nowMs: number; free: boolean; snapshot: SnapshotData }) {
    const released: number[] = [];
    const coordinator: WalkCoordinator = {
      leaseMs: 3_000,
      shared: true,
      async acquire() {
        const lease: WalkLease = {
          token: 7,
          grantedAtMs: options.nowMs,
          signal: new AbortController().signal,
          publish: async () => ({ version: 2, lineage: 'l' }),
          release: async () => void released.push(7),
        };
        return { lease: options.free ? lease : undefined, nowMs: options.nowMs };
      },
      async newer(_id, held): Promise<SharedUpdate | undefined> {
        if (held.version >= 1) return undefined;
        return { kind: 'whole', data: options.snapshot, deltas: [], version: 1, lineage: 'l', walkedAtMs: options.walkedAtMs };
      },
      putBack: async () => {},
    };
    return { coordinator, released };
  }

  it('takes in another walker’s newer walk and gives the lease back when it already brought what was asked for', async () => {
    const { coordinator, released } = sharedCoordinator({ walkedAtMs: 5_000, nowMs: 5_000, free: true, snapshot: data(T) });
    const feeds = holder(Snapshot.fromData(data(T - 60_000)));
    const { turns, status } = turnsOver(coordinator, feeds);
    const turn = await turns.take(ASKED);
    expect(turn.lease).toBeUndefined();
    expect(turn.elsewhere).toMatchObject({ kind: 'incremental', walkedElsewhere: true, interviews: 1 });
    expect(released).toEqual([7]);
    expect(feeds.current?.data.syncedAtMs).toBe(T);
    expect(status.view({ running: false, held: null }).lastSuccess?.walkedElsewhere).toBe(true);
  });

  it('walks when the other walker’s walk started before the ask', async () => {
    const { coordinator, released } = sharedCoordinator({ walkedAtMs: 4_999, nowMs: 5_000, free: true, snapshot: data(T) });
    const { turns } = turnsOver(coordinator, holder(Snapshot.fromData(data(T - 60_000))));
    const turn = await turns.take(ASKED);
    expect(turn.lease?.token).toBe(7);
    expect(released).toEqual([]);
  });

  it('skips a periodic refresh while another walker holds the lease', async () => {
    const { coordinator } = sharedCoordinator({ walkedAtMs: 0, nowMs: 5_000, free: false, snapshot: data(T) });
    const turn = await turnsOver(coordinator, holder(), 60_000).turns.take({ ...ASKED, periodic: true });
    expect(turn.elsewhere).toMatchObject({ kind: 'incremental', walkedElsewhere: true, interviews: 0 });
  });

  it('says once that walks wait for a store it cannot reach, and gives the lease back when taking in fails', async () => {
    const { StoreUnavailableError } = await import('../../src/storage/store-errors.js');
    const down: WalkCoordinator = {
      leaseMs: 3_000,
      shared: true,
      acquire: async () => {
        throw new StoreUnavailableError('Redis did not answer');
      },
      newer: async () => undefined,
      putBack: async () => {},
    };
    const { turns, status, logs } = turnsOver(down, holder());
    await expect(turns.take(ASKED)).rejects.toThrow('Redis did not answer');
    await expect(turns.take(ASKED)).rejects.toThrow('Redis did not answer');
    expect(status.waitingForStore()).toBe(true);
    expect(logs.lines.filter((l) => /unreachable: this walk waits for it/.test(String(l.msg)))).toHaveLength(1);

    const released: number[] = [];
    const unreadable: WalkCoordinator = {
      ...down,
      acquire: async () => ({
        lease: { token: 1, grantedAtMs: 1, signal: new AbortController().signal, publish: async () => ({ version: 1, lineage: 'l' }), release: async () => void released.push(1) },
        nowMs: 1,
      }),
      newer: async () => {
        throw new Error('not gzip');
      },
    };
    await expect(turnsOver(unreadable, holder()).turns.take(ASKED)).rejects.toThrow('not gzip');
    expect(released).toEqual([1]);
  });
});
