/**
 * Attacks on the stores and the webhook route that worked once (issue 20, findings 3b, 4, 9, 11, 12 and 13), one
 * block each, numbered as in the issue, so none comes back. Embedded and Redis mode where the finding applies.
 */
import { createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_WEBHOOK_BODIES_READING, WEBHOOK_BODY_LIMIT_BYTES } from '../../src/http/routes/webhook-routes.js';
import { WEBHOOK_BODY_TIMEOUT_MS } from '../../src/http/read-webhook-body.js';
import { start, type RunningService } from '../../src/server.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { until } from '../helpers/integrations.js';
import { buildTestService, WEBHOOK_SECRET } from '../helpers/test-service.js';

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
