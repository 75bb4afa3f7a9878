/**
 * Sessions, sign-ins in progress and the limits on secrets and resets (issue 20: findings 1, 2, 3a, 8 and 10), each
 * attack run as it was reported, in embedded mode (one process, memory) and in replica mode (real replicas sharing a
 * real redis-server).
 */
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import type { PageSessions } from '../../src/state/page-sessions.js';
import { addressKey } from '../../src/http/client-address.js';
import { LINK_RESET_WINDOW_MS, LINK_RESETS_PER_WINDOW } from '../../src/http/limits/reset-limit.js';
import { SECRET_FAILURES_GLOBAL_PER_WINDOW, SECRET_FAILURES_PER_WINDOW, SECRET_WINDOW_MS } from '../../src/http/limits/secret-limiter.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { OIDC_PENDING_LOGINS_MAX } from '../../src/state/pending-sign-ins.js';
import type { StateBundle } from '../../src/state/state-bundle.js';
import { csrfIn, pageRecords } from '../admin-page/page-fixtures.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { oidcEnv, signInThroughProvider, startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { until } from '../helpers/integrations.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { removeReplicaDirs, startInProcessReplica } from '../helpers/replicas.js';
import { ADMIN_TOKEN, buildTestService, PUBLIC_URL } from '../helpers/test-service.js';

const ROTATED_TOKEN = 'rotated-admin-token-9876543210';
const CALLBACK = `${PUBLIC_URL}/auth/callback`;

/** One process of the service as a test drives it: what to send requests to, and the service behind it. */
interface Process {
  app: Parameters<typeof request>[0];
  service: Pick<Service, 'config' | 'links' | 'tokens'>;
}

/**
 * Where processes keep their state. `start` starts one with `env` (TRUST_PROXY=1, so a test names each client's
 * address in X-Forwarded-For); the processes of one test share what the mode shares: in replica mode, Redis; in
 * embedded mode, the memory bundle `shared` when given (a configuration changed under live sessions).
 */
interface Mode {
  name: string;
  describe: (name: string, body: () => void) => void;
  start(fake: FakeKombo, env: Record<string, string>, shared?: StateBundle, options?: { realClock?: boolean }): Promise<Process>;
}

/**
 * A memory bundle whose page sessions every app built on it shares: sessions that outlive a change of configuration,
 * as they do in Redis (in embedded mode a restart ends them anyway).
 */
function sessionsKept(): StateBundle {
  const state = createMemoryState();
  let sessions: PageSessions | undefined;
  return { ...state, sessions: (options) => (sessions ??= state.sessions(options)) };
}

const embedded = (): Mode & { stopAll(): Promise<void> } => ({
  name: 'embedded',
  describe,
  async start(fake, env, shared, options = {}) {
    const now = options.realClock ? { now: Date.now } : {};
    const service = buildTestService(fake, { env: { TRUST_PROXY: '1', ...env }, overrides: { state: shared ?? createMemoryState(), ...now } });
    await service.sync.refresh();
    return { app: service.app, service };
  },
  stopAll: async () => {},
});

/** Replica mode: each process the real server entry on a loopback port, sharing one redis-server (emptied before each test). */
function replicas(): Mode & { stopAll(): Promise<void> } {
  let redis: RedisServer | undefined;
  const running: Array<{ stop(): Promise<void> }> = [];
  beforeAll(async () => {
    if (redis) return;
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    if (!redis) return;
    const client = new Redis(redis.url);
    await client.flushall();
    client.disconnect();
  });
  return {
    name: 'replicas sharing Redis',
    describe: describeRedis,
    async start(fake, env, _shared, options = {}) {
      const replica = await startInProcessReplica(fake, redis!.url, { TRUST_PROXY: '1', ...env }, options);
      running.push(replica);
      await until(() => replica.sync.ready(), 'replica ready');
      return { app: replica.server, service: replica };
    },
    async stopAll() {
      await Promise.all(running.splice(0).map((replica) => replica.stop()));
      removeReplicaDirs();
    },
  };
}

