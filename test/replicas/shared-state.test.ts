import { gunzipSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import type { SnapshotData } from '../../src/interviews/snapshot.js';
import { beforeEach, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import type { FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { postWebhook, until } from '../helpers/integrations.js';
import { describeRedis, type RedisServer } from '../helpers/redis-server.js';
import { inspectRedis, replicaGet, startInProcessReplica, useReplicaCluster, type InProcessReplica } from '../helpers/replicas.js';
import { feedPath } from '../helpers/test-service.js';
import { signIn } from '../admin-page/page-fixtures.js';

describeRedis('replicas on one Redis', () => {
  const cluster = useReplicaCluster(() => [interviewRecord({ id: 'iv-1', title: 'First', users: [komboUser('ada@example.com')] })]);
  const { replicas } = cluster;
  let redis: RedisServer;
  let fake: FakeKombo;
  beforeEach(() => {
    ({ redis, fake } = cluster);
  });

  const feed = (replica: InProcessReplica, email = 'ada@example.com') => replicaGet(replica, feedPath(replica, email));

  it('three replicas serve identical feeds from one walk, and a fourth started late asks Kombo nothing', async () => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const walked = fake.requests.length;
    expect(walked).toBe(1);
    for (let n = 0; n < 2; n++) replicas.push(await startInProcessReplica(fake, redis.url));
    const first = await feed(a);
    expect(first.status).toBe(200);
    expect(parseIcs(first.body).events.map((event) => event.summary)).toEqual(['First']);
    for (const replica of replicas) {
      expect(replica.sync.ready()).toBe(true);
      const served = await feed(replica);
      expect(served.body.equals(first.body)).toBe(true);
      expect(served.etag).toBe(first.etag);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const late = await startInProcessReplica(fake, redis.url);
    replicas.push(late);
    expect(late.sync.ready()).toBe(true);
    expect((await feed(late)).body.equals(first.body)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // its catch-up refresh comes and finds the snapshot fresh
    expect(fake.requests.length).toBe(walked);
    expect(fake.describeRequests.length).toBe(1);
  });

  it('a webhook to one replica reaches the feeds of every replica within 3 s', async () => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const b = await startInProcessReplica(fake, redis.url);
    replicas.push(b);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved', users: [komboUser('ada@example.com')] }));
    const before = fake.requests.length;
    await postWebhook(a, 'data-changed', { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
    const sentAt = Date.now();
    await until(async () => parseIcs((await feed(b)).body).events[0]?.summary === 'Moved', 'the change on replica b');
    expect(Date.now() - sentAt).toBeLessThan(3_000);
    expect((await feed(a)).body.equals((await feed(b)).body)).toBe(true);
    expect(fake.requests.length - before).toBe(1);
  });

  it('keeps its deltas from replicas of the release before (which read a delta’s tables as whole), and reads theirs whole', async () => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const redisOfA = inspectRedis(a);
    const key = (name: string) => redisOfA.key(`${name}:${fake.integrationId}`);
    // A delta of ours goes in the new list only: a replica of the release before never finds it.
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved', users: [komboUser('ada@example.com')] }));
    await postWebhook(a, 'data-changed', { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
    await until(async () => (await redisOfA.client.llen(key('snapdeltas2'))) === 1, 'a delta published');
    expect(await redisOfA.client.llen(key('snapdeltas'))).toBe(0);
    // A replica of the release before appends a delta of its own (whole tables, made on the stored data): a replica of
    // ours reads the data and that delta, not our delta made before it, and our next walk is shared whole.
    const stored = JSON.parse(gunzipSync(await redisOfA.client.hgetBuffer(key('snap'), 'data') as Buffer).toString('utf8')) as SnapshotData;
    const earlier = {
      updated: [{ ...stored.interviews[0]!, title: 'Written by the release before', revisionMs: stored.interviews[0]!.revisionMs + 1000 }],
      removed: [],
      touchedEmails: ['ada@example.com'],
      syncedAtMs: stored.syncedAtMs + 1,
      fullSyncedAtMs: stored.fullSyncedAtMs,
      firstSyncedAtMs: stored.firstSyncedAtMs,
      feedChangedAtMs: { ...stored.feedChangedAtMs, 'ada@example.com': stored.syncedAtMs + 1 },
      formerNames: {},
    };
    await redisOfA.client.rpush(key('snapdeltas'), gzipSync(JSON.stringify(earlier)));
    await redisOfA.client.hincrby(key('snap'), 'v', 1);
    const requests = fake.requests.length;
    const late = await startInProcessReplica(fake, redis.url);
    replicas.push(late);
    expect(parseIcs((await feed(late)).body).events.map((event) => event.summary)).toEqual(['Written by the release before']);
    expect(fake.requests.length).toBe(requests);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved again', users: [komboUser('ada@example.com')] }));
    await postWebhook(late, 'data-changed', { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
    await until(async () => parseIcs((await feed(a)).body).events.some((event) => event.summary === 'Moved again'), 'the next walk everywhere');
    expect([await redisOfA.client.llen(key('snapdeltas')), await redisOfA.client.llen(key('snapdeltas2'))]).toEqual([0, 0]);
  });

  it('shares a small change as a delta, a full walk whole, and a replica that missed deltas reads the snapshot and every delta', async () => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const b = await startInProcessReplica(fake, redis.url);
    replicas.push(b);
    const redisOfA = inspectRedis(a);
    const key = (name: string) => redisOfA.key(`${name}:${fake.integrationId}`);
    const whole = async () => redisOfA.client.hget(key('snap'), 'data');
    const deltas = async () => redisOfA.client.llen(key('snapdeltas2'));
    const firstWhole = await whole();
    expect(await deltas()).toBe(0);

    for (const [n, title] of ['Moved once', 'Moved twice'].entries()) {
      fake.clock += 60_000;
      fake.upsert(interviewRecord({ id: 'iv-1', title, users: [komboUser('ada@example.com')] }));
      fake.upsert(interviewRecord({ id: `iv-new-${n}`, title: `New ${n}`, users: [komboUser('ada@example.com'), komboUser('grace@example.com', 'Grace', 'Hopper')] }));
      await postWebhook(n === 0 ? a : b, 'data-changed', { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
      await until(async () => parseIcs((await feed(n === 0 ? b : a)).body).events.some((event) => event.summary === title), `change ${n} on the other replica`);
    }
    // Two incremental walks: two deltas, and the whole snapshot untouched.
    expect(await deltas()).toBe(2);
    expect(await whole()).toBe(firstWhole);
    for (const email of ['ada@example.com', 'grace@example.com']) {
      const fromA = await feed(a, email);
      expect((await feed(b, email)).body.equals(fromA.body)).toBe(true);
      expect(parseIcs(fromA.body).events.length).toBeGreaterThan(0);
    }
    // A replica started now reads the snapshot and both deltas: the same bytes, and no Kombo request.
    const requests = fake.requests.length;
    const late = await startInProcessReplica(fake, redis.url);
    replicas.push(late);
    for (const email of ['ada@example.com', 'grace@example.com']) expect((await feed(late, email)).body.equals((await feed(a, email)).body)).toBe(true);
    expect(fake.requests.length).toBe(requests);

    // A full walk is shared whole and empties the list; every replica reads it.
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Moved by a full walk', users: [komboUser('ada@example.com')] }));
    await request(late.server).post('/admin/sync?full=true').set('Authorization', `Bearer ${late.config.adminToken}`).expect(200);
    expect(await deltas()).toBe(0);
    expect(await whole()).not.toBe(firstWhole);
    for (const replica of [a, b]) {
      await until(async () => parseIcs((await feed(replica)).body).events.some((event) => event.summary === 'Moved by a full walk'), 'the full walk everywhere');
      expect((await feed(replica)).body.equals((await feed(late)).body)).toBe(true);
    }
  });

  it('an admin page sign-in on one replica holds on every replica, and signing out ends it everywhere', async () => {
    const a = await startInProcessReplica(fake, redis.url);
    replicas.push(a);
    await until(() => a.sync.ready(), 'first replica ready');
    const b = await startInProcessReplica(fake, redis.url);
    replicas.push(b);
    const { cookie, csrf } = await signIn(a);
    await request(b.server).get('/admin').set('Cookie', cookie).expect(200);
    await request(b.server).post('/admin/sign-out').set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303);
    const after = await request(a.server).get('/admin').set('Cookie', cookie);
    expect(after.text).not.toContain(csrf);
  });
});
