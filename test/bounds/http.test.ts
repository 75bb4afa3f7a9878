import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createAppServer } from '../../src/http/create-app-server.js';
import { MAX_WEBHOOK_BODIES_READING, MAX_WEBHOOK_ID_LENGTH, WEBHOOK_BODY_LIMIT_BYTES } from '../../src/http/routes/webhook-routes.js';
import { start, type RunningService } from '../../src/server.js';
import { createRecentIds } from '../../src/state/webhook-ids.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedPath, WEBHOOK_SECRET } from '../helpers/test-service.js';

/**
 * Issue 14, "Bounds everywhere": the HTTP side. One block per finding, each driving the real app over real sockets
 * against a fake Kombo on loopback.
 */

const MINUTE = 60_000;

const ada = komboUser('ada@example.com', 'Ada', 'Lovelace');

/** Kombo's signature, computed here independently of the code under test. */
const sign = (body: string) => createHmac('sha256', WEBHOOK_SECRET).update(body, 'utf8').digest('base64url');

const dataChanged = (id: string, integrationId: string) =>
  JSON.stringify({ id, type: 'data-changed', data: { integration_id: integrationId, changed_models: [{ name: 'ats_interviews' }] } });

const until = async (condition: () => boolean, what = 'the condition') => {
  for (let n = 0; n < 2_000 && !condition(); n++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition(), what).toBe(true);
};

