import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAppServer } from '../../src/http/create-app-server.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedPath } from '../helpers/test-service.js';

/**
 * Issue 14, "Bounds everywhere": the HTTP side. One block per finding, each driving the real app over real sockets
 * against a fake Kombo on loopback.
 */

const MINUTE = 60_000;

const ada = komboUser('ada@example.com', 'Ada', 'Lovelace');

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
    expect(pub.body).toMatchObject({ status: 'ok', ready: false, snapshot: null, sync: { consecutiveFailures: 1, lastFailure: { kind: 'full' } } });
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
