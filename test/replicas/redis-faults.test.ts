import request from 'supertest';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin, postWebhook, until } from '../helpers/integrations.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { inspectRedis, removeReplicaDirs, replicaGet, startInProcessReplica, useReplicaCluster, type InProcessReplica } from '../helpers/replicas.js';
import { buildService, feedPath, testEnv } from '../helpers/test-service.js';
import { freePort } from '../helpers/loopback.js';
import { loadConfig } from '../../src/config.js';
import { start } from '../../src/server.js';

const ADA = 'ada@example.com';
const dataChanged = (integrationId: string) => ({ integration_id: integrationId, changed_models: [{ name: 'ats_interviews' }] });

const feed = (replica: InProcessReplica, path = feedPath(replica, ADA)) => replicaGet(replica, path);

const titles = async (replica: InProcessReplica) => parseIcs((await feed(replica)).body).events.map((event) => event.summary);

describeRedis('replicas when Redis fails', () => {
  const cluster = useReplicaCluster(() => [
      interviewRecord({ id: 'iv-1', title: 'First', users: [komboUser(ADA)] }),
      interviewRecord({ id: 'iv-2', title: 'Second', starting_at: '2026-12-02T10:00:00.000Z', ending_at: '2026-12-02T11:00:00.000Z', users: [komboUser(ADA)] }),
    ]);
  const { replicas } = cluster;
  let redis: RedisServer;
  let fake: FakeKombo;
  beforeEach(() => {
    ({ redis, fake } = cluster);
  });

  async function twoReplicas() {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'replica a ready');
    const b = await startInProcessReplica(fake, redis.url);
    replicas.push(b);
    return [a, b] as const;
  }

  it('serves every feed byte for byte while Redis is down, stays ready, says so on /healthz, and walks once Redis is back', async () => {
    const [a, b] = await twoReplicas();
    const before = [await feed(a), await feed(b)];
    expect(before[1]!.body.equals(before[0]!.body)).toBe(true);

    await redis.stop();
    await until(async () => (await request(a.server).get('/healthz')).body.redis?.status === 'down', 'a sees Redis down');
    await until(async () => (await request(b.server).get('/healthz')).body.redis?.status === 'down', 'b sees Redis down');
    for (const replica of [a, b]) {
      const now = await feed(replica);
      expect(now.status).toBe(200);
      expect(now.body.equals(before[0]!.body)).toBe(true);
      expect(now.etag).toBe(before[0]!.etag);
      await request(replica.server).get('/readyz').expect(200);
      const metrics = await request(replica.server).get('/metrics').set('Authorization', `Bearer ${replica.config.adminToken}`).expect(200);
      expect(metrics.text).toMatch(/^interview_feeds_redis_up 0$/m);
    }

    // A change told while Redis is away walks nothing now (no replica can take the lease)...
    const requests = fake.requests.length;
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'First, moved', users: [komboUser(ADA)] }));
    await postWebhook(b, 'data-changed', dataChanged(fake.integrationId)).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(fake.requests.length).toBe(requests);
    // ...an admin change is refused with a clear 503, and nothing of it stays half done.
    const refused = await admin(a, 'post', '/admin/integrations').send({ id: 'other' });
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/Redis/);
    expect(a.sync.get('other')).toBeUndefined();
    expect((await feed(a)).body.equals(before[0]!.body)).toBe(true);

    // Redis comes back empty (it had no persistence): the replicas put back what they hold, then the change walks.
    await redis.restart();
    await until(async () => (await titles(a)).includes('First, moved') && (await titles(b)).includes('First, moved'), 'the change after Redis returned');
    expect((await feed(a)).body.equals((await feed(b)).body)).toBe(true);
    expect((await titles(a)).sort()).toEqual(['First, moved', 'Second']);
    expect((await request(a.server).get('/healthz')).body.redis.status).toBe('up');
    const metrics = await request(a.server).get('/metrics').set('Authorization', `Bearer ${a.config.adminToken}`).expect(200);
    expect(metrics.text).toMatch(/^interview_feeds_redis_up 1$/m);
  });

  it('after Redis restarts empty, a new replica is served from what the others put back, without asking Kombo', async () => {
    const [a, b] = await twoReplicas();
    const before = await feed(a);
    await redis.restart();
    // Put back within the once-a-second check.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const requests = fake.requests.length;
    const c = await startInProcessReplica(fake, redis.url);
    replicas.push(c);
    expect(c.sync.ready()).toBe(true);
    const fromC = await feed(c);
    expect(fromC.status).toBe(200);
    expect(fromC.body.equals(before.body)).toBe(true);
    expect((await feed(b)).body.equals(before.body)).toBe(true);
    expect(fake.requests.length).toBe(requests);
  });

  it('revoking a link on one replica kills it on every replica within 3 s, and an integration added on one is served by all', async () => {
    const [a, b] = await twoReplicas();
    const old = feedPath(a, ADA);
    expect((await feed(b, old)).status).toBe(200);
    await admin(a, 'post', '/admin/feed-url/revoke').send({ integration: fake.integrationId, email: ADA }).expect(200);
    const revokedAt = Date.now();
    await until(async () => (await feed(b, old)).status === 404, 'the old link dead on b');
    expect(Date.now() - revokedAt).toBeLessThan(3_000);

    const other = fake.addIntegration('acme:2', { organization: 'Acme' });
    other.setRecords([interviewRecord({ id: 'x-1', title: 'At Acme', users: [komboUser(ADA)] })]);
    await admin(b, 'post', '/admin/integrations').send({ id: 'acme:2' }).expect(201);
    const path = `/feeds/${a.tokens.encode({ integrationId: 'acme:2', email: ADA })}.ics`;
    await until(async () => (await feed(a, path)).status === 200 && (await feed(b, path)).status === 200, 'the new integration on both');
    expect((await feed(a, path)).body.equals((await feed(b, path)).body)).toBe(true);
    expect(fake.requests.filter((r) => r.integrationId === 'acme:2').length).toBe(1);

    // Who fetched which link is shared too: what b recorded shows on a after both flush.
    await a.fetches.flush();
    await b.fetches.flush();
    expect(a.fetches.get('acme:2', ADA)).toBeDefined();
    const redisOfA = inspectRedis(a);
    const fetchFields = async () => Object.keys(await redisOfA.client.hgetall(redisOfA.key('fetches')));
    expect(await fetchFields()).toContain(`acme:2\n${ADA}`);

    await admin(a, 'delete', '/admin/integrations/acme:2').expect(204);
    await until(async () => (await feed(b, path)).status === 404, 'removed on b too');
    // Nothing of the removed integration stays in Redis: no snapshot, no recorded fetch; b's next flush puts none back.
    await b.fetches.flush();
    expect((await fetchFields()).filter((field) => field.startsWith('acme:2\n'))).toEqual([]);
    expect(await redisOfA.client.hget(redisOfA.key('snap:acme:2'), 'data')).toBeNull();
  });
});