/** Listens with the service's own server on loopback; resolves with its port and a close function. */
async function listen(app: Parameters<typeof createAppServer>[0]) {
  const server = createAppServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Posts a signed webhook to a listening service and resolves with its JSON answer. */
async function postWebhook(port: number, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/kombo`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Kombo-Signature': sign(body) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A raw TCP connection, and a promise of everything it received once the server closes it. */
async function rawConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {}); // a reset after the server closed is what some tests expect
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return { socket, closed };
}

/** Resolves with `promise`, or with `fallback` if it has not settled within `ms` (a bound on a test, not a timing claim). */
const within = <T>(promise: Promise<T>, ms: number, fallback: T) =>
  Promise.race([promise, new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())]);

/** The real server entry (`start`) on an ephemeral loopback port against a fake Kombo; stopped after each test. */
function realService() {
  const context: { fake: FakeKombo; running: RunningService | undefined } = { fake: undefined!, running: undefined };
  beforeEach(async () => {
    context.fake = await startFakeKombo();
    context.fake.setRecords([interviewRecord({ users: [ada] })]);
  });
  afterEach(async () => {
    await context.running?.stop();
    context.running = undefined;
    await context.fake.close();
  });
  /** Starts it and waits for its first walk. */
  async function startService(env: Record<string, string> = {}, options: Parameters<typeof start>[3] = {}) {
    const service = buildTestService(context.fake, { env: { PORT: '0', HOST: '127.0.0.1', ...env }, overrides: { timeoutMs: 10_000 } });
    const running = (context.running = await start(service.config, service.logger, service, options));
    await until(() => service.feeds.snapshot(context.fake.integrationId) !== undefined, 'the first walk');
    return { port: Number(new URL(running.url).port), service, running };
  }
  return { context, startService };
}

/** The head of a raw webhook request with `headers`. */
const head = (headers: Record<string, string | number>) =>
  `POST /webhooks/kombo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
  '\r\n';

describe('finding 4: a replayed signed webhook walked Kombo once per replay', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let server: Awaited<ReturnType<typeof listen>>;

  async function setUp(env: Record<string, string> = {}) {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Intro', users: [ada] })]);
    fake.clock += 10 * MINUTE;
    service = buildTestService(fake, { env, overrides: { timeoutMs: 10_000 } });
    await service.sync.refresh();
    server = await listen(service.app);
    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;
  }
  afterEach(async () => {
    await service.sync.close();
    await server.close();
    await fake.close();
  });

  const titles = async () => parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text).events.map((e) => e.summary);

  /** Sends `bodies` in waves of `wave` at once, waiting between waves until no walk runs (so each wave could start one). */
  async function inWaves(bodies: string[], wave: number) {
    const answers: { status: number; body: Record<string, unknown> }[] = [];
    for (let n = 0; n < bodies.length; n += wave) {
      answers.push(...(await Promise.all(bodies.slice(n, n + wave).map((body) => postWebhook(server.port, body)))));
      await until(() => !service.sync.status().running, 'no walk running');
    }
    return answers;
  }

  it('answers 200 {"status":"duplicate"} to each of 200 replays of one webhook, and walks once', async () => {
    await setUp();
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, moved', users: [ada] }));
    const body = dataChanged('Cbfk5sHtDxrSrJBRjsDtbaN9', fake.integrationId);
    const answers = await inWaves(Array.from({ length: 200 }, () => body), 20);
    expect(answers.filter((a) => a.body.status === 'refresh-started')).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200 && a.body.status === 'duplicate')).toHaveLength(199);
    expect(await titles()).toEqual(['Intro, moved']);
    expect(fake.requests).toHaveLength(1); // one walk of one page
  });

  it(`remembers event ids of up to ${MAX_WEBHOOK_ID_LENGTH} characters, and refuses longer ones with 400`, async () => {
    await setUp();
    const at = await postWebhook(server.port, dataChanged('i'.repeat(MAX_WEBHOOK_ID_LENGTH), fake.integrationId));
    expect(at).toMatchObject({ status: 200, body: { status: 'refresh-started' } });
    expect(await postWebhook(server.port, dataChanged('i'.repeat(MAX_WEBHOOK_ID_LENGTH), fake.integrationId))).toMatchObject({
      status: 200,
      body: { status: 'duplicate' },
    });
    expect(await postWebhook(server.port, dataChanged('i'.repeat(MAX_WEBHOOK_ID_LENGTH + 1), fake.integrationId))).toMatchObject({ status: 400 });
  });

  it('makes 200 distinct webhooks within one interval into one walk, which brings the change', async () => {
    await setUp({ WEBHOOK_WALK_INTERVAL_SECONDS: '600' }); // an interval no slow machine outlasts
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, moved', users: [ada] }));
    const answers = await inWaves(Array.from({ length: 200 }, (_, n) => dataChanged(`evt-${n}`, fake.integrationId)), 20);
    expect(answers.every((a) => a.status === 200 && a.body.status === 'refresh-started')).toBe(true);
    expect(await titles()).toEqual(['Intro, moved']);
    expect(fake.requests).toHaveLength(1);
  });

  it('walks once more at the end of the interval for the webhooks inside it, and the later change lands too', async () => {
    await setUp({ WEBHOOK_WALK_INTERVAL_SECONDS: '1' });
    const began = performance.now();
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, moved', users: [ada] }));
    await postWebhook(server.port, dataChanged('evt-first', fake.integrationId));
    await until(() => fake.requests.length === 1 && !service.sync.status().running, 'the first walk');
    expect(await titles()).toEqual(['Intro, moved']);

    fake.clock += 1_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, moved again', users: [ada] }));
    await Promise.all(Array.from({ length: 50 }, (_, n) => postWebhook(server.port, dataChanged(`evt-${n}`, fake.integrationId))));
    for (let n = 0; n < 1_000 && JSON.stringify(await titles()) !== '["Intro, moved again"]'; n++) await new Promise((r) => setTimeout(r, 10));
    expect(await titles()).toEqual(['Intro, moved again']);
    await until(() => !service.sync.status().running);
    // The first walk at once, then at most one per interval however many webhooks came (two in all, unless the
    // machine is so slow that the 50 webhooks span more than one interval).
    const intervals = Math.ceil((performance.now() - began) / 1_000);
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(fake.requests.length).toBeLessThanOrEqual(1 + intervals);
  });
});

