/**
 * Attacks on the stores and the webhook route that worked once (issue 20, findings 3b, 4, 9, 11, 12 and 13), one
 * block each, numbered as in the issue, so none comes back. Embedded and Redis mode where the finding applies.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  createLinkGenerations,
  LINK_GENERATIONS_FILE,
  LINK_GENERATIONS_LOG_FILE,
  MAX_REVOKED_LINKS,
  REVOCATIONS_CONFIRM_WINDOW_MS,
  type LinkGenerationData,
} from '../../src/feeds/link-generations.js';
import { MAX_WEBHOOK_BODIES_READING, WEBHOOK_BODY_LIMIT_BYTES } from '../../src/http/routes/webhook-routes.js';
import { WEBHOOK_BODY_TIMEOUT_MS } from '../../src/http/read-webhook-body.js';
import { start, type RunningService } from '../../src/server.js';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';
import { createFileWebhookIds, RECENT_WEBHOOK_ID_TTL_MS, WEBHOOK_IDS_FILE } from '../../src/state/webhook-ids.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { until } from '../helpers/integrations.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { ADMIN_TOKEN, buildService, buildTestService, testEnv, WEBHOOK_SECRET, type CapturedLogs } from '../helpers/test-service.js';

const ADA = 'ada@example.com';

/** Kombo's signature, computed here independently of the code under test. */
const sign = (body: string) => createHmac('sha256', WEBHOOK_SECRET).update(body, 'utf8').digest('base64url');

/** A raw TCP connection, and a promise of everything it received once the server closes it. */
async function rawConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const closed = new Promise<{ text: string; atMs: number }>((resolve) => socket.once('close', () => resolve({ text: received, atMs: Date.now() })));
  return { socket, closed };
}

/** The head of a raw webhook request with `headers`. */
const head = (headers: Record<string, string | number>) =>
  `POST /webhooks/kombo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
  '\r\n';

describe('finding 9: webhook slots held by strangers sending a byte every two seconds', () => {
  let fake: FakeKombo;
  let running: RunningService | undefined;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
    return async () => {
      await running?.stop();
      running = undefined;
      await fake.close();
    };
  });

  it(`cuts every slow body off within ${WEBHOOK_BODY_TIMEOUT_MS / 1000} s (408), long before the 30 s request timeout, and Kombo's webhook gets in`, async () => {
    const service = buildTestService(fake, { env: { PORT: '0', HOST: '127.0.0.1' }, overrides: { timeoutMs: 10_000 } });
    running = await start(service.config, service.logger, service, { sleep: async () => {} });
    expect(running.server.requestTimeout).toBe(30_000);
    await until(() => service.feeds.snapshot(fake.integrationId) !== undefined, 'the first walk');
    const port = Number(new URL(running.url).port);

    const openedAtMs = Date.now();
    const strangers = await Promise.all(
      Array.from({ length: MAX_WEBHOOK_BODIES_READING }, async () => {
        const conn = await rawConnection(port);
        conn.socket.write(head({ 'Content-Length': WEBHOOK_BODY_LIMIT_BYTES, 'X-Kombo-Signature': 'anything' }) + '{');
        return conn;
      }),
    );
    const drip = setInterval(() => {
      for (const conn of strangers) if (conn.socket.writable) conn.socket.write(' ');
    }, 2_000);
    try {
      const kombo = () => {
        const body = JSON.stringify({ id: `evt-${Math.random()}`, type: 'data-changed', data: { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] } });
        return fetch(`${running!.url}/webhooks/kombo`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Kombo-Signature': sign(body) }, body });
      };
      // While they hold every slot, Kombo's webhook is turned away...
      let held = false;
      for (let n = 0; n < 200 && !held; n++) held = (await kombo()).status === 503;
      expect(held).toBe(true);
      // ...but not for long: each stranger is cut off at the body deadline, answered 408, its connection closed.
      const ends = await Promise.all(strangers.map((conn) => conn.closed));
      for (const end of ends) {
        expect(end.text).toMatch(/^HTTP\/1\.1 408 /);
        expect(end.text).toMatch(/\r\nConnection: close\r\n/i);
        expect(end.atMs - openedAtMs).toBeGreaterThanOrEqual(WEBHOOK_BODY_TIMEOUT_MS - 100);
        expect(end.atMs - openedAtMs).toBeLessThan(WEBHOOK_BODY_TIMEOUT_MS + 5_000);
      }
      const answer = await kombo();
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ status: 'refresh-started' });
    } finally {
      clearInterval(drip);
      for (const conn of strangers) conn.socket.destroy();
    }
  }, 30_000);
});

