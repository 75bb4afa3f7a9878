import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSecretLimiter, SECRET_FAILURES_PER_WINDOW } from '../../src/http/limits/secret-limiter.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createRedisState } from '../../src/redis/create-redis-state.js';
import { createEmbeddedState } from '../../src/state/create-embedded-state.js';
import type { HeldSnapshot, StateBundle, StateListeners } from '../../src/state/state-bundle.js';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';
import { snapshotData } from '../helpers/factories.js';
import { until } from '../helpers/integrations.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { captureLogger, type CapturedLogs } from '../helpers/test-service.js';

const ID = 'greenhouse:acme';
const REGISTRY = { format: 1 as const, nextSeq: 1, integrations: [], removed: [{ id: 'lever:gone', removedAtMs: 5 }] };
const GENERATIONS = { format: 1 as const, generations: { [ID]: { 'p:ada@example.com': 2 } } };

/** Listeners that record each call; `failFirst` makes the first call of a kind reject. */
function recorder(held: HeldSnapshot[] = [], failFirst = new Set<string>()) {
  const calls: string[] = [];
  const record = (call: string) => {
    calls.push(call);
    if (failFirst.delete(call.split(' ')[0]!)) return Promise.reject(new Error('a read failed'));
    return Promise.resolve();
  };
  const listeners: StateListeners = {
    registryChanged: () => record('registry'),
    linksChanged: () => record('links'),
    snapshotChanged: (integrationId, version) => record(`snapshot ${integrationId} ${version}`),
    snapshotWalked: (integrationId) => record(`walked ${integrationId}`),
    storeUp: () => void calls.push('up'),
    heldSnapshots: () => (calls.push('held'), held),
  };
  return { calls, listeners };
}

