import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { signWebhook } from '../src/http/routes/webhook-routes.js';
import { start } from '../src/server.js';
import { interviewRecord } from './helpers/factories.js';
import { connectError, freePort } from './helpers/loopback.js';
import { startFakeKombo, type FakeKombo } from './helpers/fake-kombo.js';
import { ADMIN_TOKEN, buildTestService, captureLogger, FEED_SECRET, testEnv, WEBHOOK_SECRET } from './helpers/test-service.js';

const root = fileURLToPath(new URL('..', import.meta.url));


/** The real entry (`src/main.ts`) in a child process, its stdout parsed as JSON log lines. */
function spawnService(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const waiters: { test: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      raw.push(part);
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of [...waiters]) if (waiter.test(line)) waiter.resolve();
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  return {
    child,
    raw,
    lines,
    exited,
    stderr: () => stderr,
    /** Resolves at the first log line (already written or to come) with message `msg`. */
    logged(msg: string): Promise<void> {
      if (lines.some((line) => line.msg === msg)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ test: (line) => line.msg === msg, resolve });
        void exited.then(() => reject(new Error(`exited before logging "${msg}": ${stderr}`)));
      });
    },
  };
}


/** A request with Node's own client; resolves with status, headers and body, or rejects if the connection dies. */
function send(options: http.RequestOptions, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** Everything written back on `socket` until the server closes it. */
function readUntilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('close', () => resolve(text));
  });
}

describe('shutdown of the real process', () => {
  let fake: FakeKombo;
  let dataDir: string;
  let running: ReturnType<typeof spawnService> | undefined;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord()]);
    dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-shutdown-'));
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    running = undefined;
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function env(port: number): Record<string, string> {
    // Every value is set, so the child's environment holds no undefined.
    return testEnv(fake, { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' }) as Record<string, string>;
  }

  it('on SIGTERM refuses new connections, answers the requests in flight, stops the walk, and exits 0 within 10 s', async () => {
    const port = await freePort();
    const service = (running = spawnService(env(port)));
    await service.logged('refresh succeeded');

    // An idle keep-alive connection, which must not hold the process open.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await send({ port, path: '/healthz', agent });
    // In flight 1: an operator's sync, waiting on a walk that Kombo never answers.
    fake.fail({ type: 'hang' });
    const kombosBefore = fake.requests.length;
    const sync = send({ port, method: 'POST', path: '/admin/sync', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    while (fake.requests.length === kombosBefore) await new Promise((resolve) => setTimeout(resolve, 10));
    // In flight 2: a webhook whose body is still arriving when the signal comes.
    const body = JSON.stringify({ id: 'wh-1', type: 'data-changed', data: { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] } });
    const webhook = connect(port, '127.0.0.1');
    await new Promise((resolve) => webhook.once('connect', resolve));
    const answer = readUntilClosed(webhook);
    webhook.write(
      `POST /webhooks/kombo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Kombo-Signature: ${signWebhook(body, WEBHOOK_SECRET)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server has the headers and is reading the body

    const signalledAt = performance.now();
    service.child.kill('SIGTERM');
    await service.logged('shutting down'); // logged once the listener is closed
    expect(await connectError(port)).toBe('ECONNREFUSED');

    // The walk in flight is stopped: the sync that waited on it gets its answer, now.
    const synced = await sync;
    expect(synced.status).toBe(502);
    expect(JSON.parse(synced.body)).toMatchObject({ status: 'failed' });
    // The webhook whose body was still arriving is read to its end and answered, then its connection closed.
    webhook.write(body.slice(10));
    const response = await answer;
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).toMatch(/\r\nConnection: close\r\n/i);

    const exit = await service.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    expect(service.stderr()).toBe('');
    expect(service.lines.at(-1)).toMatchObject({ level: 'info', msg: 'stopped' });
    expect(service.lines.find((line) => line.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM' });
    for (const line of service.lines) expect(typeof line.level).toBe('string');
    for (const raw of service.raw) for (const secret of [FEED_SECRET, ADMIN_TOKEN, fake.apiKey, WEBHOOK_SECRET]) expect(raw).not.toContain(secret);
    agent.destroy();
  });

  it('on SIGINT stops a first walk that Kombo never answers and exits 0, closing idle keep-alive connections', async () => {
    const port = await freePort();
    fake.fail({ type: 'hang' });
    const service = (running = spawnService(env(port)));
    await service.logged('listening');
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const agent = new http.Agent({ keepAlive: true });
    const ready = await send({ port, path: '/readyz', agent });
    expect(ready.status).toBe(503); // no snapshot: the first walk hangs
    const idle = Object.values(agent.freeSockets).flat()[0]!;
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));

    const signalledAt = performance.now();
    service.child.kill('SIGINT');
    await idleClosed;
    const exit = await service.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    expect(service.lines.find((line) => line.msg === 'refresh aborted')).toMatchObject({ level: 'info', refresh: { outcome: 'aborted' } });
    expect(service.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    agent.destroy();
  });
});

describe('start and stop in process', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord()]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('sets the server timeouts deliberately, and stop() ends the timer and the listener', async () => {
    const config = { ...loadConfig(testEnv(fake, { PORT: '0', HOST: '127.0.0.1' })), syncIntervalMs: 20 };
    const { logger } = captureLogger();
    const service = buildTestService(fake, { config: { syncIntervalMs: 20 } });
    const running = await start(config, logger, service);
    // A slow client cannot hold a socket: headers within 15 s, the whole request within 30 s. Keep-alive outlives
    // a load balancer's usual 60 s idle timeout, so the balancer, not us, closes idle connections.
    expect(running.server.headersTimeout).toBe(15_000);
    expect(running.server.requestTimeout).toBe(30_000);
    expect(running.server.keepAliveTimeout).toBe(65_000);
    expect(running.server.headersTimeout).toBeLessThan(running.server.requestTimeout);
    expect(running.server.keepAliveTimeout).toBeGreaterThan(60_000);
    expect(running.server.maxConnections).toBe(10_000); // MAX_CONNECTIONS

    while (fake.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 10)); // the timer walks
    await running.stop();
    expect(running.server.listening).toBe(false);
    const after = fake.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 200)); // ten sync intervals
    expect(fake.requests.length).toBe(after);
    await expect(service.sync.refresh()).rejects.toThrow(/closed/);
    await running.stop(); // a second signal waits for the same stop
  });
});
