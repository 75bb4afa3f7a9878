import { describe, expect, it } from 'vitest';
import type { SnapshotHolder } from '../../src/feeds/feed-service.js';
import { Snapshot, type SnapshotData, type SnapshotDelta } from '../../src/interviews/snapshot.js';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';
import { changedBetween, createSnapshotFollower } from '../../src/sync/snapshot-follower.js';
import type { SharedUpdate, SharedVersion, WalkCoordinator } from '../../src/sync/walk-coordinator.js';
import { domainInterview } from '../helpers/factories.js';
import { captureLogger } from '../helpers/test-service.js';

const ID = 'greenhouse:test';
const T = Date.UTC(2026, 10, 2, 9);
const ada = 'ada@example.com';
const grace = 'grace@example.com';

function data(syncedAtMs: number, feedChangedAtMs: Record<string, number>, formerNames?: Record<string, string>): SnapshotData {
  return {
    format: 1,
    integrationId: ID,
    syncedAtMs,
    fullSyncedAtMs: syncedAtMs,
    firstSyncedAtMs: syncedAtMs,
    interviews: [domainInterview({ id: 'iv-1', interviewers: [{ email: ada, name: 'Ada' }] }), domainInterview({ id: 'iv-2', interviewers: [{ email: grace, name: 'Grace' }] })],
    feedChangedAtMs,
    ...(formerNames ? { formerNames } : {}),
  };
}

/** The snapshot served, and every swap with what it said changed. */
function holder(): SnapshotHolder & { swaps: Array<ReadonlySet<string> | 'all'> } {
  let current: Snapshot | undefined;
  const swaps: Array<ReadonlySet<string> | 'all'> = [];
  return { swaps, snapshot: () => current, replace: (next, changed) => void ((current = next), swaps.push(changed)) };
}

