import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppServer } from '../../src/http/create-app-server.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedPath } from '../helpers/test-service.js';

/**
 * Issue 14, "Bounds everywhere": the HTTP side. One block per finding, each driving the real app over real sockets
 * against a fake Kombo on loopback.
 */

const ada = komboUser('ada@example.com', 'Ada', 'Lovelace');

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