/** A process of the service: the real server entry on a loopback port, its state under `dataDir` or in Redis. */
type Proc = RunningService & { logs: CapturedLogs };

/**
 * The two ways the service keeps state, each run against the same tests: embedded (files under one DATA_DIR, "another
 * process" is a restart on it) and Redis (a real redis-server, "another process" is another replica, each with a
 * DATA_DIR of its own).
 */
interface Mode {
  name: string;
  describe: (name: string, body: () => void) => void;
  /** Before each test: a fresh DATA_DIR or Redis. */
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** Starts a process (the embedded mode stops the one before: one process owns a DATA_DIR). */
  open(fake: FakeKombo, env?: Record<string, string>): Promise<Proc>;
  /** Redis, when the mode has one. */
  readonly redis: RedisServer | undefined;
}

function embeddedMode(): Mode {
  let dir = '';
  let current: Proc | undefined;
  return {
    name: 'embedded',
    describe,
    redis: undefined,
    async setUp() {
      dir = mkdtempSync(join(tmpdir(), 'stores-webhooks-'));
    },
    async tearDown() {
      await current?.stop();
      current = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
    async open(fake, env = {}) {
      await current?.stop();
      current = await startProcess(fake, { DATA_DIR: dir, ...env });
      return current;
    },
  };
}

function redisMode(): Mode {
  let redis: RedisServer | undefined;
  const dirs: string[] = [];
  const opened: Proc[] = [];
  return {
    name: 'Redis',
    describe: describeRedis,
    get redis() {
      return redis;
    },
    async setUp() {
      redis = await startRedis();
    },
    async tearDown() {
      if (redis?.pid !== undefined) process.kill(redis.pid, 'SIGCONT');
      await Promise.all(opened.splice(0).map((proc) => proc.stop()));
      await redis?.stop();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
    async open(fake, env = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'stores-webhooks-replica-'));
      dirs.push(dir);
      const proc = await startProcess(fake, { DATA_DIR: dir, REDIS_URL: redis!.url, SYNC_LEASE_SECONDS: '3', REDIS_TIMEOUT_SECONDS: '1', ...env });
      opened.push(proc);
      return proc;
    },
  };
}

/** The real server entry against `fake`, on a free loopback port, with the fake's clock as `now`. */
async function startProcess(fake: FakeKombo, env: Record<string, string>): Promise<Proc> {
  const config = loadConfig(testEnv(fake, { PORT: '0', HOST: '127.0.0.1', SYNC_INTERVAL_SECONDS: '3600', WEBHOOK_WALK_INTERVAL_SECONDS: '1', ...env }));
  const { logs, ...service } = buildService(config, { now: () => fake.clock, timeoutMs: 2_000 });
  const running = await start(config, service.logger, service, { sleep: async () => {} });
  return { ...running, logs };
}

const MODES = [embeddedMode(), redisMode()];

/** A signed Kombo event of `type` (id `id`), as Kombo sends it. */
const event = (id: string, type: string, data: unknown) => JSON.stringify({ id, type, data });

/** Posts the signed `body` to `proc`'s webhook route. */
const postSigned = (proc: Proc, body: string) =>
  request(proc.app).post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', sign(body)).send(body);

const adminOf = (proc: Proc, method: 'get' | 'post' | 'delete', path: string) => request(proc.app)[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);