describe('the webhook ids remembered against replays', () => {
  it('forgets the oldest past the count, and any past the age', () => {
    let now = 0;
    const recent = createRecentIds({ max: 3, ttlMs: 1_000, now: () => now });
    expect(['a', 'b', 'c', 'a'].map((id) => recent.add(id))).toEqual([false, false, false, true]);
    expect(recent.add('d')).toBe(false); // a fourth: the oldest, 'a', goes
    expect(recent.size).toBe(3);
    expect(recent.add('a')).toBe(false); // forgotten; now 'b' goes
    expect(recent.add('c')).toBe(true);
    now = 999;
    expect(recent.add('d')).toBe(true); // seen 999 ms ago
    now = 1_000;
    expect(recent.add('d')).toBe(false); // seen 1 000 ms ago: forgotten, like every other id of then
    expect(recent.size).toBe(1);
  });
});

describe('finding 5: webhook bodies were buffered before the signature was checked', () => {
  const { context, startService } = realService();

  it('answers 401 to a webhook without a signature while its body is still being sent, and closes the connection', async () => {
    const { port } = await startService();
    const conn = await rawConnection(port);
    conn.socket.write(head({ 'Content-Length': WEBHOOK_BODY_LIMIT_BYTES }) + '{"id":"x"'); // and never the rest
    const answer = await within(conn.closed, 10_000, 'no answer: the server waited for a body it had no reason to read');
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(context.fake.requests).toHaveLength(1); // the first walk only
  });

  it('refuses a body declared larger than the limit with 413 before reading it; one of exactly the limit is read', async () => {
    const { port } = await startService();
    const conn = await rawConnection(port);
    conn.socket.write(head({ 'Content-Length': WEBHOOK_BODY_LIMIT_BYTES + 1, 'X-Kombo-Signature': 'anything' }));
    const answer = await within(conn.closed, 10_000, 'no answer before the body');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);

    // The edge: a signed event padded to exactly the limit is accepted.
    const event = dataChanged('evt-at-the-limit', context.fake.integrationId);
    const padded = event + ' '.repeat(WEBHOOK_BODY_LIMIT_BYTES - Buffer.byteLength(event));
    const accepted = await postWebhook(port, padded);
    expect(accepted).toEqual({ status: 200, body: { status: 'refresh-started', models: ['ats_interviews'] } });
  });

  it('refuses a chunked body with 413 as soon as it passes the limit, while the client is still sending', async () => {
    const { port } = await startService();
    const conn = await rawConnection(port);
    conn.socket.write(head({ 'Transfer-Encoding': 'chunked', 'X-Kombo-Signature': 'anything' }));
    const chunk = 'x'.repeat(16 * 1024);
    for (let sent = 0; sent <= WEBHOOK_BODY_LIMIT_BYTES && !conn.socket.destroyed; sent += chunk.length) {
      conn.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    }
    // No last chunk: the body never ends, and the answer must not wait for it.
    const answer = await within(conn.closed, 10_000, 'no answer: the server read on past the limit');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it(`answers 503 while ${MAX_WEBHOOK_BODIES_READING} webhook bodies are being read already, and reads again once one ends`, async () => {
    const { port } = await startService();
    const slow = await Promise.all(
      Array.from({ length: MAX_WEBHOOK_BODIES_READING }, async () => {
        const conn = await rawConnection(port);
        conn.socket.write(head({ 'Content-Length': 100, 'X-Kombo-Signature': 'anything' }) + '{"id":');
        return conn;
      }),
    );
    /** A whole webhook with a wrong signature: 401 once its body is read, 503 when no body may be read now. */
    const probe = async () => {
      const conn = await rawConnection(port);
      conn.socket.write(head({ 'Content-Length': 2, 'X-Kombo-Signature': 'anything', Connection: 'close' }) + '{}');
      return (await conn.closed).split(' ')[1];
    };
    let status: string | undefined;
    for (let n = 0; n < 500 && status !== '503'; n++) status = await probe(); // until all the slow ones are being read
    expect(status).toBe('503');
    slow[0]!.socket.destroy();
    for (let n = 0; n < 500 && status === '503'; n++) status = await probe();
    expect(status).toBe('401');
    for (const conn of slow) conn.socket.destroy();
  });

  it('refuses a compressed webhook body with 415 rather than inflating it', async () => {
    const { service } = await startService();
    const body = gzipSync(dataChanged('evt-gzip', context.fake.integrationId));
    await request(service.app)
      .post('/webhooks/kombo')
      .set('Content-Encoding', 'gzip')
      .set('X-Kombo-Signature', createHmac('sha256', WEBHOOK_SECRET).update(body).digest('base64url'))
      .send(body)
      .expect(415);
  });
});

describe('finding 5: no cap on connections, and slow bodies held', () => {
  const { startService } = realService();

  it('cuts off a signed webhook whose body comes a byte at a time once the request timeout passes (408)', async () => {
    const timeouts = { headersMs: 500, requestMs: 1_000, checkIntervalMs: 100 };
    const { port, running } = await startService({}, { timeouts });
    expect(running.server.requestTimeout).toBe(1_000);
    const conn = await rawConnection(port);
    conn.socket.write(head({ 'Content-Length': 1_000, 'X-Kombo-Signature': 'anything' }));
    const drip = setInterval(() => conn.socket.writable && conn.socket.write('x'), 50);
    try {
      const answer = await within(conn.closed, 10_000, 'still open: the slow body was never cut off');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
  });

  it('closes connections past MAX_CONNECTIONS at once, and accepts again once one ends', async () => {
    const { port, running, service } = await startService({ MAX_CONNECTIONS: '3' });
    let connections = 0;
    const count = setInterval(() => running.server.getConnections((_error, n) => (connections = n)), 5);
    onTestFinished(() => clearInterval(count));
    const held = await Promise.all([1, 2, 3].map(() => rawConnection(port)));
    await until(() => connections === 3, 'three connections held');

    const extra = await rawConnection(port).catch(() => undefined); // refused outright would do too
    extra?.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(await within(extra?.closed ?? Promise.resolve(''), 10_000, 'still open')).toBe('');
    expect(service.logs.lines.filter((line) => String(line.msg).startsWith('connection cap reached'))).toEqual([
      expect.objectContaining({ level: 'warn', maxConnections: 3 }),
    ]);

    held[0]!.socket.destroy();
    await until(() => connections === 2, 'one connection released');
    const again = await rawConnection(port);
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(await within(again.closed, 10_000, 'no answer')).toMatch(/^HTTP\/1\.1 200 /);
    for (const conn of held) conn.socket.destroy();
  });
});

describe('finding 10: POST /admin/sync?full=true during an incremental walk answered that walk', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let release!: () => void;
  let held = 0;

  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords([
      interviewRecord({ id: 'iv-1', title: 'One', users: [ada] }),
      interviewRecord({ id: 'iv-2', title: 'Two', users: [ada] }),
      interviewRecord({ id: 'iv-3', title: 'Three', users: [ada] }),
    ]);
    fake.clock += 10 * MINUTE;
    let gate: Promise<void> = Promise.resolve();
    // Each answer from Kombo waits at the gate, so a walk stays in flight for as long as the test needs.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      // Interview pages only: the service also asks Kombo who the integration is, once, after its first walk.
      if (!String(input instanceof Request ? input.url : input).includes('/ats/interviews')) return response;
      held++;
      await gate;
      return response;
    };
    service = buildTestService(fake, { overrides: { fetch, timeoutMs: 30_000 } });
    await service.sync.refresh();
    gate = new Promise((resolve) => (release = resolve));
    fake.requests.length = 0;
    held = 0;
    fake.clock += 5 * MINUTE;
  });
  afterEach(async () => {
    release();
    await service.sync.close();
    await fake.close();
  });

  it('runs a full walk after the incremental one and answers every such request with that full walk', async () => {
    const refresh = vi.spyOn(service.sync, 'refresh');
    const incremental = service.sync.refresh();
    await until(() => held === 1, 'the incremental walk in flight');
    const admin = () => request(service.app).post('/admin/sync?full=true').set('Authorization', `Bearer ${ADMIN_TOKEN}`).then((res) => res);
    const answers = Promise.all([admin(), admin()]);
    await until(() => refresh.mock.calls.length === 3, 'both requests asked');
    release();

    expect(await incremental).toMatchObject({ kind: 'incremental' });
    const [first, second] = await answers;
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'ok', summary: { kind: 'full', pages: 2, interviews: 3 } });
    expect(second.body).toEqual(first.body);
    // The incremental walk's one request, then one full walk of two pages, shared.
    expect(fake.requests.map((r) => r.query.updated_after === undefined)).toEqual([false, true, true]);
  });

  it('still shares a full walk in flight with a full request', async () => {
    const full = service.sync.refresh({ full: true });
    await until(() => held === 1);
    const again = service.sync.refresh({ full: true });
    release();
    expect(await again).toBe(await full);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('finding 11: a feed asked for with an absolute-form request target was 404', () => {
  let fake: FakeKombo;
  let server: Awaited<ReturnType<typeof listen>>;
  afterEach(async () => {
    await server.close();
    await fake.close();
  });

  it('serves the feed for GET http://host/feeds/….ics exactly as for /feeds/….ics, and 404s a bad token either way', async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ users: [ada] })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    server = await listen(service.app);
    const path = feedPath(service, 'ada@example.com');
    const get = async (target: string) => {
      const conn = await rawConnection(server.port);
      conn.socket.write(`GET ${target} HTTP/1.1\r\nHost: feeds.example.com\r\nConnection: close\r\n\r\n`);
      const [top = '', body = ''] = (await conn.closed).split('\r\n\r\n');
      return { status: top.split(' ')[1], body };
    };
    const origin = await get(path);
    expect(origin.status).toBe('200');
    expect(parseIcs(origin.body).events.map((e) => e.uid)).toEqual(['iv-1']);
    expect(await get(`http://feeds.example.com${path}`)).toEqual(origin);
    expect(await get(`HTTP://feeds.example.com:80${path}?x=1`)).toEqual(origin);
    const forged = path.replace(/.\.ics$/, (m) => (m[0] === 'A' ? 'B' : 'A') + '.ics');
    expect((await get(`http://feeds.example.com${forged}`)).status).toBe('404');
  });
});

