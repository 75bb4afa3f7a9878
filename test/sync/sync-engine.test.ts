import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SnapshotHolder } from '../../src/feeds/feed-service.js';
import type { Snapshot, SnapshotData } from '../../src/interviews/snapshot.js';
import { createMemorySnapshotStore, type SnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createKomboClient } from '../../src/kombo/create-kombo-client.js';
import { createMetrics } from '../../src/metrics.js';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';
import { createLocalWalkCoordinator } from '../../src/sync/local-walk-coordinator.js';
import { createSyncEngine, type SyncEngine, type SyncEngineOptions } from '../../src/sync/sync-engine.js';
import { StaleLeaseError, type PublishedWalk, type WalkCoordinator } from '../../src/sync/walk-coordinator.js';
import { interviewRecord, komboUser, manyRecords } from '../helpers/factories.js';
import { komboClientOptions, startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { captureLogger } from '../helpers/test-service.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ada = komboUser('ada@example.com', 'Ada', 'Lovelace');

/** A fetch whose interview pages the test holds until it opens the gate (the walk stays in flight meanwhile). */
function gatedFetch() {
  let open: () => void = () => {};
  let opened: Promise<void> = Promise.resolve();
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    await opened;
    return response;
  };
  return {
    fetch,
    close() {
      opened = new Promise<void>((resolve) => (open = resolve));
    },
    open: () => open(),
  };
}

/** The snapshot served, and every swap. */
function holder(): SnapshotHolder & { swaps: Snapshot[] } {
  let current: Snapshot | undefined;
  const swaps: Snapshot[] = [];
  return { swaps, snapshot: () => current, replace: (next) => void ((current = next), swaps.push(next)) };
}