for (const mode of MODES) {
  mode.describe(`finding 4: webhooks applied out of order or twice (${mode.name})`, () => {
    let fake: FakeKombo;
    beforeEach(async () => {
      fake = await startFakeKombo();
      fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
      await mode.setUp();
      return async () => {
        await mode.tearDown();
        await fake.close();
      };
    });

    const stateChanged = (id: string, state: string, updatedAt: string) =>
      event(id, 'integration-state-changed', {
        integration_tool: 'greenhouse',
        integration_id: fake.integrationId,
        integration_category: 'ATS',
        end_user: { organization_name: 'Acme', creator_email: null, origin_id: null },
        qa_status: 'PASSED',
        setup_status: 'COMPLETED',
        state,
        updated_at: updatedAt,
      });
    const paused = (proc: Proc) => proc.sync.get(fake.integrationId)!.status() === 'paused';

    it('ignores a state change older than the last one applied (Kombo retrying an hour-old INACTIVE), across a restart or replica', async () => {
      const first = await mode.open(fake);
      await until(() => first.sync.ready(), 'ready');
      // Kombo's INACTIVE at 10:00 failed to arrive; its ACTIVE at 11:00 came first.
      expect((await postSigned(first, stateChanged('evt-active-11', 'ACTIVE', '2026-03-01T11:00:00.000Z')).expect(200)).body).toMatchObject({ status: 'resumed' });
      const retried = await postSigned(first, stateChanged('evt-inactive-10', 'INACTIVE', '2026-03-01T10:00:00.000Z')).expect(200);
      expect(retried.body).toMatchObject({ status: 'ignored', reason: 'a later state change was applied already' });
      expect(paused(first)).toBe(false);

      // What was applied last is kept with the registry: another process (a restart, a replica) ignores it too.
      const second = await mode.open(fake);
      await until(() => second.sync.ready(), 'ready');
      expect((await postSigned(second, stateChanged('evt-invalid-1030', 'INVALID', '2026-03-01T10:30:00.000Z')).expect(200)).body).toMatchObject({ status: 'ignored' });
      expect(paused(second)).toBe(false);

      // A newer one applies, and a retry of an older ACTIVE does not undo it.
      expect((await postSigned(second, stateChanged('evt-inactive-12', 'INACTIVE', '2026-03-01T12:00:00.000Z')).expect(200)).body).toMatchObject({ status: 'paused' });
      expect(paused(second)).toBe(true);
      expect((await postSigned(second, stateChanged('evt-active-1130', 'ACTIVE', '2026-03-01T11:30:00.000Z')).expect(200)).body).toMatchObject({ status: 'ignored' });
      expect(paused(second)).toBe(true);
      expect((await postSigned(second, stateChanged('evt-active-13', 'ACTIVE', '2026-03-01T13:00:00.000Z')).expect(200)).body).toMatchObject({ status: 'resumed' });
      expect(paused(second)).toBe(false);
      expect(second.registry.get(fake.integrationId)?.stateUpdatedAtMs).toBe(Date.parse('2026-03-01T13:00:00.000Z'));
    });

    it('answers a replay of a signed webhook after a restart as a duplicate: a removed integration is not added back', async () => {
      const first = await mode.open(fake);
      await until(() => first.sync.ready(), 'ready');
      fake.addIntegration('acme:2').setRecords([interviewRecord({ id: 'x-1', users: [komboUser(ADA)] })]);
      const created = event('evt-created-acme', 'integration-created', { id: 'acme:2', tool: 'greenhouse', category: 'ATS', end_user: { organization_name: 'Acme' } });
      expect((await postSigned(first, created).expect(200)).body).toMatchObject({ status: 'added' });
      await adminOf(first, 'delete', '/admin/integrations/acme:2').expect(204);

      const second = await mode.open(fake);
      await until(() => second.sync.ready(), 'ready');
      expect((await postSigned(second, created).expect(200)).body).toEqual({ status: 'duplicate' });
      expect(second.sync.get('acme:2')).toBeUndefined();
      expect(second.registry.isRemoved('acme:2')).toBe(true);
    });
  });
}