describeRedis('a Redis password', () => {
  it('never reaches a log or an error, even when Redis cannot be reached at start-up', async () => {
    const port = await freePort(); // nothing listens there: Redis cannot be reached
    const fake = await startFakeKombo();
    const secret = 'pa55-word-that-must-stay-secret';
    const config = loadConfig(testEnv(fake, { REDIS_URL: `redis://feeds:${secret}@127.0.0.1:${port}/0`, PORT: '0', HOST: '127.0.0.1' }));
    const service = buildService(config);
    const { logs } = service;
    const failed = await start(config, service.logger, service, { redisConnectTimeoutMs: 1_500 }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    await fake.close();
    expect(failed?.message).toMatch(/cannot reach Redis at redis:\/\/redacted:redacted@127\.0\.0\.1/);
    expect(failed?.message).not.toContain(secret);
    expect(logs.raw.length).toBeGreaterThan(0);
    for (const line of logs.raw) expect(line).not.toContain(secret);
    // A bad REDIS_URL is named, not echoed.
    expect(() => loadConfig(testEnv(fake, { REDIS_URL: `http://feeds:${secret}@example.com` }))).toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    try {
      loadConfig(testEnv(fake, { REDIS_URL: `http://feeds:${secret}@example.com` }));
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(secret);
    }
  });
});

describeRedis('a Redis that hangs', () => {
  let redis: RedisServer;
  let fake: FakeKombo;
  let replica: InProcessReplica | undefined;

  afterEach(async () => {
    if (redis.pid !== undefined) process.kill(redis.pid, 'SIGCONT');
    await replica?.stop();
    await fake.close();
    await redis.stop();
    removeReplicaDirs();
  });

  it('connected but silent (SIGSTOP): commands time out, feeds serve on, /healthz says down, then up once it answers', async () => {
    redis = await startRedis();
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'First', users: [komboUser(ADA)] })]);
    replica = await startInProcessReplica(fake, redis.url);
    await until(() => replica!.sync.ready(), 'ready');
    const before = await feed(replica);
    process.kill(redis.pid!, 'SIGSTOP');
    await until(async () => (await request(replica!.server).get('/healthz')).body.redis?.status === 'down', 'down on /healthz', 10_000);
    const during = await feed(replica);
    expect(during.status).toBe(200);
    expect(during.body.equals(before.body)).toBe(true);
    await request(replica.server).get('/readyz').expect(200);
    // An admin change gets a clear 503 within the command timeout, not a request hanging as long as Redis does.
    const refused = await admin(replica, 'post', '/admin/integrations').send({ id: 'other' });
    expect(refused.status).toBe(503);
    process.kill(redis.pid!, 'SIGCONT');
    await until(async () => (await request(replica!.server).get('/healthz')).body.redis?.status === 'up', 'up again', 10_000);
    // The timed-out write may still have reached Redis when it woke (a timeout cannot tell): asked again, the add is
    // answered either way, and the registry holds it once.
    const again = await admin(replica, 'post', '/admin/integrations').send({ id: 'other' });
    expect([200, 201]).toContain(again.status);
    await until(() => replica!.sync.get('other') !== undefined, 'other served');
    expect(replica.registry.list().filter((entry) => entry.id === 'other')).toHaveLength(1);
  });
});
