import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import type { FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { until } from '../helpers/integrations.js';
import { describeRedis, type RedisServer } from '../helpers/redis-server.js';
import { inspectRedis, replicaGet, startInProcessReplica, useReplicaCluster, type InProcessReplica } from '../helpers/replicas.js';
import { feedPath } from '../helpers/test-service.js';
import { REVOCATIONS_CONFIRM_WINDOW_MS } from '../../src/feeds/link-generations.js';
import { linkSubjectKey } from '../../src/feeds/feed-links.js';

/** Calls per command since the server started, from INFO commandstats (commands run by scripts included). */
async function commandCounts(replica: InProcessReplica): Promise<Map<string, number>> {
  const text = await inspectRedis(replica).client.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) counts.set(match[1]!, Number(match[2]));
  return counts;
}

describeRedis('replica mode: costs follow what changed', () => {
  const cluster = useReplicaCluster(() => [
    interviewRecord({ id: 'iv-1', title: 'First', users: [komboUser('ada@example.com')] }),
    interviewRecord({ id: 'iv-2', title: 'Second', starting_at: '2026-12-02T10:00:00Z', ending_at: '2026-12-02T11:00:00Z', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
  ]);
  const { replicas } = cluster;
  let redis: RedisServer;
  let fake: FakeKombo;
  beforeEach(() => {
    ({ redis, fake } = cluster);
  });

  const feed = (replica: InProcessReplica, email = 'ada@example.com') => replicaGet(replica, feedPath(replica, email));

  /** Two replicas on the test's Redis, each ready (the first walked, the second took its walk in). */
  async function twoReplicas(): Promise<[InProcessReplica, InProcessReplica]> {
    const started: InProcessReplica[] = [];
    for (const name of ['first', 'second']) {
      const replica = await startInProcessReplica(fake, redis.url);
      replicas.push(replica);
      started.push(replica);
      await until(() => replica.sync.ready(), `${name} replica ready`);
    }
    return [started[0]!, started[1]!];
  }

  /**
   * Every command Redis runs for this integration from now on: those a replica sends (by name) and, indented, those
   * a script runs (MONITOR shows both).
   */
  async function watchCommands(replica: InProcessReplica) {
    const monitor = await inspectRedis(replica).client.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua' || args.some((arg) => arg.includes(fake.integrationId))) seen.push(source === 'lua' ? `  ${args[0]!.toLowerCase()}` : args[0]!.toLowerCase());
    });
    return { monitor, seen };
  }

  it('an unchanged refresh writes no snapshot, no delta and no versioned notice; the other replica hears its time at once', async () => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const b = await startInProcessReplica(fake, redis.url);
    replicas.push(b);
    const inspect = inspectRedis(a);
    const snap = inspect.key(`snap:${fake.integrationId}`);
    const before = await inspect.client.hgetall(snap);
    const counts = await commandCounts(a);

    fake.clock += 60_000;
    const walkedAt = fake.clock;
    const requests = fake.requests.length;
    expect(await a.sync.refresh()).toMatchObject({ kind: 'incremental', changes: 0 });
    expect(fake.requests.length).toBe(requests + 1);

    const after = await commandCounts(a);
    const calls = (name: string) => (after.get(name) ?? 0) - (counts.get(name) ?? 0);
    // One message tells the others the walk's time (nothing for them to read), nothing was appended, and the snapshot is
    // the same version and bytes.
    expect(calls('publish')).toBe(1);
    expect(calls('rpush')).toBe(0);
    const now = await inspect.client.hgetall(snap);
    expect(now.v).toBe(before.v);
    expect(now.data).toBe(before.data);
    expect(await inspect.client.llen(inspect.key(`snapdeltas2:${fake.integrationId}`))).toBe(0);
    // The lease (taken, read, given back with the walk's time noted): three scripts, whatever the organisation's size.
    expect(calls('eval') + calls('evalsha')).toBeLessThanOrEqual(3);

    // The other replica took in that walk's time without reading anything...
    await until(() => b.feeds.snapshot(fake.integrationId)?.data.syncedAtMs === walkedAt, 'the other replica heard of the walk');
    // ...and its next walk asks Kombo for what changed since that walk, not since the last published one.
    fake.clock += 60_000;
    await b.sync.refresh();
    expect(fake.requests.at(-1)?.query.updated_after).toBe(new Date(walkedAt - 60_000).toISOString());
    expect((await feed(b)).body.equals((await feed(a)).body)).toBe(true);
  });

  it('an unchanged refresh costs Redis two scripts: the lease taken (with the version to catch up on) and given back with its time', async () => {
    const [a, b] = await twoReplicas();
    fake.clock += 60_000;
    await a.sync.refresh(); // the first walk on this version notes its time; the next one is like every idle walk after it

    const { monitor, seen } = await watchCommands(a);
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.clock += 60_000;
    const requests = fake.requests.length;
    expect(await a.sync.refresh()).toMatchObject({ kind: 'incremental', changes: 0 });
    expect(fake.requests.length).toBe(requests + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    monitor.disconnect();

    // Taking the lease: its script, the time, the check, the token, the lease, the version held (5 inside). Giving it
    // back: its script, the check, the delete, the version, the time noted and told (5 inside). Nothing else: no read
    // of the snapshot, no versioned notice, no write of data.
    expect(seen.filter((command) => !command.startsWith(' '))).toEqual(['eval', 'eval']);
    expect(seen).toHaveLength(12);
    expect(seen.filter((command) => command === '  publish')).toHaveLength(1);
    expect(seen).not.toContain('  hgetall');
    // The other replica serves the same bytes.
    expect((await feed(b)).body.equals((await feed(a)).body)).toBe(true);
  });

  it('a periodic refresh that finds nothing costs Redis one script and no lease; one that finds a change publishes it under the lease', async () => {
    const [a, b] = await twoReplicas();
    const engine = a.sync.get(fake.integrationId)!.engine;

    const { monitor, seen } = await watchCommands(a);
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.clock += 3_600_000; // SYNC_INTERVAL_SECONDS here: a periodic refresh comes after an interval
    const walkedAt = fake.clock;
    const requests = fake.requests.length;
    expect(await engine.refresh({ periodic: true })).toMatchObject({ kind: 'incremental', changes: 0 });
    expect(fake.requests.length).toBe(requests + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // One script: the version checked, the walk's time noted, the others told. No lease, no token, no read.
    expect(seen).toEqual(['eval', '  hmget', '  hset', '  publish']);
    await until(() => b.feeds.snapshot(fake.integrationId)?.data.syncedAtMs === walkedAt, 'the other replica heard of the walk');
    // Its own periodic refresh, due now, asks neither Redis nor Kombo.
    seen.length = 0;
    expect(await b.sync.get(fake.integrationId)!.engine.refresh({ periodic: true })).toMatchObject({ walkedElsewhere: true, requests: 0 });
    expect(fake.requests.length).toBe(requests + 1);
    expect(seen).toEqual([]);

    // A change found by a periodic walk (no webhook told of it) is walked again under the lease and published.
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved', users: [komboUser('ada@example.com')] }));
    fake.clock += 3_600_000; // SYNC_INTERVAL_SECONDS here: a periodic refresh comes after an interval
    seen.length = 0;
    expect(await engine.refresh({ periodic: true })).toMatchObject({ kind: 'incremental', changes: 1 });
    await until(async () => parseIcs((await feed(b)).body).events[0]?.summary === 'Moved', 'the other replica shows the change');
    // The walk that found it noted nothing; then the lease was taken, the change published as a delta and the lease
    // given back (the other replica read it).
    const scripts = seen.filter((command) => !command.startsWith(' '));
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    expect(seen).toContain('  rpush');
    expect(seen).toContain('  set');
    monitor.disconnect();
  });

  it('asks Redis nothing for its revocations while no feed is asked for; the first feed after a quiet spell waits for one read, not a 503', async () => {
    const [a, b] = await twoReplicas();
    expect((await feed(b)).status).toBe(200);
    const lastFeedAtMs = Date.now();
    // A window after its last feed, the replica stops confirming: it reads nothing for the revocations.
    await new Promise((resolve) => setTimeout(resolve, REVOCATIONS_CONFIRM_WINDOW_MS + 1_000));
    const monitor = await inspectRedis(a).client.monitor();
    const reads: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'get' && args[1]?.endsWith('links:v')) reads.push(args[1]);
    });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reads).toEqual([]);
    // Its last confirmation runs out a window after that.
    await new Promise((resolve) => setTimeout(resolve, lastFeedAtMs + 2 * REVOCATIONS_CONFIRM_WINDOW_MS + 500 - Date.now()));

    // A calendar asks: the revocations are confirmed with one read, and the feed is served, not refused.
    const served = await feed(b);
    expect(served.status).toBe(200);
    expect(parseIcs(served.body).events.map((event) => event.summary)).toEqual(['First']);
    expect(reads).toHaveLength(1);
    // A link revoked on the other replica is refused here at once.
    const link = feedPath(b, 'ada@example.com');
    await a.links.bump(fake.integrationId, linkSubjectKey({ email: 'ada@example.com' }));
    await until(async () => (await replicaGet(b, link)).status === 404, 'the revoked link is refused on the other replica');
    monitor.disconnect();
  }, 40_000);

  it.each<[string, (data: Buffer) => { data: Buffer; sum?: string }]>([
    ['not whole (a byte of the stored data changed)', (data: Buffer) => ({ data: Buffer.concat([data.subarray(0, 20), Buffer.from([data[20]! ^ 0xff]), data.subarray(21)]) })],
    ['not ours (gzipped JSON of another shape, with a matching sum)', () => {
      const data = gzipSync(JSON.stringify({ format: 1, hello: 'world' }));
      return { data, sum: createHash('sha256').update(data).digest('hex') };
    }],
  ])('a stored snapshot %s is never served: a replica walks instead, and never serves an empty feed', async (_name, spoil) => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const good = await feed(a);
    const inspect = inspectRedis(a);
    const snap = inspect.key(`snap:${fake.integrationId}`);
    const stored = (await inspect.client.hgetallBuffer(snap)) as Record<string, Buffer>;
    const spoilt = spoil(stored.data!);
    await inspect.client.hset(snap, 'data', spoilt.data, ...(spoilt.sum !== undefined ? ['sum', spoilt.sum] : []));

    const requests = fake.requests.length;
    const late = await startInProcessReplica(fake, redis.url);
    replicas.push(late);
    await until(() => late.sync.ready(), 'the late replica walked');
    expect(fake.requests.length).toBeGreaterThan(requests);
    const served = await feed(late);
    expect(served.status).toBe(200);
    expect(parseIcs(served.body).events.map((event) => event.summary)).toEqual(['First']);
    expect(served.body.equals(good.body)).toBe(true);
  });
});