describe('finding 4: the webhook ids an embedded install keeps under DATA_DIR', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-ids-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });
  const lines = () => readFileSync(join(dir, WEBHOOK_IDS_FILE), 'utf8').split('\n').filter((line) => line !== '').length;

  it('keeps at most the bound, each for the replay window, in a file that stays bounded across restarts', async () => {
    let now = 1_000_000;
    const max = 50;
    let ids = createFileWebhookIds({ dir, now: () => now, max });
    for (let n = 0; n < 10 * max; n++) {
      expect(await ids.claim(`evt-${n}`)).toBe(false);
      expect(lines()).toBeLessThan(3 * max);
    }
    ids = createFileWebhookIds({ dir, now: () => now, max });
    expect(await ids.claim(`evt-${10 * max - 1}`)).toBe(true); // the newest are remembered across the restart...
    expect(await ids.claim('evt-0')).toBe(false); // ...the oldest went with the bound
    now += RECENT_WEBHOOK_ID_TTL_MS;
    ids = createFileWebhookIds({ dir, now: () => now, max });
    expect(await ids.claim(`evt-${10 * max - 2}`)).toBe(false); // and every one after the replay window
  });

  it('reads past a last line cut short by a crash, and loses no claim written after it', async () => {
    const ids = createFileWebhookIds({ dir, now: () => 5 });
    await ids.claim('evt-1');
    appendFileSync(join(dir, WEBHOOK_IDS_FILE), '{"id":"evt-torn","a'); // the process died mid-write
    const restarted = createFileWebhookIds({ dir, now: () => 6 });
    expect(await restarted.claim('evt-1')).toBe(true);
    expect(await restarted.claim('evt-2')).toBe(false);
    const again = createFileWebhookIds({ dir, now: () => 7 });
    expect(await again.claim('evt-2')).toBe(true);
    expect(await again.claim('evt-torn')).toBe(false); // never acted on: its claim was never finished
  });
});

/** `count` revocations of made-up people in `integrationId`, as saved data: a table near MAX_REVOKED_LINKS. */
function manyRevocations(integrationId: string, count: number): LinkGenerationData {
  const subjects = Object.create(null) as Record<string, number>;
  for (let n = 0; n < count; n++) subjects[`p:person-${n}@example-company.com`] = 1 + (n % 3);
  return { format: 1, generations: { [integrationId]: subjects } };
}

/** Records, on `proc`'s revocation store, every whole read and every key of every change read. */
function spyOnRevocationReads(proc: Proc) {
  const store = proc.state.links;
  const seen = { wholeReads: 0, keysRead: 0, changesRead: 0 };
  const load = store.load.bind(store);
  store.load = async () => {
    seen.wholeReads++;
    return load();
  };
  const changes = store.changes?.bind(store);
  if (changes) {
    store.changes = async () => {
      const change = await changes();
      if (change !== undefined && change.size > 0) {
        seen.changesRead++;
        seen.keysRead += change.size;
      }
      return change;
    };
  }
  return seen;
}

const RESETS = 20;
const NEAR_THE_BOUND = MAX_REVOKED_LINKS - 10;

for (const mode of MODES) {
  mode.describe(`finding 3b: one revocation made every replica re-read all ${NEAR_THE_BOUND} (${mode.name})`, () => {
    let fake: FakeKombo;
    beforeEach(async () => {
      fake = await startFakeKombo();
      fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
      await mode.setUp();
      return async () => {
        await mode.tearDown();
        await fake.close();
      };
    });

    const revoke = (proc: Proc) => adminOf(proc, 'post', '/admin/feed-url/revoke').send({ integration: fake.integrationId, email: ADA });

    it(`writes each of ${RESETS} resets as one entry, and no process reads the whole table again for them`, async () => {
      // Writing (and reading) the whole table once, to set the test up, may take a loaded machine more than a second.
      const env = { REDIS_TIMEOUT_SECONDS: '10' };
      const a = await mode.open(fake, env);
      await until(() => a.sync.ready(), 'a ready');
      await a.state.links.save(manyRevocations(fake.integrationId, NEAR_THE_BOUND));
      await a.links.restore();
      if (mode.redis === undefined) {
        // Embedded: what a reset writes is a line of the log, not the table.
        const table = join(a.config.dataDir, LINK_GENERATIONS_FILE);
        const log = join(a.config.dataDir, LINK_GENERATIONS_LOG_FILE);
        const tableBefore = statSync(table);
        for (let n = 0; n < RESETS; n++) await revoke(a).expect(200);
        expect(statSync(table).mtimeMs).toBe(tableBefore.mtimeMs);
        expect(statSync(log).size).toBeLessThan(RESETS * 200);
        // And a restart reads the table and the log: every reset and all the others are there.
        const restarted = await mode.open(fake, env);
        expect(restarted.links.current(fake.integrationId, `p:${ADA}`)).toBe(RESETS);
        expect(restarted.links.current(fake.integrationId, 'p:person-7@example-company.com')).toBe(2);
        return;
      }
      const b = await mode.open(fake, env);
      await until(() => b.sync.ready(), 'b ready');
      expect(b.links.current(fake.integrationId, 'p:person-7@example-company.com')).toBe(2);
      const onB = spyOnRevocationReads(b);
      for (let n = 0; n < RESETS; n++) await revoke(a).expect(200);
      await until(() => b.links.current(fake.integrationId, `p:${ADA}`) === RESETS, 'every reset on b');
      // B took in the one entry each reset changed: never the table.
      expect(onB.wholeReads).toBe(0);
      expect(onB.keysRead).toBe(onB.changesRead);
      expect(onB.keysRead).toBeLessThanOrEqual(RESETS);
      expect(b.links.current(fake.integrationId, 'p:person-7@example-company.com')).toBe(2);
    }, 60_000);
  });
}

