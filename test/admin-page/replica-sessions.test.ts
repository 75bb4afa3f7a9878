import { hash } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { SESSIONS_PER_EMAIL_MAX } from '../../src/state/page-sessions.js';
import { createApp } from '../../src/http/create-app.js';
import { createOidcSignIn, OidcSignInError } from '../../src/http/oidc/oidc-sign-in.js';
import { createRedisState } from '../../src/redis/create-redis-state.js';
import { createRedisAdminSessions } from '../../src/redis/redis-admin-sessions.js';
import { createRedisPendingSignIns } from '../../src/redis/redis-pending-sign-ins.js';
import type { SignInRedis } from '../../src/redis/sign-in-store.js';
import type { StateBundle } from '../../src/state/state-bundle.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { oidcEnv, signInThroughProvider, startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { until } from '../helpers/integrations.js';
import { startRedis, describeRedis, type RedisServer } from '../helpers/redis-server.js';
import { ADMIN_TOKEN, buildTestService, PUBLIC_URL } from '../helpers/test-service.js';
import { csrfIn, pageRecords, signIn } from './page-fixtures.js';

const PREFIX = 'test-deployment:';
const HOUR = 3_600_000;
const STORE_DOWN = 'The sign-in store is unavailable right now, try again in a moment.';