/** The two modes, each a describe block of its own (the Redis one skipped where redis-server is missing, never in CI). */
function eachMode(body: (mode: Mode, fake: () => FakeKombo) => void): void {
  for (const make of [embedded, replicas]) {
    const label = make === embedded ? 'embedded' : 'replicas sharing Redis';
    (make === embedded ? describe : describeRedis)(label, () => {
      const mode = make();
      let fake: FakeKombo;
      beforeEach(async () => {
        fake = await startFakeKombo();
        fake.setRecords(pageRecords());
      });
      afterEach(async () => {
        await mode.stopAll();
        await fake.close();
      });
      body(mode, () => fake);
    });
  }
}

/**
 * The processes a test spreads its requests over: two replicas sharing Redis, or the one embedded process (two
 * embedded processes share nothing: each is a deployment of its own).
 */
async function processes(mode: Mode, fake: FakeKombo, env: Record<string, string> = {}): Promise<[Process, Process]> {
  const one = await mode.start(fake, env);
  return [one, mode.name === 'embedded' ? one : await mode.start(fake, env)];
}

/** Signs in to the admin page with `token` from `address`: the cookie (name=value) and the CSRF token of its pages. */
async function tokenSignIn(app: Process['app'], token: string, address = '198.51.100.1') {
  const res = await request(app).post('/admin/sign-in').set('X-Forwarded-For', address).type('form').send({ token }).expect(303);
  const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
  const page = await request(app).get('/admin').set('Cookie', cookie).expect(200);
  return { cookie, csrf: csrfIn(page.text) };
}

/** The admin page's own revocation form, posted with a session's cookie and CSRF token. */
const revokeForm = (app: Process['app'], integrationId: string, session: { cookie: string; csrf: string }, email = 'ada@example.com') =>
  request(app).post(`/admin/i/${encodeURIComponent(integrationId)}/revoke`).set('Cookie', session.cookie).type('form').send({ _csrf: session.csrf, email });

/** The link the admin API hands out for `email` now (its URL changes when the link is revoked). */
async function currentLink(app: Process['app'], token: string, email = 'ada@example.com'): Promise<string> {
  const res = await request(app).get(`/admin/feed-url?email=${encodeURIComponent(email)}`).set('Authorization', `Bearer ${token}`).expect(200);
  return (res.body as { url: string }).url;
}

describe('1. a session is as good as its grant, checked on every use', () => {
  let idp: IdentityProvider;
  beforeAll(async () => {
    idp = await startIdentityProvider([CALLBACK]);
  });
  afterAll(async () => {
    await idp.close();
  });

  eachMode((mode, fake) => {
    it('a session signed in with the admin token ends once ADMIN_TOKEN is rotated: no admin page, no revocation', async () => {
      const shared = sessionsKept();
      const before = await mode.start(fake(), {}, shared);
      const session = await tokenSignIn(before.app, ADMIN_TOKEN);
      const id = fake().integrationId;
      await request(before.app).get(`/admin/i/${encodeURIComponent(id)}`).set('Cookie', session.cookie).expect(200);
      await revokeForm(before.app, id, session).expect(303);

      // The operator rotates the token and restarts every process (in replica mode the sessions outlive them, in Redis).
      const after = await mode.start(fake(), { ADMIN_TOKEN: ROTATED_TOKEN }, shared);
      const link = await currentLink(after.app, ROTATED_TOKEN);
      expect((await request(after.app).get('/admin').set('Cookie', session.cookie).expect(200)).text).toContain('name="token"');
      await request(after.app).get(`/admin/i/${encodeURIComponent(id)}`).set('Cookie', session.cookie).expect(303).expect('Location', '/admin');
      expect((await revokeForm(after.app, id, session).expect(403)).text).toContain('Your session has ended. Sign in again.');
      expect(await currentLink(after.app, ROTATED_TOKEN)).toBe(link);
      // The old token opens nothing; the new one signs in.
      await request(after.app).post('/admin/sign-in').set('X-Forwarded-For', '198.51.100.2').type('form').send({ token: ADMIN_TOKEN }).expect(403);
      await request(after.app).get('/admin/integrations').set('Authorization', `Bearer ${ADMIN_TOKEN}`).set('X-Forwarded-For', '198.51.100.2').expect(403);
      const fresh = await tokenSignIn(after.app, ROTATED_TOKEN);
      await revokeForm(after.app, id, fresh).expect(303);
    });

    it('a session of an OIDC_ADMIN_EMAILS person loses the admin page once the email is removed, and keeps their own /me', async () => {
      const shared = sessionsKept();
      const before = await mode.start(fake(), oidcEnv(idp, 'grace@example.com'), shared);
      const { res, cookie } = await signInThroughProvider(before.app, idp, 'grace@example.com', '/auth/login?next=admin');
      expect(res.text).toContain('content="0;url=/admin"');
      const id = fake().integrationId;
      const page = await request(before.app).get(`/admin/i/${encodeURIComponent(id)}`).set('Cookie', cookie).expect(200);
      const session = { cookie, csrf: csrfIn(page.text) };
      await revokeForm(before.app, id, session).expect(303);

      const after = await mode.start(fake(), oidcEnv(idp, 'ada@example.com'), shared);
      const link = await currentLink(after.app, ADMIN_TOKEN);
      expect((await request(after.app).get('/admin').set('Cookie', cookie).expect(200)).text).toContain('Sign in');
      await request(after.app).get(`/admin/i/${encodeURIComponent(id)}`).set('Cookie', cookie).expect(303).expect('Location', '/admin');
      await revokeForm(after.app, id, session).expect(403);
      expect(await currentLink(after.app, ADMIN_TOKEN)).toBe(link);
      // Still Grace, verified by the provider: her own links, and her own reset.
      const me = await request(after.app).get('/me').set('Cookie', cookie).expect(200);
      expect(me.text).toContain('grace@example.com');
      expect(me.text).toContain('Reset my link');
    });
  });
});