/**
 * A TCP proxy in front of Redis the test controls: while `partitioned`, nothing passes either way (it waits, as on a
 * network that dropped the route), and it all goes through once healed.
 */
async function startPartitionProxy(target: number) {
  let partitioned = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (partitioned) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    partition: () => void (partitioned = true),
    heal() {
      partitioned = false;
      for (const send of held.splice(0)) send();
    },
    close: () => new Promise<void>((resolve) => (sockets.forEach((socket) => socket.destroy()), server.close(() => resolve()))),
  };
}

describeRedis('finding 12: a revoked link lived on a replica cut off from Redis', () => {
  const mode = redisMode();
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
    await mode.setUp();
    return async () => {
      await mode.tearDown();
      await fake.close();
    };
  });

  it(`answers 503 with Retry-After once it cannot confirm its revocations for ${REVOCATIONS_CONFIRM_WINDOW_MS / 1000} s, says so on /healthz, and serves again once back`, async () => {
    const proxy = await startPartitionProxy(mode.redis!.port);
    try {
      const a = await mode.open(fake);
      await until(() => a.sync.ready(), 'a ready');
      const b = await mode.open(fake, { REDIS_URL: proxy.url });
      await until(() => b.sync.ready(), 'b ready');
      const old = `/feeds/${a.tokens.encode({ integrationId: fake.integrationId, email: ADA })}.ics`;
      await request(b.app).get(old).expect(200);
      const health = (await request(b.app).get('/healthz').expect(200)).body as { revocations: { confirmed: boolean; confirmedAt: string } };
      expect(health.revocations.confirmed).toBe(true);

      proxy.partition();
      const cutAtMs = Date.now();
      const next = (await adminOf(a, 'post', '/admin/feed-url/revoke').send({ integration: fake.integrationId, email: ADA }).expect(200)).body as { url: string };
      await request(a.app).get(old).expect(404);
      // B cannot know: it may serve on for the window, never longer; then every feed answers 503, to be asked again.
      let answer = await request(b.app).get(old);
      while (answer.status === 200 && Date.now() - cutAtMs < REVOCATIONS_CONFIRM_WINDOW_MS + 5_000) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        answer = await request(b.app).get(old);
      }
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('30');
      expect(Date.now() - cutAtMs).toBeLessThan(REVOCATIONS_CONFIRM_WINDOW_MS + 5_000);
      expect(Date.now() - cutAtMs).toBeGreaterThan(REVOCATIONS_CONFIRM_WINDOW_MS - 2_000);
      await request(b.app).get(new URL(next.url).pathname).expect(503);
      const cut = (await request(b.app).get('/healthz').expect(200)).body as { revocations: { confirmed: boolean } };
      expect(cut.revocations.confirmed).toBe(false);
      await request(b.app).get('/readyz').expect(200);

      proxy.heal();
      await until(async () => (await request(b.app).get(new URL(next.url).pathname)).status === 200, 'b serves again', 15_000);
      await request(b.app).get(old).expect(404);
      expect(((await request(b.app).get('/healthz')).body as { revocations: { confirmed: boolean } }).revocations.confirmed).toBe(true);
    } finally {
      await mode.tearDown();
      await proxy.close();
    }
  }, 60_000);
});