describe('finding 12: the public /healthz showed upstream error text, Kombo host and port included', () => {
  let fake: FakeKombo;
  afterEach(async () => {
    await fake.close();
  });

  /** A port nothing listens on. */
  async function closedPort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  it('says up, ready, ages and counts in public, and why the refresh failed only with the admin token', async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ users: [ada] })]);
    const port = await closedPort();
    const service = buildTestService(fake, { env: { KOMBO_BASE_URL: `http://127.0.0.1:${port}/v1` } });
    await expect(service.sync.refresh()).rejects.toThrow();
    const error = service.sync.status().lastFailure!.error;
    expect(error).toContain(`127.0.0.1:${port}`);

    const pub = await request(service.app).get('/healthz').expect(200);
    expect(pub.text).not.toContain(String(port));
    expect(pub.text).not.toContain('127.0.0.1');
    expect(pub.text).not.toContain(error);
    // Degraded (issue 24): no snapshot after a failed walk; the kind of failure is public, its text is not.
    expect(pub.body).toMatchObject({ status: 'degraded', ready: false, snapshot: null, sync: { consecutiveFailures: 1, lastFailure: { kind: 'full', reason: 'unreachable' } } });
    // A wrong token is the public view too: a health check never fails on credentials.
    const wrong = await request(service.app).get('/healthz').set('Authorization', 'Bearer not-the-admin-token-at-all').expect(200);
    expect(wrong.text).not.toContain(error);

    const admin = await request(service.app).get('/healthz').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    expect(admin.body).toMatchObject({ sync: { lastFailure: { kind: 'full', error } } });
  });

  it('keeps the upstream message of an HTTP failure behind the token too', async () => {
    fake = await startFakeKombo();
    const service = buildTestService(fake);
    const message = 'upstream detail: shard db-7.internal:5432 is down';
    fake.fail({ type: 'status', status: 500, body: { status: 'error', error: { code: null, title: null, message, log_url: null } } }, { times: 100 });
    await expect(service.sync.refresh()).rejects.toThrow();
    expect(service.sync.status().lastFailure!.error).toContain('db-7.internal');
    expect((await request(service.app).get('/healthz').expect(200)).text).not.toContain('db-7.internal');
  });
});