describe('10. an address claimed unverified never signs out the person who verified it', () => {
  let idp: IdentityProvider;
  beforeAll(async () => {
    idp = await startIdentityProvider([CALLBACK]);
  });
  afterAll(async () => {
    await idp.close();
  });

  eachMode((mode, fake) => {
    it('a provider account claiming Grace’s address unverified signs in again and again; every one of Grace’s sessions holds', async () => {
      const [one, other] = await processes(mode, fake(), oidcEnv(idp));
      const grace = [];
      for (let n = 0; n < 5; n++) grace.push((await signInThroughProvider(one.app, idp, 'grace@example.com')).cookie);
      idp.setVerified('grace@example.com', false);
      try {
        for (let n = 0; n < 8; n++) {
          const claim = await signInThroughProvider(n % 2 ? other.app : one.app, idp, 'grace@example.com');
          expect((await request(one.app).get('/me').set('Cookie', claim.cookie).expect(200)).text).not.toContain('Reset my link');
        }
      } finally {
        idp.setVerified('grace@example.com', true);
      }
      for (const cookie of grace) {
        const me = await request(other.app).get('/me').set('Cookie', cookie).expect(200);
        expect(me.text).toContain('Reset my link');
      }
    });
  });
});

/** `count` GET /auth/login from `addresses(n)` in turn, eight at a time over kept-alive connections; the statuses seen. */
async function flood(server: Server, count: number, addresses: (n: number) => string): Promise<Map<number, number>> {
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const statuses = new Map<number, number>();
  const get = (address: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/auth/login', agent, headers: { 'X-Forwarded-For': address } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < count; n = next++) {
      const status = await get(addresses(n));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  return statuses;
}

/** `app` on a loopback port (a replica already listens: its own server). */
async function listening(app: Process['app']): Promise<{ server: Server; close(): Promise<void> }> {
  if (typeof app !== 'function' && (app as Server).listening) return { server: app as Server, close: async () => {} };
  const server = createServer(app as Parameters<typeof createServer>[0]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('2. sign-in cannot be jammed by starting sign-ins', () => {
  let idp: IdentityProvider;
  beforeAll(async () => {
    idp = await startIdentityProvider([CALLBACK]);
  });
  afterAll(async () => {
    await idp.close();
  });

  it('counts a client by its address: an IPv4-mapped address as its IPv4, an IPv6 address by its /64, anything else as given', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    for (const same of ['2001:db8:66:1::1', '2001:0db8:0066:0001:ffff:ffff:ffff:ffff', '2001:DB8:66:1:0:0:0:9', '2001:db8:66:1::1%eth0']) expect(addressKey(same)).toBe('2001:db8:66:1::/64');
    expect(addressKey('2001:db8:66:2::1')).toBe('2001:db8:66:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:1.2.3.4:5')).toBe('::ffff:1.2.3.4:5');
    for (const key of ['__proto__', 'constructor', 'unknown']) expect(addressKey(key)).toBe(key);
  });

  eachMode((mode, fake) => {
    it(`${OIDC_PENDING_LOGINS_MAX + 500} GET /auth/login from one address, while a person is at the provider: the person still signs in`, { timeout: 120_000 }, async () => {
      // Time moves, as in production: "oldest" is by start time.
      const process = await mode.start(fake(), oidcEnv(idp), undefined, { realClock: true });
      const { server, close } = await listening(process.app);
      try {
        const { res, cookie } = await signInThroughProvider(process.app, idp, 'grace@example.com', '/me', process.app, {
          headers: { 'X-Forwarded-For': '198.51.100.7' },
          whileAtProvider: async () => expect(await flood(server, OIDC_PENDING_LOGINS_MAX + 500, () => '203.0.113.66')).toEqual(new Map([[303, OIDC_PENDING_LOGINS_MAX + 500]])),
        });
        expect(res.status, res.text).toBe(200);
        expect((await request(process.app).get('/me').set('Cookie', cookie).expect(200)).text).toContain('Reset my link');
      } finally {
        await close();
      }
    });

    it('a flood from 600 addresses, and from every address of one IPv6 /64, drops none of the person’s sign-in either', { timeout: 120_000 }, async () => {
      // Time moves, as in production: "oldest" is by start time.
      const process = await mode.start(fake(), oidcEnv(idp), undefined, { realClock: true });
      const { server, close } = await listening(process.app);
      try {
        // 600 IPv4 addresses, 21 sign-ins each (past each one's own bound, and together past the bound of all), and
        // a thousand addresses of one /64, counted as the one host they are.
        const address = (n: number) => (n % 13 === 0 ? `2001:db8:66:1::${n.toString(16)}` : `203.0.${Math.floor((n % 600) / 250)}.${(n % 600) % 250}`);
        const { res } = await signInThroughProvider(process.app, idp, 'grace@example.com', '/me', process.app, {
          headers: { 'X-Forwarded-For': '2001:db8:7::1' },
          whileAtProvider: () => flood(server, 13_650, address),
        });
        expect(res.status, res.text).toBe(200);
      } finally {
        await close();
      }
    });
  });
});

describe('8. every door that checks a secret shares one limiter, per address and in all', () => {
  eachMode((mode, fake) => {
    const wrong = 'wrong-admin-token-0123456789';
    /** The same client at every door, right or wrong token: the statuses, in order. */
    async function everyDoor(both: Process[], address: string, token: string) {
      const at = (n: number) => both[n % both.length]!.app;
      return [
        (await request(at(0)).post('/admin/sign-in').set('X-Forwarded-For', address).type('form').send({ token })).status,
        (await request(at(1)).get('/admin/integrations').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`)).status,
        (await request(at(0)).get('/metrics').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`)).status,
        (await request(at(1)).get('/healthz').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`)).status,
        (await request(at(0)).post('/admin/feed-url/revoke').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`).send({ email: 'ada@example.com' })).status,
      ];
    }

    it('five wrong tokens at any doors, any replicas: every door answers that address 429 with Retry-After, the right token too; another address gets in', async () => {
      const both = await processes(mode, fake());
      // One wrong token at each door in turn: the page, the JSON API, /metrics, /healthz (which still answers), a revocation.
      expect(await everyDoor(both, '203.0.113.9', wrong)).toEqual([403, 403, 403, 200, 403]);
      expect(SECRET_FAILURES_PER_WINDOW).toBe(5);
      const refused = await everyDoor(both, '203.0.113.9', ADMIN_TOKEN);
      expect(refused).toEqual([429, 429, 429, 429, 429]);
      const api = await request(both[1].app).get('/admin/integrations').set('X-Forwarded-For', '203.0.113.9').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(429);
      expect(Number(api.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(api.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(api.body).toMatchObject({ error: 'too_many_requests' });
      // Without a token, /healthz is no guess: it answers as ever.
      await request(both[0].app).get('/healthz').set('X-Forwarded-For', '203.0.113.9').expect(200);
      // Another address, with the right token, everywhere.
      expect(await everyDoor(both, '198.51.100.1', ADMIN_TOKEN)).toEqual([303, 200, 200, 200, 200]);
      // The window passes: that address may try again.
      fake().clock += SECRET_WINDOW_MS;
      await request(both[1].app).get('/metrics').set('X-Forwarded-For', '203.0.113.9').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    });

    it('fifty guesses at once from one address, spread over the replicas: five are judged, the rest refused unseen', async () => {
      const both = await processes(mode, fake());
      const statuses = await Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          request(both[n % 2]!.app).get('/admin/integrations').set('X-Forwarded-For', '203.0.113.50').set('Authorization', `Bearer ${n === 49 ? ADMIN_TOKEN : wrong}`),
        ),
      );
      const counts = new Map<number, number>();
      for (const res of statuses) counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
      expect((counts.get(403) ?? 0) + (counts.get(200) ?? 0)).toBeLessThanOrEqual(SECRET_FAILURES_PER_WINDOW);
      expect(counts.get(429)).toBeGreaterThanOrEqual(50 - SECRET_FAILURES_PER_WINDOW);
    });

    it(`past ${SECRET_FAILURES_GLOBAL_PER_WINDOW} wrong tokens a minute from all addresses, only addresses that presented the right one lately may try`, async () => {
      const both = await processes(mode, fake());
      const bearer = (n: number, address: string, token: string) =>
        request(both[n % 2]!.app).get('/admin/integrations').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`);
      await bearer(0, '198.51.100.1', ADMIN_TOKEN).expect(200); // the operator's scraper, say
      // Guesses spread thin: each address stays under its own bound.
      for (let n = 0; n < SECRET_FAILURES_GLOBAL_PER_WINDOW; n++) await bearer(n, `203.0.113.${n % 25}`, wrong).expect(403);
      await bearer(0, '203.0.113.200', wrong).expect(429);
      await bearer(1, '192.0.2.1', ADMIN_TOKEN).expect(429); // a new address, right token: not now
      await bearer(1, '198.51.100.1', ADMIN_TOKEN).expect(200);
      await bearer(0, '198.51.100.1', ADMIN_TOKEN).expect(200);
      fake().clock += SECRET_WINDOW_MS;
      await bearer(1, '192.0.2.1', ADMIN_TOKEN).expect(200);
    });
  });
});

describe('3a. "Reset my link" is limited per person', () => {
  let idp: IdentityProvider;
  beforeAll(async () => {
    idp = await startIdentityProvider([CALLBACK]);
  });
  afterAll(async () => {
    await idp.close();
  });

  eachMode((mode, fake) => {
    it(`${LINK_RESETS_PER_WINDOW} resets an hour per person, on any replica; the next gets a page saying when, and the link stays; others are not held back`, async () => {
      const [one, other] = await processes(mode, fake(), oidcEnv(idp));
      const { cookie } = await signInThroughProvider(one.app, idp, 'grace@example.com');
      const csrf = csrfIn((await request(one.app).get('/me').set('Cookie', cookie).expect(200)).text);
      const reset = (process: Process) => request(process.app).post('/me/reset').set('Cookie', cookie).type('form').send({ _csrf: csrf, integration: fake().integrationId });
      for (let n = 0; n < LINK_RESETS_PER_WINDOW; n++) await reset(n % 2 ? other : one).expect(303).expect('Location', '/me?notice=reset');
      const link = await currentLink(one.app, ADMIN_TOKEN, 'grace@example.com');
      const refused = await reset(other).expect(429);
      expect(refused.text).toContain(`You have reset your links ${LINK_RESETS_PER_WINDOW} times this hour. Try again in`);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(await currentLink(one.app, ADMIN_TOKEN, 'grace@example.com')).toBe(link);

      // Ada, another person, resets hers.
      const ada = await signInThroughProvider(other.app, idp, 'ada@example.com');
      const adaCsrf = csrfIn((await request(other.app).get('/me').set('Cookie', ada.cookie).expect(200)).text);
      await request(one.app).post('/me/reset').set('Cookie', ada.cookie).type('form').send({ _csrf: adaCsrf, integration: fake().integrationId }).expect(303);
      // An hour on, Grace may again.
      fake().clock += LINK_RESET_WINDOW_MS;
      await reset(one).expect(303);
    });
  });
});