describeRedis('page sessions and OIDC sign-ins shared by replicas through Redis', () => {
  let server: RedisServer;
  let idp: IdentityProvider;
  let fake: FakeKombo;
  let clients: Redis[] = [];
  let states: StateBundle[] = [];

  beforeAll(async () => {
    [server, idp] = await Promise.all([startRedis(), startIdentityProvider([`${PUBLIC_URL}/auth/callback`])]);
  });
  afterAll(async () => {
    await Promise.all([server.stop(), idp.close()]);
  });
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    await (await connect()).flushall();
  });
  afterEach(async () => {
    for (const client of clients) client.disconnect();
    clients = [];
    for (const state of states) await state.close();
    states = [];
    await fake.close();
  });

  /** A connection of the test's own (the replicas' own come from their state bundles): commands fail fast while Redis is away. */
  async function connect(options: { commandTimeout?: number } = { commandTimeout: 2000 }): Promise<Redis> {
    const client = new Redis(server.url, { enableOfflineQueue: false, ...options, maxRetriesPerRequest: 1, lazyConnect: false });
    client.on('error', () => {}); // a stopped Redis is what some tests are about
    clients.push(client);
    if (client.status !== 'ready') await once(client, 'ready');
    return client;
  }
  const shared = (client: Redis): SignInRedis => ({ client, key: (name) => `${PREFIX}${name}` });
  /** Waits for a replica's connection to be back after Redis restarted. */
  const ready = (state: StateBundle) => until(() => state.health?.health().status === 'up', 'Redis back');

  /**
   * One replica: its own service (memory everything else), and an app whose pages keep their state in Redis, through
   * the Redis state bundle and its own connection to the one Redis.
   */
  async function replica(options: { commandTimeout?: number } = {}) {
    const service = buildTestService(fake, { env: oidcEnv(idp) });
    await service.sync.refresh();
    const redis = { url: server.url, keyPrefix: PREFIX, timeoutMs: options.commandTimeout ?? 2000, leaseMs: 30_000 };
    const state = createRedisState({ redis, dataDir: service.config.dataDir, logger: service.logger, metrics: service.metrics });
    states.push(state);
    await state.connect(5_000);
    const app = createApp({
      feeds: service.feeds,
      sync: service.sync,
      registry: service.registry,
      tokens: service.tokens,
      links: service.links,
      fetches: service.fetches,
      logger: service.logger,
      metrics: service.metrics,
      config: service.config,
      state,
      now: () => fake.clock,
    });
    return { service, app, state, client: await connect() };
  }

  it('a sign-in with the admin token on one replica holds on another, forms too; a sign-out on one ends it on all at once', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const { cookie, csrf } = await signIn(a);
    const id = encodeURIComponent(fake.integrationId);
    expect((await request(b.app).get('/admin').set('Cookie', cookie).expect(200)).text).toContain('<h1>Integrations</h1>');
    // A CSRF-protected form, posted to the other replica with the token the first one's page gave.
    await request(b.app).post(`/admin/i/${id}/sync`).set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303).expect('Location', `/admin/i/${id}?notice=sync`);
    await request(b.app).post(`/admin/i/${id}/sync`).set('Cookie', cookie).type('form').send({ _csrf: 'wrong' }).expect(403);

    // Redis names the session by a hash of the cookie, never by the cookie itself, and forgets it when it ends.
    const value = cookie.split('=')[1]!;
    const keys = await a.client.keys('*');
    expect(keys.some((key) => key.includes(value))).toBe(false);
    const key = `${PREFIX}session:${hash('sha256', value, 'hex')}`;
    expect(keys).toContain(key);
    const ttl = await a.client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(b.service.config.sessionMs);

    await request(b.app).post('/admin/sign-out').set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/admin');
    await request(a.app).get(`/admin/i/${id}`).set('Cookie', cookie).expect(303).expect('Location', '/admin');
    await request(a.app).post(`/admin/i/${id}/sync`).set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(403);
    expect((await request(a.app).get('/admin').set('Cookie', cookie).expect(200)).text).toContain('name="token"');
    expect(await a.client.exists(key)).toBe(0);
  });

  it('an OIDC sign-in started on one replica finishes on another, and its callback works once only, on either', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const { res, cookie, callback } = await signInThroughProvider(a.app, idp, 'grace@example.com', '/me', b.app);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('content="0;url=/me"');
    for (const app of [a.app, b.app]) {
      const page = await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(page.text).toContain('grace@example.com');
      expect(page.text).toContain('Reset my link');
    }
    // The state is spent everywhere: the same callback, replayed with the same browser cookie, signs nobody in.
    for (const app of [b.app, a.app]) {
      const replayed = await request(app).get(callback.path).set('Cookie', callback.cookie).expect(400);
      expect(replayed.text).toContain('This sign-in has expired or was started elsewhere. Sign in again.');
    }
  });

  it('holds at most `max` OIDC sign-ins in progress across replicas, the oldest dropped', async () => {
    let now = 0;
    const signIns = [await connect(), await connect()].map((client) =>
      createOidcSignIn({
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        redirectUri: `${PUBLIC_URL}/auth/callback`,
        now: () => now,
        pending: createRedisPendingSignIns({ redis: shared(client), max: 3 }),
      }),
    );
    const states: string[] = [];
    // Oldest is by start time, to the millisecond: each starts a millisecond after the one before.
    for (let n = 0; n < 5; n++, now++) states.push((await signIns[n % 2]!.start('me')).state);
    expect(await clients[0]!.zcard(`${PREFIX}oidc-logins`)).toBe(3);
    expect(await clients[0]!.keys(`${PREFIX}oidc-login:*`)).toHaveLength(3);
    const callback = (state: string) => new URL(`${PUBLIC_URL}/auth/callback?code=x&state=${state}`);
    await expect(signIns[1]!.finish(callback(states[0]!), states[0])).rejects.toThrow('This sign-in has expired');
    // A kept one reaches the provider (which refuses the made-up code): it was found, on the other replica.
    await expect(signIns[1]!.finish(callback(states[4]!), states[4])).rejects.toThrow('did not confirm who you are');
    await expect(signIns[0]!.finish(callback(states[4]!), states[4])).rejects.toThrow(OidcSignInError);
    expect(await clients[0]!.zcard(`${PREFIX}oidc-logins`)).toBe(2);
  });

  it('keeps the memory bounds across replicas: a few sessions per email, admins apart, the expired first, then the oldest', async () => {
    let now = 0;
    const [one, two] = [await connect(), await connect()].map((client) => createRedisAdminSessions({ redis: shared(client), ttlMs: HOUR, now: () => now, max: 3 }));
    const replicas = [one!, two!];
    const interviewer = (email: string) => ({ admin: false, email, emailVerified: true });
    const alive = async (ids: string[]) => Promise.all(ids.map(async (id, n) => (await replicas[n % 2]!.get(id)) !== undefined));

    const grace = await one!.create(interviewer('grace@example.com'));
    const mine: string[] = [];
    for (let n = 0; n < SESSIONS_PER_EMAIL_MAX + 3; n++, now++) mine.push((await replicas[n % 2]!.create(interviewer('mallory@example.com'))).id);
    expect(await alive(mine)).toEqual([...Array(3).fill(false), ...Array(SESSIONS_PER_EMAIL_MAX).fill(true)]);
    expect(await two!.get(grace.id)).toEqual(grace);

    // Admins (max 3 here): interviewers never push one out; past the bound the oldest ends, the expired before it.
    const x = (await one!.create()).id;
    now++;
    const y = (await two!.create()).id;
    now = 30 * 60_000;
    const z = (await one!.create()).id;
    now++;
    const w = (await two!.create()).id; // the bound: the oldest, x, ends
    expect(await alive([x, y, z, w])).toEqual([false, true, true, true]);
    now = HOUR + 10; // y has expired; z and w have not
    const v = (await one!.create()).id;
    expect(await alive([y, z, w, v])).toEqual([false, true, true, true]);
    expect(await clients[0]!.zcard(`${PREFIX}sessions:admins`)).toBe(3);
    // Long after, one sign-in clears every expired entry from the lists (Redis's keys expired on their own).
    now = 3 * HOUR;
    await two!.create();
    expect(await clients[0]!.zcard(`${PREFIX}sessions:admins`)).toBe(1);
  });

  it('with Redis stopped, a signed-in page answers 503 asking to try again and keeps the cookie; once Redis is back, pages work again', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const { cookie } = await signIn(a);
    await server.stop();
    try {
      for (const [app, path] of [[a.app, '/admin'], [b.app, `/admin/i/${encodeURIComponent(fake.integrationId)}`], [b.app, '/me']] as const) {
        const res = await request(app).get(path).set('Cookie', cookie).expect(503);
        expect(res.text).toContain(STORE_DOWN);
        expect(res.headers['set-cookie']).toBeUndefined(); // not signed out
        expect(res.text).toContain(`href="${path.startsWith('/me') ? '/me' : '/admin'}"`);
      }
      expect((await request(a.app).post('/admin/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(503)).text).toContain(STORE_DOWN);
      expect((await request(b.app).get('/me').expect(503)).text).toContain(STORE_DOWN); // a sign-in cannot start
      // Without a cookie there is nothing to look up: the sign-in form still shows.
      expect((await request(a.app).get('/admin').expect(200)).text).toContain('name="token"');
      expect(a.service.logs.lines.some((line) => line.level === 'warn' && String(line.msg).startsWith('the sign-in store (Redis) did not answer'))).toBe(true);
    } finally {
      await server.restart();
    }
    await Promise.all([ready(a.state), ready(b.state)]);
    // Redis came back empty (nothing saved), so that session is gone: the form again, and a new sign-in holds everywhere.
    expect((await request(b.app).get('/admin').set('Cookie', cookie).expect(200)).text).toContain('name="token"');
    const again = await signIn(a);
    expect((await request(b.app).get('/admin').set('Cookie', again.cookie).expect(200)).text).toContain('<h1>Integrations</h1>');
  });

  it('with Redis not answering for a while, the same cookie works again afterwards: nobody was signed out', async () => {
    // Commands give up after 200 ms here; Redis stops answering for 3 s, far longer than one page request waits.
    const a = await replica({ commandTimeout: 200 });
    const { cookie, csrf } = await signIn(a);
    const control = await connect({}); // no timeout: it waits the pause out
    await control.client('PAUSE', 3000, 'ALL');
    const res = await request(a.app).get('/admin').set('Cookie', cookie).expect(503);
    expect(res.text).toContain(STORE_DOWN);
    await control.ping(); // answered when the pause ends
    const page = await request(a.app).get('/admin').set('Cookie', cookie).expect(200);
    expect(csrfIn(page.text)).toBe(csrf);
  });
});
