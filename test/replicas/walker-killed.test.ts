import request from 'supertest';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { postWebhook, signKombo, until } from '../helpers/integrations.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica-process.js';
import { removeReplicaDirs, startInProcessReplica, type InProcessReplica } from '../helpers/replicas.js';
import { feedPath, testEnv } from '../helpers/test-service.js';

const ADA = 'ada@example.com';
const changed = (integrationId: string, id: string) =>
  JSON.stringify({ id, type: 'data-changed', data: { integration_id: integrationId, changed_models: [{ name: 'ats_interviews' }] } });

describeRedis('a replica killed mid-walk', () => {
  let redis: RedisServer;
  let fake: FakeKombo;
  let walker: Replica | undefined;
  let survivor: InProcessReplica | undefined;

  beforeEach(async () => {
    redis = await startRedis();
    fake = await startFakeKombo();
    // The replicas here run on the real clock; the fake's must agree for `updated_after` to mean the same to both.
    fake.clock = Date.now();
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Before', users: [komboUser(ADA)] })]);
  });
  afterEach(async () => {
    await survivor?.stop();
    survivor = undefined;
    await walker?.kill();
    walker = undefined;
    await fake.close();
    await redis.stop();
    removeReplicaDirs();
  });

  it('loses its lease when it dies, and another replica walks the next change within a minute', async () => {
    const env = testEnv(fake, { REDIS_URL: redis.url, SYNC_LEASE_SECONDS: '3', SYNC_INTERVAL_SECONDS: '3600', KOMBO_TIMEOUT_SECONDS: '60' });
    walker = await startReplica(env);
    await until(async () => (await fetch(`${walker!.url}/readyz`)).status === 200, 'the walker ready');
    survivor = await startInProcessReplica(fake, redis.url, { SYNC_LEASE_SECONDS: '3' }, { realClock: true });
    expect(survivor.sync.ready()).toBe(true);
    const title = async () => parseIcs((await request(survivor!.server).get(feedPath(survivor!, ADA)).expect(200)).text).events[0]?.summary;
    expect(await title()).toBe('Before');

    // Kombo stops answering: the walker's next walk takes the lease and hangs on its first page.
    fake.fail({ type: 'hang' }, { times: 1_000 });
    const requests = fake.requests.length;
    const body = changed(fake.integrationId, 'wh-1');
    await fetch(`${walker.url}/webhooks/kombo`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Kombo-Signature': signKombo(body) }, body }).then((res) => expect(res.status).toBe(200));
    await until(() => fake.requests.length > requests, 'the walker asking Kombo');
    const held = await redisGet(`interview-feeds:lease:${fake.integrationId}`);
    expect(held).toMatch(/:\d+$/);

    await walker.kill();
    const killedAt = Date.now();
    fake.clearFaults();
    fake.clock = Date.now();
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'After', users: [komboUser(ADA)] }));
    // The change is told to the survivor while the dead walker's lease still stands: it waits for the lease to run out.
    await postWebhook(survivor, 'data-changed', { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
    await until(async () => (await title()) === 'After', 'the change on the survivor', 60_000);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(60_000);
    // It waited for the lease (3 s) rather than walking beside a walker it could not know was dead.
    expect(tookMs).toBeGreaterThan(1_000);
  }, 90_000);

  async function redisGet(key: string): Promise<string | null> {
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      return await client.get(key);
    } finally {
      client.disconnect();
    }
  }
});