describeRedis('the Redis state bundle', () => {
  let redis: RedisServer;
  let dataDir: string;
  let states: StateBundle[] = [];
  beforeEach(async () => {
    redis = await startRedis();
    dataDir = await mkdtemp(join(tmpdir(), 'redis-state-'));
  });
  afterEach(async () => {
    for (const state of states) await state.close();
    states = [];
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** One replica's bundle on the test's Redis, connected; `dir` is its DATA_DIR (seeds). */
  async function bundle(options: { dir?: string; metrics?: Metrics; logs?: (logs: CapturedLogs) => void } = {}): Promise<StateBundle> {
    const { logger, logs } = captureLogger();
    options.logs?.(logs);
    const state = createRedisState({
      redis: { url: redis.url, keyPrefix: 'test:', timeoutMs: 1_000, leaseMs: 5_000 },
      dataDir: options.dir ?? dataDir,
      logger,
      metrics: options.metrics ?? createMetrics({ defaults: false }),
    });
    states.push(state);
    await state.connect(5_000);
    return state;
  }

  it('shares page sessions, sign-ins in progress and webhook ids between replicas', async () => {
    const [a, b] = [await bundle(), await bundle()];
    const now = () => 0;
    const session = await a.sessions({ ttlMs: 60_000, now }).create({ admin: false, email: 'ada@example.com', emailVerified: true });
    expect(await b.sessions({ ttlMs: 60_000, now }).get(session.id)).toEqual(session);
    await b.sessions({ ttlMs: 60_000, now }).delete(session);
    expect(await a.sessions({ ttlMs: 60_000, now }).get(session.id)).toBeUndefined();

    const login = { verifier: 'v', nonce: 'n', next: 'admin' as const, expiresAtMs: 60_000 };
    await a.pendingSignIns().hold('state-1', login, 0);
    expect(await b.pendingSignIns().take('state-1')).toEqual(login);
    expect(await a.pendingSignIns().take('state-1')).toBeUndefined(); // taken once, everywhere

    const [idsA, idsB] = [a.webhookIds({ now }), b.webhookIds({ now })];
    expect(await idsA.claim('evt-1')).toBe(false);
    expect(await idsB.claim('evt-1')).toBe(true); // delivered to the other replica too: a replay
    await idsA.release('evt-1'); // its event failed on a: Kombo's retry must be handled, wherever it lands
    expect(await b.webhookIds({ now }).claim('evt-1')).toBe(false);
  });

  it('counts wrong admin tokens once for every replica: a client spreading guesses over them gets no more than from one', async () => {
    const [a, b] = [await bundle(), await bundle()];
    const limiter = createSecretLimiter({ counters: a.counters, now: () => 0 });
    for (let n = 0; n < SECRET_FAILURES_PER_WINDOW; n++) expect(await limiter.check('10.0.0.1', 'wrong', 'right-token')).toEqual({ result: 'wrong' });
    expect(await limiter.check('10.0.0.1', 'right-token', 'right-token')).toMatchObject({ result: 'refused' });
    const other = createSecretLimiter({ counters: b.counters, now: () => 0 });
    expect(await other.check('10.0.0.1', 'right-token', 'right-token')).toMatchObject({ result: 'refused' });
    expect(await other.check('10.0.0.2', 'right-token', 'right-token')).toEqual({ result: 'right' });
  });

  it('seeds the registry, revocations and snapshots from DATA_DIR once, then reads them from Redis', async () => {
    const files = createEmbeddedState({ dataDir });
    await files.registry.save(REGISTRY);
    await files.links.save(GENERATIONS);
    await files.snapshots.save(snapshotData(ID, 'From the file', 1_000));
    const first = await bundle();
    expect(await first.registry.load()).toEqual(REGISTRY);
    expect(await first.links.load()).toEqual(GENERATIONS);
    expect((await first.snapshots.load(ID))?.interviews[0]?.title).toBe('From the file');
    const elsewhere = await bundle({ dir: join(dataDir, 'empty') }); // another replica, with nothing on disk
    expect(await elsewhere.registry.load()).toEqual(REGISTRY);
    expect(await elsewhere.links.load()).toEqual(GENERATIONS);
    expect((await elsewhere.snapshots.load(ID))?.interviews[0]?.title).toBe('From the file');
  });

  it('shows its health under "redis", down while Redis is away and up once back; the metric follows', async () => {
    const metrics = createMetrics({ defaults: false });
    const state = await bundle({ metrics });
    const gauge = async () => (await metrics.registry.getSingleMetric('interview_feeds_redis_up')!.get()).values[0]?.value;
    expect(state.health?.name).toBe('redis');
    expect(state.health?.health().status).toBe('up');
    expect(await gauge()).toBe(1);
    await redis.stop();
    await until(() => state.health?.health().status === 'down', 'down');
    expect(await gauge()).toBe(0);
    await expect(state.registry.load()).rejects.toThrow(StoreUnavailableError);
    await redis.restart();
    await until(() => state.health?.health().status === 'up', 'up again', 10_000);
    expect(await gauge()).toBe(1);
  });

  it('tells a watcher of what another replica changed, and asks again for a change it could not act on', async () => {
    let logs: CapturedLogs | undefined;
    const [a, b] = [await bundle(), await bundle({ logs: (captured) => (logs = captured) })];
    const { calls, listeners } = recorder([], new Set(['snapshot']));
    b.watch(listeners);
    await a.registry.load();
    await a.registry.save(REGISTRY);
    await until(() => calls.includes('registry'), 'the registry change');
    await a.links.load();
    await a.links.save(GENERATIONS);
    await until(() => calls.includes('links'), 'the revocation');
    const { lease } = await a.coordinator(captureLogger().logger).acquire(ID);
    const { version } = await lease!.publish(snapshotData(ID, 'Walked on a', 1_000));
    await lease!.release();
    // The first call failed (a read that failed): the once-a-second check gives it again.
    await until(() => calls.filter((call) => call === `snapshot ${ID} ${version}`).length >= 2, 'the snapshot, twice', 5_000);
    expect(logs!.lines.some((line) => line.msg === 'could not take in a shared snapshot; trying again within a second')).toBe(true);
    expect(calls).not.toContain('held');
  });

  it('puts back the registry, the revocations and every snapshot a watcher holds when Redis lost its data', async () => {
    const writer = await bundle();
    await writer.registry.load();
    await writer.registry.save(REGISTRY);
    await writer.links.load();
    await writer.links.save(GENERATIONS);
    const holder = await bundle();
    await holder.registry.load();
    await holder.links.load();
    const held = [{ integrationId: ID, data: snapshotData(ID, 'Held here', 2_000), version: 3 }];
    const { calls, listeners } = recorder(held);
    holder.watch(listeners);

    await redis.restart(); // empty: no persistence
    await until(() => calls.includes('held'), 'the put-back', 10_000);
    const fresh = await bundle({ dir: join(dataDir, 'empty') });
    await until(async () => (await fresh.snapshots.load(ID).catch(() => undefined)) !== undefined, 'the snapshot back', 5_000);
    expect(await fresh.registry.load()).toEqual(REGISTRY);
    expect(await fresh.links.load()).toEqual(GENERATIONS);
    expect((await fresh.snapshots.load(ID))?.interviews[0]?.title).toBe('Held here');
  });

  it('refuses to start when Redis cannot be reached in time', async () => {
    await redis.stop();
    const { logger } = captureLogger();
    const state = createRedisState({ redis: { url: redis.url, keyPrefix: 'test:', timeoutMs: 200, leaseMs: 5_000 }, dataDir, logger, metrics: createMetrics({ defaults: false }) });
    states.push(state);
    await expect(state.connect(500)).rejects.toThrow(StoreUnavailableError);
    await redis.restart(); // afterEach stops it
  });
});