const until = async (condition: () => boolean) => {
  for (let n = 0; n < 2_000 && !condition(); n++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
};

describe('createSyncEngine', () => {
  let fake: FakeKombo;
  let gate: ReturnType<typeof gatedFetch>;
  const engines: SyncEngine[] = [];

  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(manyRecords(3, ['ada@example.com', 'grace@example.com']));
    fake.clock += 10 * MINUTE;
    gate = gatedFetch();
  });
  afterEach(async () => {
    gate.open();
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
    await fake.close();
  });

  /** An engine on the fake, with the local coordinator over `store` unless another coordinator is given. */
  function engineOn(options: { store?: SnapshotStore; coordinator?: WalkCoordinator; engine?: Partial<SyncEngineOptions> } = {}) {
    const { logger, logs } = captureLogger();
    const store = options.store ?? createMemorySnapshotStore();
    const feeds = holder();
    const metrics = createMetrics({ defaults: false });
    const engine = createSyncEngine({
      client: createKomboClient({ ...komboClientOptions(fake), fetch: gate.fetch, sleep: async () => {} }),
      feeds,
      coordinator: options.coordinator ?? createLocalWalkCoordinator({ store, logger }),
      logger,
      metrics,
      now: () => fake.clock,
      fullSyncIntervalMs: 24 * HOUR,
      massRemovalHoldMs: 24 * HOUR,
      webhookIntervalMs: 50,
      ...options.engine,
    });
    engines.push(engine);
    return { engine, feeds, logs, store, metrics };
  }

  it('walks a periodic refresh without a lease where walkers share their walks, and leaves nothing on its own signal walk after walk', async () => {
    const local = createLocalWalkCoordinator({ store: createMemorySnapshotStore(), logger: captureLogger().logger });
    const noted: number[] = [];
    const coordinator: WalkCoordinator = {
      ...local,
      shared: true,
      acquire: async (id, ask) => {
        noted.push(-1); // a lease asked for
        return local.acquire(id, ask);
      },
      noteUnchanged: async (_id, on, syncedAtMs) => (noted.push(syncedAtMs), on.version > 0),
    };
    const { engine } = engineOn({ coordinator, engine: { periodicFreshMs: MINUTE } });
    await engine.refresh();
    noted.length = 0;
    // Every source signal a walk links to with AbortSignal.any (its linked-record prefetch; the Kombo client links
    // each request with linkSignals, which leaves nothing behind), walk by walk.
    const any = vi.spyOn(AbortSignal, 'any');
    const sources: Array<Set<AbortSignal>> = [];
    try {
      for (let n = 0; n < 3; n++) {
        fake.clock += 5 * MINUTE;
        const calls = any.mock.calls.length;
        expect(await engine.refresh({ periodic: true })).toMatchObject({ kind: 'incremental', changes: 0 });
        sources.push(new Set(any.mock.calls.slice(calls).flatMap(([signals]) => [...signals])));
      }
    } finally {
      any.mockRestore();
    }
    // Three walks, each noted in one exchange, none under a lease.
    expect(noted).toEqual([fake.clock - 10 * MINUTE, fake.clock - 5 * MINUTE, fake.clock]);
    // No signal outlives its walk: a source shared by two walks would keep a WeakRef of each linked signal for good.
    for (const signal of sources[0]!) expect(sources[1]!.has(signal) || sources[2]!.has(signal)).toBe(false);
    expect(sources[0]!.size).toBeGreaterThan(0);
  });

  it('walks in full first, then incrementally, serving each result whole and saving what changed', async () => {
    const store = createMemorySnapshotStore();
    const { engine, feeds } = engineOn({ store });
    expect(engine.hasSnapshot()).toBe(false);
    const first = await engine.refresh();
    expect(first).toMatchObject({ kind: 'full', pages: 2, interviews: 3, changes: 3 });
    expect(engine.hasSnapshot()).toBe(true);
    expect(store.saved.get(fake.integrationId)?.interviews).toHaveLength(3);
    expect(engine.status()).toMatchObject({ running: false, consecutiveFailures: 0, lastSuccess: { kind: 'full', interviews: 3 } });

    fake.clock += 5 * MINUTE;
    const saved = store.saved.get(fake.integrationId);
    const unchanged = await engine.refresh();
    expect(unchanged).toMatchObject({ kind: 'incremental', changes: 0 });
    // Nothing changed: the saved snapshot is the one before (not written again).
    expect(store.saved.get(fake.integrationId)).toBe(saved);

    fake.clock += MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-0001', title: 'Moved', users: [ada] }));
    expect(await engine.refresh()).toMatchObject({ kind: 'incremental', changes: 1 });
    expect(feeds.snapshot()?.byId.get('iv-0001')?.title).toBe('Moved');
    expect(store.saved.get(fake.integrationId)?.syncedAtMs).toBe(fake.clock);
    // Every walk is published, changed or not: its version is the third.
    expect(engine.version()).toBe(3);
  });

  it('serves a walk before its snapshot is saved, and resolves the refresh once it is', async () => {
    const inner = createMemorySnapshotStore();
    let release!: () => void;
    const saving = new Promise<void>((resolve) => (release = resolve));
    const slow: SnapshotStore = { ...inner, save: async (data) => (await saving, inner.save(data)) };
    const { engine, feeds } = engineOn({ store: slow });
    let done = false;
    const refresh = engine.refresh().then(() => (done = true));
    await until(() => feeds.snapshot() !== undefined);
    expect(done).toBe(false);
    expect(inner.saved.size).toBe(0);
    release();
    await refresh;
    expect(inner.saved.size).toBe(1);
  });

  it('restores the last saved snapshot, counts it as no walk, and walks incrementally from it', async () => {
    const store = createMemorySnapshotStore();
    const walkedAt = fake.clock;
    await engineOn({ store }).engine.refresh();
    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;

    const { engine, feeds, logs } = engineOn({ store });
    expect(await engine.restore()).toBe(true);
    expect(feeds.snapshot()?.size).toBe(3);
    expect(logs.lines.find((l) => l.msg === 'restored the last saved snapshot')).toMatchObject({ interviews: 3, syncedAt: new Date(walkedAt).toISOString() });
    // A snapshot an earlier process left says nothing of Kombo now: no last success until a walk.
    expect(engine.status().lastSuccess).toBeUndefined();
    expect(await engine.refresh()).toMatchObject({ kind: 'incremental' });
    expect(fake.requests.map((r) => r.query.updated_after)).toEqual([new Date(walkedAt - MINUTE).toISOString()]);
    // Restored once: a second restore finds nothing newer than what this process walked.
    expect(await engine.restore()).toBe(false);
  });

  it('never skips a periodic refresh with a local coordinator, and a refresh asked during one joins it', async () => {
    const { engine } = engineOn();
    await engine.refresh();
    fake.requests.length = 0;
    fake.clock += MINUTE;
    gate.close();
    const periodic = engine.refresh({ periodic: true });
    const asked = engine.refresh();
    await until(() => fake.requests.length === 1);
    gate.open();
    const [a, b] = await Promise.all([periodic, asked]);
    expect(b).toBe(a);
    expect(a.walkedElsewhere).toBeUndefined();
    expect(fake.requests).toHaveLength(1);
    expect(await engine.refresh({ periodic: true })).toMatchObject({ kind: 'incremental' });
    expect(fake.requests).toHaveLength(2);
  });

  it('keeps the previous snapshot when a walk fails, and says so in its status', async () => {
    const store = createMemorySnapshotStore();
    const { engine, feeds } = engineOn({ store });
    await engine.refresh();
    const served = feeds.snapshot();
    const saved = store.saved.get(fake.integrationId);
    fake.clock += MINUTE;
    fake.fail({ type: 'status', status: 500 }, { times: 100 });
    await expect(engine.refresh()).rejects.toThrow(/500/);
    expect(feeds.snapshot()).toBe(served);
    expect(store.saved.get(fake.integrationId)).toBe(saved);
    expect(engine.status()).toMatchObject({ consecutiveFailures: 1, lastFailure: { kind: 'incremental' }, lastSuccess: { kind: 'full' } });
  });

  it('makes webhooks during a walk into one more walk after it', async () => {
    const { engine } = engineOn();
    await engine.refresh();
    fake.requests.length = 0;
    fake.clock += MINUTE;
    gate.close();
    const walking = engine.refresh();
    await until(() => fake.requests.length === 1);
    for (let n = 0; n < 5; n++) engine.requestRefresh();
    gate.open();
    await walking;
    await until(() => fake.requests.length === 2 && !engine.status().running);
    await new Promise((resolve) => setTimeout(resolve, 120)); // past the interval: still no third walk
    expect(fake.requests).toHaveLength(2);
  });

  it('aborts the walk in flight on close(), counts no failure, and refuses walks after', async () => {
    const { engine } = engineOn();
    fake.fail({ type: 'hang' }, { times: 100 });
    const walking = engine.refresh().catch((error: Error) => error);
    await until(() => fake.requests.length === 1);
    await engine.close();
    expect(String(await walking)).toMatch(/abort/i);
    await expect(engine.refresh()).rejects.toThrow(/closed/);
    engine.requestRefresh();
    expect(engine.status()).toMatchObject({ running: false, consecutiveFailures: 0, lastFailure: undefined });
  });

  describe('with a coordinator other walkers share', () => {
    /** The local coordinator, changed by the test: a store that is down, publishes that fail, what each publish was told. */
    function sharedLike(store = createMemorySnapshotStore()) {
      const { logger } = captureLogger();
      const local = createLocalWalkCoordinator({ store, logger });
      const walks: Array<PublishedWalk | undefined> = [];
      const state = { fail: undefined as Error | undefined, down: false, asks: 0 };
      const coordinator: WalkCoordinator = {
        ...local,
        async acquire(id) {
          state.asks++;
          if (state.down) throw new StoreUnavailableError('Redis did not answer');
          const answer = await local.acquire(id);
          const lease = answer.lease!;
          return {
            ...answer,
            lease: {
              ...lease,
              async publish(data: SnapshotData, walk?: PublishedWalk) {
                walks.push(walk);
                if (state.fail) throw state.fail;
                return lease.publish(data, walk);
              },
            },
          };
        },
      };
      return { coordinator, walks, state };
    }

    it('shares an incremental walk on the version held as its delta, and a full one whole', async () => {
      const { coordinator, walks } = sharedLike();
      const { engine } = engineOn({ coordinator });
      await engine.refresh();
      fake.clock += MINUTE;
      fake.upsert(interviewRecord({ id: 'iv-0001', title: 'Moved', users: [ada] }));
      await engine.refresh();
      expect(walks[0]).toEqual({ full: true, changes: 3 });
      expect(walks[1]).toMatchObject({ full: false, changes: 1, change: { on: { version: 1 } } });
      expect(walks[1]!.change!.delta().updated.map((i) => i.id)).toEqual(['iv-0001']);
    });

    it('serves nothing of a walk whose result the coordinator refuses (a newer lease), and counts no failure', async () => {
      const { coordinator, state } = sharedLike();
      const { engine, feeds, logs, metrics } = engineOn({ coordinator });
      await engine.refresh();
      const served = feeds.snapshot();
      fake.clock += MINUTE;
      fake.upsert(interviewRecord({ id: 'iv-0001', title: 'Moved', users: [ada] }));
      state.fail = new StaleLeaseError(fake.integrationId, 2);
      await expect(engine.refresh()).rejects.toBeInstanceOf(StaleLeaseError);
      expect(feeds.snapshot()).toBe(served);
      expect(engine.status().consecutiveFailures).toBe(0);
      expect(logs.lines.some((l) => l.msg === 'this walk lost its lease; its result is not published')).toBe(true);
      expect(await metrics.registry.metrics()).toMatch(/outcome="lease_lost"\} 1/);
    });

    it('waits for a store it cannot reach, shows it in its status, and asks again every webhook interval until it is back', async () => {
      const { coordinator, state } = sharedLike();
      const { engine, feeds, logs } = engineOn({ coordinator });
      await engine.refresh();
      const served = feeds.snapshot();
      fake.clock += MINUTE;
      fake.requests.length = 0;
      state.down = true;
      const asks = state.asks;
      await expect(engine.refresh()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(engine.status()).toMatchObject({ waitingForStore: true, consecutiveFailures: 0 });
      await until(() => state.asks >= asks + 3);
      expect(fake.requests).toHaveLength(0);
      expect(engine.status().waitingForStore).toBe(true);
      expect(logs.lines.filter((l) => /unreachable: this walk waits for it/.test(String(l.msg)))).toHaveLength(1);
      state.down = false;
      await until(() => engine.status().lastSuccess?.kind === 'incremental');
      expect(engine.status()).not.toHaveProperty('waitingForStore');
      expect(feeds.snapshot()).not.toBe(served);
    });

    it('publishes nothing when the store fails the publish, serves the previous snapshot, and walks again for it', async () => {
      const { coordinator, state, walks } = sharedLike();
      const { engine, feeds, metrics } = engineOn({ coordinator });
      await engine.refresh();
      const served = feeds.snapshot();
      fake.clock += MINUTE;
      fake.upsert(interviewRecord({ id: 'iv-0001', title: 'Moved', users: [ada] }));
      state.fail = new StoreUnavailableError('Redis did not answer');
      await expect(engine.refresh()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(feeds.snapshot()).toBe(served);
      expect(await metrics.registry.metrics()).toMatch(/outcome="redis_unavailable"\} [1-9]/);
      state.fail = undefined;
      await until(() => feeds.snapshot()?.byId.get('iv-0001')?.title === 'Moved');
      expect(walks.length).toBeGreaterThanOrEqual(3);
    });
  });
});
