import request from 'supertest';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRedisHub, type RedisHub } from '../../src/redis/create-redis-hub.js';
import { createRedisSnapshots } from '../../src/redis/redis-snapshots.js';
import { StaleLeaseError } from '../../src/sync/walk-coordinator.js';
import { signKombo, until } from '../helpers/integrations.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import type { FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { inspectRedis, startInProcessReplica, useReplicaCluster, type InProcessReplica } from '../helpers/replicas.js';
import { captureLogger, feedPath } from '../helpers/test-service.js';
import type { SnapshotData } from '../../src/interviews/snapshot.js';

const ADA = 'ada@example.com';
const ID = 'greenhouse:test-integration';
/** A replica that holds no shared snapshot yet. */
const NONE = { version: 0, lineage: '' };

function snapshotData(title: string, syncedAtMs: number): SnapshotData {
  return {
    format: 1,
    integrationId: ID,
    syncedAtMs,
    fullSyncedAtMs: syncedAtMs,
    firstSyncedAtMs: syncedAtMs,
    interviews: [
      { id: 'iv-1', title, startMs: Date.UTC(2026, 11, 1, 10), endMs: Date.UTC(2026, 11, 1, 11), address: null, conferencingUrl: null, candidateName: null, jobName: null, jobId: null, interviewers: [{ email: ADA, name: 'Ada' }], revisionMs: syncedAtMs },
    ],
    feedChangedAtMs: { [ADA]: syncedAtMs },
  };
}

describeRedis('walk leases', () => {
  let redis: RedisServer;
  let hub: RedisHub | undefined;

  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
    await redis.stop();
  });

  it('refuses the result of a walker whose lease another replica took over (fencing), and keeps the newer one', async () => {
    const config = loadConfig({ REDIS_URL: redis.url }).redis!;
    hub = createRedisHub(config, captureLogger().logger);
    await hub.connect(5_000);
    const { coordinator } = createRedisSnapshots({ hub, logger: captureLogger().logger, leaseMs: 60_000 });

    const stale = (await coordinator.acquire(ID)).lease!;
    expect((await coordinator.acquire(ID)).lease).toBeUndefined(); // held: nobody else walks
    // Its holder stalls (a long pause, a partition) past the lease's life: the lease runs out under it.
    await hub.client.del(hub.key(`lease:${ID}`));
    const fresh = (await coordinator.acquire(ID)).lease!;
    expect(fresh.token).toBeGreaterThan(stale.token);
    const { version } = await fresh.publish(snapshotData('Newer walk', 2_000));

    await expect(stale.publish(snapshotData('Stale walk', 1_000))).rejects.toBeInstanceOf(StaleLeaseError);
    const shared = await coordinator.newer(ID, NONE);
    expect(shared?.version).toBe(version);
    expect(shared?.kind === 'whole' && shared.data.interviews[0]?.title).toBe('Newer walk');
    // Releasing the stale lease does not free the fresh one.
    await stale.release();
    expect((await coordinator.acquire(ID)).lease).toBeUndefined();
    await fresh.release();
    const next = (await coordinator.acquire(ID)).lease;
    expect(next).toBeDefined();
    await next!.release();
  });

  it('a lease that cannot be renewed is lost: its walk is told to stop', async () => {
    const config = loadConfig({ REDIS_URL: redis.url }).redis!;
    hub = createRedisHub(config, captureLogger().logger);
    await hub.connect(5_000);
    const { coordinator } = createRedisSnapshots({ hub, logger: captureLogger().logger, leaseMs: 600 });
    const lease = (await coordinator.acquire(ID)).lease!;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(lease.signal.aborted).toBe(false); // renewed every 200 ms
    await hub.client.del(hub.key(`lease:${ID}`));
    await until(() => lease.signal.aborted, 'the lease lost');
    // Nobody took a newer lease, but this one ran out: its result is refused all the same.
    await expect(lease.publish(snapshotData('x', 1))).rejects.toBeInstanceOf(StaleLeaseError);
    expect(await coordinator.newer(ID, NONE)).toBeUndefined();
    await lease.release();
  });

  it('refuses a walker from before Redis restarted empty, though the tokens granted since are lower than its own', async () => {
    const config = loadConfig({ REDIS_URL: redis.url }).redis!;
    hub = createRedisHub(config, captureLogger().logger);
    await hub.connect(5_000);
    const { coordinator } = createRedisSnapshots({ hub, logger: captureLogger().logger, leaseMs: 60_000 });
    for (let n = 0; n < 4; n++) await (await coordinator.acquire(ID)).lease!.release();
    const before = (await coordinator.acquire(ID)).lease!;
    expect(before.token).toBe(5);
    await redis.restart();
    await until(() => hub!.up(), 'reconnected');
    const after = (await coordinator.acquire(ID)).lease!;
    expect(after.token).toBe(1);
    await after.publish(snapshotData('Walked after the restart', 2_000));
    await expect(before.publish(snapshotData('Walked before the restart', 1_000))).rejects.toBeInstanceOf(StaleLeaseError);
    const shared = await coordinator.newer(ID, NONE);
    expect(shared?.kind === 'whole' && shared.data.interviews[0]?.title).toBe('Walked after the restart');
    await after.release();
    await before.release();
  });
});