/** A coordinator answering `newer` from a list the test fills, and recording what it was asked with. */
function listedCoordinator(updates: Array<SharedUpdate | Error | undefined>) {
  const asked: SharedVersion[] = [];
  const coordinator: WalkCoordinator = {
    leaseMs: 3_000,
    shared: true,
    acquire: async () => ({ lease: undefined, nowMs: 0 }),
    async newer(_id, held) {
      asked.push(held);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const next = updates.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    putBack: async () => {},
  };
  return { coordinator, asked };
}

function follower(updates: Array<SharedUpdate | Error | undefined>) {
  const feeds = holder();
  const { coordinator, asked } = listedCoordinator(updates);
  const { logger, logs } = captureLogger();
  const taken: SharedUpdate[] = [];
  const f = createSnapshotFollower({ coordinator, integrationId: ID, feeds, logger, onTakenIn: (_s, update) => void taken.push(update) });
  return { follower: f, feeds, asked, logs, taken };
}

describe('changedBetween', () => {
  it('is every feed when nothing was served, else the feeds whose change time or former name differs', () => {
    const before = Snapshot.fromData(data(T, { [ada]: T, [grace]: T }));
    expect(changedBetween(undefined, before)).toBe('all');
    const after = Snapshot.fromData(data(T + 1, { [ada]: T + 1, 'new@example.com': T + 1 }, { [grace]: 'Grace Hopper' }));
    expect([...(changedBetween(before, after) as Set<string>)].sort()).toEqual([ada, grace, 'new@example.com']);
    expect(changedBetween(before, Snapshot.fromData(data(T + 1, { [ada]: T, [grace]: T })))).toEqual(new Set());
  });
});

describe('createSnapshotFollower', () => {
  it('takes in a whole snapshot, then deltas on it, and asks with the version it holds', async () => {
    const delta: SnapshotDelta = {
      updated: [domainInterview({ id: 'iv-3', interviewers: [{ email: ada, name: 'Ada' }] })],
      removed: ['iv-2'],
      touchedEmails: [ada, grace],
      syncedAtMs: T + 1,
      fullSyncedAtMs: T,
      firstSyncedAtMs: T,
      feedChangedAtMs: { [ada]: T + 1, [grace]: T + 1 },
    };
    const { follower: f, feeds, asked, taken } = follower([
      { kind: 'whole', data: data(T, { [ada]: T, [grace]: T }), deltas: [], version: 4, lineage: 'l1', walkedAtMs: 500 },
      { kind: 'deltas', deltas: [delta], version: 5, lineage: 'l1', walkedAtMs: 600 },
      undefined,
    ]);
    expect((await f.catchUp())?.version).toBe(4);
    expect(feeds.swaps).toEqual(['all']);
    expect((await f.catchUp())?.version).toBe(5);
    expect([...feeds.snapshot()!.byId.keys()].sort()).toEqual(['iv-1', 'iv-3']);
    expect(feeds.swaps[1]).toEqual(new Set([ada, grace]));
    expect(await f.catchUp()).toBeUndefined();
    expect(asked).toEqual([
      { version: 0, lineage: '' },
      { version: 4, lineage: 'l1' },
      { version: 5, lineage: 'l1' },
    ]);
    expect(f.held()).toEqual({ version: 5, lineage: 'l1' });
    expect(f.walkedAtMs()).toBe(600);
    expect(taken.map((u) => u.version)).toEqual([4, 5]);
  });

  it('ignores deltas with nothing served to apply them to, and versions not above its own', async () => {
    const { follower: f, feeds } = follower([
      { kind: 'deltas', deltas: [], version: 2, lineage: 'l', walkedAtMs: 1 },
      { kind: 'whole', data: data(T, {}), deltas: [], version: 3, lineage: 'l', walkedAtMs: 1 },
      { kind: 'whole', data: data(T, {}), deltas: [], version: 3, lineage: 'l', walkedAtMs: 1 },
    ]);
    expect(await f.catchUp()).toBeUndefined();
    expect(await f.catchUp()).toBeDefined();
    expect(await f.catchUp()).toBeUndefined();
    expect(feeds.swaps).toHaveLength(1);
  });

  it('catches up one at a time: a second catch-up asks with what the first took in', async () => {
    const { follower: f, asked } = follower([{ kind: 'whole', data: data(T, {}), deltas: [], version: 1, lineage: 'l', walkedAtMs: 1 }, undefined]);
    await Promise.all([f.catchUp(), f.catchUp()]);
    expect(asked.map((v) => v.version)).toEqual([0, 1]);
  });

  it('holds what this process published, with its lease’s grant time', () => {
    const { follower: f } = follower([]);
    f.published({ version: 9, lineage: 'mine' }, 1234);
    expect(f.held()).toEqual({ version: 9, lineage: 'mine' });
    expect(f.walkedAtMs()).toBe(1234);
  });

  describe('restore()', () => {
    it('says it restored the last saved snapshot, with its size and sync time, when an earlier process left it', async () => {
      const { follower: f, logs } = follower([{ kind: 'whole', data: data(T, {}), deltas: [], version: 1, lineage: 'l', walkedAtMs: 0, restored: true }]);
      expect(await f.restore()).toBe(true);
      expect(logs.lines.find((l) => l.msg === 'restored the last saved snapshot')).toMatchObject({ level: 'info', interviews: 2, syncedAt: new Date(T).toISOString() });
    });

    it('says it took in the shared snapshot, with its version, when another walker made it', async () => {
      const { follower: f, logs } = follower([{ kind: 'whole', data: data(T, {}), deltas: [], version: 7, lineage: 'l', walkedAtMs: 5 }]);
      expect(await f.restore()).toBe(true);
      expect(logs.lines.find((l) => l.msg === 'took in the shared snapshot')).toMatchObject({ level: 'info', interviews: 2, version: 7 });
    });

    it('is false with nothing to restore', async () => {
      expect(await follower([undefined]).follower.restore()).toBe(false);
    });

    it('logs a snapshot it cannot read and is false; a store it cannot reach stops start-up', async () => {
      const unreadable = follower([new Error('incorrect header check')]);
      expect(await unreadable.follower.restore()).toBe(false);
      expect(unreadable.logs.lines.find((l) => l.level === 'warn')).toMatchObject({ msg: 'ignored an unreadable shared snapshot; waiting for Kombo instead' });
      const down = new StoreUnavailableError('Redis did not answer');
      await expect(follower([down]).follower.restore()).rejects.toBe(down);
    });
  });
});