describe('finding 12: an embedded install never refuses feeds for it', () => {
  const mode = embeddedMode();
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
    await mode.setUp();
    return async () => {
      await mode.tearDown();
      await fake.close();
    };
  });

  it('holds its own revocations: always confirmed, however long it runs, and /healthz has nothing to say of it', async () => {
    const proc = await mode.open(fake);
    await until(() => proc.sync.ready(), 'ready');
    const next = (await adminOf(proc, 'post', '/admin/feed-url/revoke').send({ integration: fake.integrationId, email: ADA }).expect(200)).body as { url: string };
    await request(proc.app).get(new URL(next.url).pathname).expect(200);
    expect((await request(proc.app).get('/healthz').expect(200)).body).not.toHaveProperty('revocations');
    const later = createLinkGenerations(proc.state.links, MAX_REVOKED_LINKS, () => Number.MAX_SAFE_INTEGER);
    await later.restore();
    expect(later.confirmed()).toBe(true);
    expect(later.confirmedAtMs()).toBeUndefined();
  });
});

for (const mode of MODES) {
  mode.describe(`finding 11: a removed customer's data stayed (${mode.name})`, () => {
    const OTHER = 'acme:2';
    let fake: FakeKombo;
    beforeEach(async () => {
      fake = await startFakeKombo();
      fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
      fake.addIntegration(OTHER).setRecords([interviewRecord({ id: 'x-1', title: 'Candidate Mallory', users: [komboUser(ADA)] })]);
      await mode.setUp();
      return async () => {
        await mode.tearDown();
        await fake.close();
      };
    });

    /** A process serving OTHER too, with a revoked link of it, its fetch recorded and saved: data a removal must delete. */
    async function withCustomer() {
      const proc = await mode.open(fake);
      await until(() => proc.sync.ready(), 'ready');
      await adminOf(proc, 'post', '/admin/integrations').send({ id: OTHER }).expect(201);
      await until(() => proc.feeds.snapshot(OTHER) !== undefined, 'the customer walked');
      const next = (await adminOf(proc, 'post', '/admin/feed-url/revoke').send({ integration: OTHER, email: ADA }).expect(200)).body as { url: string };
      const path = new URL(next.url).pathname;
      await request(proc.app).get(path).set('User-Agent', 'Google-Calendar-Importer').expect(200);
      await proc.fetches.flush();
      expect(await proc.state.snapshots.load(OTHER)).toBeDefined();
      return { proc, path };
    }

    /** Nothing of OTHER is left in `proc`'s stores but the one number that keeps its revoked links dead. */
    async function nothingLeft(proc: Proc) {
      expect(await proc.state.snapshots.load(OTHER)).toBeUndefined();
      expect(Object.keys((await proc.state.links.load())?.generations[OTHER] ?? {})).toEqual(['#']);
      expect(Object.keys((await proc.state.fetches.load())?.fetches ?? {})).not.toContain(OTHER);
      expect(await proc.state.snapshots.list!()).not.toContain(OTHER);
      expect(proc.links.integrations()).not.toContain(OTHER);
      expect(proc.fetches.integrations()).not.toContain(OTHER);
      if (mode.redis === undefined) expect(readdirSync(proc.config.dataDir).filter((name) => name.startsWith('snapshot-'))).toHaveLength(1);
    }

    it('finishes a removal that failed half way when it is asked again (204, not 404), deleting what was left', async () => {
      const { proc, path } = await withCustomer();
      if (mode.redis === undefined) {
        // The store fails once, between saving the registry and deleting the snapshot.
        const remove = proc.state.snapshots.delete.bind(proc.state.snapshots);
        let failures = 1;
        proc.state.snapshots.delete = async (id) => {
          if (failures-- > 0) throw new StoreUnavailableError('Redis unavailable (delete a snapshot): the disk is away');
          return remove(id);
        };
      } else {
        // Redis stops answering just after the registry is saved.
        const save = proc.state.registry.save.bind(proc.state.registry);
        let paused = false;
        proc.state.registry.save = async (data) => {
          await save(data);
          if (!paused && !data.integrations.some((entry) => entry.id === OTHER)) {
            paused = true;
            process.kill(mode.redis!.pid!, 'SIGSTOP');
          }
        };
      }
      await adminOf(proc, 'delete', `/admin/integrations/${OTHER}`).expect(503);
      if (mode.redis !== undefined) process.kill(mode.redis.pid!, 'SIGCONT');
      let status = 503;
      for (let n = 0; n < 50 && status === 503; n++) {
        status = (await adminOf(proc, 'delete', `/admin/integrations/${OTHER}`)).status;
        if (status === 503) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(status).toBe(204);
      await nothingLeft(proc);
      await request(proc.app).get(path).expect(404);
      // And again: nothing is left, so nothing to remove (404), and the number kept for its revoked links stays as it was.
      const floor = (await proc.state.links.load())?.generations[OTHER]?.['#'];
      expect(floor).toBe(2);
      await adminOf(proc, 'delete', `/admin/integrations/${OTHER}`).expect(404);
      expect((await proc.state.links.load())?.generations[OTHER]?.['#']).toBe(floor);
      await adminOf(proc, 'delete', '/admin/integrations/never-served').expect(404);
    }, 60_000);

    it('deletes at the next start what a removal that failed (and was never asked again) left behind', async () => {
      const { proc } = await withCustomer();
      proc.state.snapshots.delete = async () => {
        throw new StoreUnavailableError('Redis unavailable (delete a snapshot): did not answer');
      };
      await adminOf(proc, 'delete', `/admin/integrations/${OTHER}`).expect(503);
      expect(proc.registry.isRemoved(OTHER)).toBe(true);
      await proc.stop();

      const next = await mode.open(fake);
      await until(() => next.sync.ready(), 'ready');
      expect(next.sync.get(OTHER)).toBeUndefined();
      await nothingLeft(next);
      expect(next.logs.lines.some((line) => line.integration === OTHER && String(line.msg).startsWith('deleted what was still held'))).toBe(true);
      // The integration still served keeps everything.
      expect(next.feeds.snapshot(fake.integrationId)).toBeDefined();
    }, 60_000);
  });
}

/** Text from outside (an admin, Kombo) that names an inherited member of a plain object. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;

for (const mode of MODES) {
  mode.describe(`finding 13: integration and webhook ids named like Object.prototype members, through every route (${mode.name})`, () => {
    let fake: FakeKombo;
    beforeEach(async () => {
      fake = await startFakeKombo();
      fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] })]);
      for (const key of PROTOTYPE_KEYS) fake.addIntegration(key).setRecords([interviewRecord({ id: `iv-${key}`, title: `At ${key}`, users: [komboUser(ADA)] })]);
      await mode.setUp();
      return async () => {
        await mode.tearDown();
        await fake.close();
      };
    });

    const feedOf = (proc: Proc, id: string) => `/feeds/${proc.tokens.encode({ integrationId: id, email: ADA })}.ics`;
    const titleOf = async (proc: Proc, path: string) => {
      const res = await request(proc.app).get(path).expect(200);
      return /SUMMARY:([^\r\n]*)/.exec(res.text)?.[1];
    };

    it('adds, serves, pauses, refreshes, revokes and removes them as ordinary ids, and nothing lands on Object.prototype', async () => {
      const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
      const { toString, hasOwnProperty } = Object.prototype;
      const first = await mode.open(fake);
      await until(() => first.sync.ready(), 'ready');

      // Added: two by the admin API, two by Kombo's integration-created, whose event ids are such names too.
      for (const [n, key] of PROTOTYPE_KEYS.entries()) {
        if (n < 2) await adminOf(first, 'post', '/admin/integrations').send({ id: key }).expect(201);
        else expect((await postSigned(first, event(key, 'integration-created', { id: key, category: 'ATS', tool: 'lever', end_user: { organization_name: `Org ${key}` } })).expect(200)).body).toEqual({ status: 'added', integration: key });
      }
      for (const key of PROTOTYPE_KEYS) await until(() => first.feeds.snapshot(key) !== undefined, `the first walk of ${key}`);
      expect(first.sync.list().map((integration) => integration.id).sort()).toEqual([fake.integrationId, ...PROTOTYPE_KEYS].sort());

      const revoked = new Map<string, { old: string; next: string }>();
      for (const key of PROTOTYPE_KEYS) {
        const query = `integration=${encodeURIComponent(key)}`;
        // Served, listed and synced like any other.
        expect(await titleOf(first, feedOf(first, key))).toBe(`At ${key}`);
        const link = (await adminOf(first, 'get', `/admin/feed-url?${query}&email=${ADA}`).expect(200)).body as { url: string };
        expect(new URL(link.url).pathname).toBe(feedOf(first, key));
        expect((await adminOf(first, 'get', `/admin/links.csv?${query}`).expect(200)).text).toContain(ADA);
        expect((await adminOf(first, 'post', `/admin/sync?${query}`).expect(200)).body).toMatchObject({ status: 'ok', integration: key });
        // Kombo's webhooks name it: a change, a pause and a resume, under event ids named like it too.
        const data = { integration_id: key, changed_models: [{ name: 'ats_interviews' }] };
        expect((await postSigned(first, event(`${key}-changed`, 'data-changed', data)).expect(200)).body).toMatchObject({ status: 'refresh-started' });
        const state = (id: string, value: string, at: string) => event(id, 'integration-state-changed', { integration_id: key, state: value, updated_at: at });
        expect((await postSigned(first, state(`${key}-inactive`, 'INACTIVE', '2026-03-01T10:00:00.000Z')).expect(200)).body).toMatchObject({ status: 'paused' });
        expect((await postSigned(first, state(`${key}-active`, 'ACTIVE', '2026-03-01T11:00:00.000Z')).expect(200)).body).toMatchObject({ status: 'resumed' });
        // Revoked: the old link dies, the new one serves.
        const next = (await adminOf(first, 'post', '/admin/feed-url/revoke').send({ integration: key, email: ADA }).expect(200)).body as { url: string };
        revoked.set(key, { old: link.url, next: next.url });
        await request(first.app).get(new URL(link.url).pathname).expect(404);
        expect(await titleOf(first, new URL(next.url).pathname)).toBe(`At ${key}`);
      }

      // Another process (a restart, another replica) holds all of it: the registry, the snapshots, the revocations.
      const second = await mode.open(fake);
      await until(() => second.sync.ready(), 'ready');
      for (const key of PROTOTYPE_KEYS) {
        const { old, next } = revoked.get(key)!;
        expect(second.registry.get(key)).toMatchObject({ id: key, pausedAtMs: null, stateUpdatedAtMs: Date.parse('2026-03-01T11:00:00.000Z') });
        await request(second.app).get(new URL(old).pathname).expect(404);
        expect(await titleOf(second, new URL(next).pathname)).toBe(`At ${key}`);
        // A replay of the event that added it is a replay there too.
        if (PROTOTYPE_KEYS.indexOf(key) >= 2) {
          expect((await postSigned(second, event(key, 'integration-created', { id: key, category: 'ATS', tool: 'lever', end_user: { organization_name: `Org ${key}` } })).expect(200)).body).toEqual({ status: 'duplicate' });
        }
      }

      // Removed: two by the admin API, two by Kombo's integration-deleted.
      for (const [n, key] of PROTOTYPE_KEYS.entries()) {
        if (n < 2) await adminOf(second, 'delete', `/admin/integrations/${encodeURIComponent(key)}`).expect(204);
        else expect((await postSigned(second, event(`${key}-deleted`, 'integration-deleted', { id: key })).expect(200)).body).toEqual({ status: 'removed', integration: key });
      }
      for (const key of PROTOTYPE_KEYS) {
        await request(second.app).get(new URL(revoked.get(key)!.next).pathname).expect(404);
        expect(second.registry.isRemoved(key)).toBe(true);
        expect(Object.keys((await second.state.links.load())?.generations[key] ?? {})).toEqual(['#']);
      }
      expect(await second.state.snapshots.list!()).toEqual([fake.integrationId]);
      expect(second.sync.list().map((integration) => integration.id)).toEqual([fake.integrationId]);

      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
      expect(Object.prototype.toString).toBe(toString);
      expect(Object.prototype.hasOwnProperty).toBe(hasOwnProperty);
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    }, 60_000);
  });
}