describeRedis('a walk made without a lease', () => {
  let redis: RedisServer;
  let hub: RedisHub | undefined;
  beforeEach(async () => {
    redis = await startRedis();
    return async () => {
      await hub?.close();
      await redis.stop();
    };
  });

  it('is noted only on the newest version, with no lease taken or needed, and never changes the data', async () => {
    hub = createRedisHub(loadConfig({ REDIS_URL: redis.url }).redis!, captureLogger().logger);
    await hub.connect(5_000);
    const { coordinator } = createRedisSnapshots({ hub, logger: captureLogger().logger, leaseMs: 60_000 });
    // Another replica's, reading what this one wrote.
    const reader = createRedisSnapshots({ hub, logger: captureLogger().logger, leaseMs: 60_000 }).coordinator;
    const first = (await coordinator.acquire(ID)).lease!;
    const on = await first.publish(snapshotData('Walked', 1_000));
    await first.release();
    // Another walker holds the lease now: a walk on the newest version that found nothing is noted all the same.
    const other = (await coordinator.acquire(ID)).lease!;
    expect(await coordinator.noteUnchanged!(ID, on, 5_000)).toBe(true);
    const noted = await reader.newer(ID, on);
    expect(noted).toMatchObject({ kind: 'deltas', deltas: [], version: on.version, syncedAtMs: 5_000 });
    // Once that walker published, a walk made on the version before is not noted: it confirmed an older snapshot.
    const next = await other.publish(snapshotData('Walked again', 6_000));
    await other.release();
    expect(await coordinator.noteUnchanged!(ID, on, 7_000)).toBe(false);
    expect(await coordinator.noteUnchanged!(ID, { version: next.version, lineage: 'another lineage' }, 7_000)).toBe(false);
    const shared = await reader.newer(ID, NONE);
    expect(shared?.kind === 'whole' && shared.data.interviews[0]?.title).toBe('Walked again');
    expect(shared?.syncedAtMs).toBeUndefined();
  });
});

describeRedis('replicas walk as one', () => {
  const cluster = useReplicaCluster(() => [interviewRecord({ id: 'iv-1', title: 'First', users: [komboUser(ADA)] })]);
  const { replicas } = cluster;
  let redis: RedisServer;
  let fake: FakeKombo;
  beforeEach(() => {
    ({ redis, fake } = cluster);
  });

  async function start(count: number, env: Record<string, string> = {}, realClock = false) {
    for (let n = 0; n < count; n++) {
      const replica = await startInProcessReplica(fake, redis.url, env, { realClock });
      replicas.push(replica);
      await until(() => replica.sync.ready(), `replica ${n} ready`);
    }
    return [...replicas];
  }

  const titleOn = async (replica: InProcessReplica) =>
    parseIcs((await request(replica.server).get(feedPath(replica, ADA)).expect(200)).text).events[0]?.summary;

  it('one webhook sent to every replica at once makes one walk, and every replica shows the change', async () => {
    const all = await start(3);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved', users: [komboUser(ADA)] }));
    const before = fake.requests.length;
    const body = JSON.stringify({ id: 'wh-burst-1', type: 'data-changed', data: { integration_id: ID, changed_models: [{ name: 'ats_interviews' }] } });
    const answers = await Promise.all(
      all.map((replica) => request(replica.server).post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', signKombo(body)).send(body)),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    // The id is claimed once in Redis: one replica acts on it, the other two answer as to a replay.
    expect(answers.map((answer) => answer.body.status).sort()).toEqual(['duplicate', 'duplicate', 'refresh-started']);
    for (const replica of all) await until(async () => (await titleOn(replica)) === 'Moved', 'the change everywhere');
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // any walk still to come
    const walks = fake.requests.length - before;
    expect(walks).toBe(1);
  });

  it('distinct webhooks of one change sent to every replica at once make at most two walks', async () => {
    const all = await start(3);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved again', users: [komboUser(ADA)] }));
    const before = fake.requests.length;
    const answers = await Promise.all(
      all.map((replica, n) => {
        const body = JSON.stringify({ id: `wh-distinct-${n}`, type: 'data-changed', data: { integration_id: ID, changed_models: [{ name: 'ats_interviews' }] } });
        return request(replica.server).post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', signKombo(body)).send(body);
      }),
    );
    expect(answers.map((answer) => answer.body.status)).toEqual(['refresh-started', 'refresh-started', 'refresh-started']);
    for (const replica of all) await until(async () => (await titleOn(replica)) === 'Moved again', 'the change everywhere');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const walks = fake.requests.length - before;
    expect(walks).toBeGreaterThanOrEqual(1);
    expect(walks).toBeLessThanOrEqual(2);
  });

  it('POST /admin/sync on any replica walks once and every replica serves the result', async () => {
    const all = await start(3);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Synced', users: [komboUser(ADA)] }));
    const before = fake.requests.length;
    const res = await request(all[2]!.server).post('/admin/sync').set('Authorization', `Bearer ${all[2]!.config.adminToken}`).expect(200);
    expect(res.body.summary.walkedElsewhere).toBeUndefined();
    expect(fake.requests.length - before).toBe(1);
    for (const replica of all) await until(async () => (await titleOn(replica)) === 'Synced', 'the result everywhere');
  });

  it('three replicas refresh on schedule at the rate one instance would, and those that do not walk ask Redis nothing', async () => {
    // SYNC_INTERVAL_SECONDS' least value: over 21 s one instance makes its first walk and two periodic refreshes.
    const replicas = await start(3, { SYNC_INTERVAL_SECONDS: '10' }, true);
    const started = fake.requests.length;
    expect(started).toBe(1);
    // Every command a replica sends about this integration (a lease, a read of the snapshot), scripts' own not counted.
    const monitor = await inspectRedis(replicas[0]!).client.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.includes(fake.integrationId))) sent.push(args[0]!.toLowerCase());
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // MONITOR sees what comes after it is set up
    const watchedFrom = fake.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 21_000));
    const periodic = fake.requests.length - started;
    // Without leases each replica would walk at each of its ticks (six, and catch-ups): one instance makes two or three.
    expect(periodic).toBeGreaterThanOrEqual(1);
    expect(periodic).toBeLessThanOrEqual(3);
    // Each walk that finds nothing: one script, noting it and telling the others (no lease: it writes no data), sent
    // once its request is answered (on a busy machine, maybe after the window).
    const walked = () => fake.requests.length - watchedFrom;
    await until(() => sent.length >= walked(), 'every walk noted');
    const walks = walked();
    monitor.disconnect();
    // The others hear of it and ask nothing when their moment comes, a little later (a quarter interval's spread); two
    // moments a few ms apart may cost one more.
    expect(sent.length).toBeLessThanOrEqual(walks + 2);
  }, 40_000);
});
