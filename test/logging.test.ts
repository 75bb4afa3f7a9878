import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/http/routes/webhook-routes.js';
import { createLogDestination, createLogger } from '../src/logger.js';
import { interviewRecord, komboUser } from './helpers/factories.js';
import { startFakeKombo, type FakeKombo } from './helpers/fake-kombo.js';
import { ADMIN_TOKEN, buildTestService, FEED_SECRET, feedPath, WEBHOOK_SECRET } from './helpers/test-service.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('logs', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('are JSON lines with a level word, one per request and per refresh, with no secret or feed token anywhere', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'iv-2', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-bad', starting_at: 'not a date' }),
    ]);
    const service = buildTestService(fake);
    const { logs } = service;
    const app = request(service.app);
    const adaPath = feedPath(service, 'ada@example.com');
    const gracePath = feedPath(service, 'grace@example.com');
    const nobodyPath = feedPath(service, 'nobody@example.com');
    const tokens = [adaPath, gracePath, nobodyPath].map((path) => path.slice('/feeds/'.length, -'.ics'.length));
    const tampered = `/feeds/${tokens[0]!.slice(0, -2)}xy.ics`;

    await app.get(adaPath).expect(503); // before the first snapshot
    await app.post('/admin/sync').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    const first = await app.get(adaPath).expect(200);
    await app.get(adaPath).set('If-None-Match', String(first.headers.etag)).expect(304);
    await app.get(gracePath).set('Accept-Encoding', 'gzip').expect(200);
    await app.get(nobodyPath).expect(200);
    await app.get(tampered).expect(404);
    await app.get(`/feeds/${tokens[0]}%ZZ.ics`).expect((res) => expect(res.status).toBeGreaterThanOrEqual(400));
    await app.get(`/admin/feed-url?email=ada@example.com`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    await app.get('/admin/feed-url?email=ada@example.com').set('Authorization', `Bearer ${FEED_SECRET}`).expect(403);
    await app.get('/metrics').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    const body = JSON.stringify({
      id: 'wh-1',
      type: 'data-changed',
      data: { integration_id: fake.integrationId, changed_models: [{ name: 'ats_interviews' }] },
    });
    await app.post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', signWebhook(body, WEBHOOK_SECRET)).send(body).expect(200);
    await app.post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', 'forged').send(body).expect(401);
    await service.sync.refresh().catch(() => {}); // joins the refresh the webhook started
    fake.fail({ type: 'status', status: 500 }, { times: 10 });
    await app.post('/admin/sync?full=true').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(502);
    fake.clearFaults();
    fake.fail({ type: 'status', status: 401 }, { times: 1 });
    await app.post('/admin/sync').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(502);
    await app.get('/healthz').expect(200);
    await app.get('/no/such/path').expect(404);
    await tick();

    // Every line: one JSON object with a level word, and nothing secret in its raw text.
    expect(logs.raw.length).toBe(logs.lines.length);
    const secrets = [FEED_SECRET, ADMIN_TOKEN, fake.apiKey, WEBHOOK_SECRET, ...tokens, signWebhook(body, WEBHOOK_SECRET)];
    for (const [index, raw] of logs.raw.entries()) {
      const line = JSON.parse(raw) as Record<string, unknown>;
      expect(LEVELS, raw).toContain(line.level);
      expect(typeof line.time, raw).toBe('string');
      expect(typeof line.msg, raw).toBe('string');
      for (const secret of secrets) expect(raw, `line ${index} holds a secret or token`).not.toContain(secret);
      // Not even a long stretch of a token (a URL cut or decoded differently).
      for (const token of tokens) expect(raw).not.toContain(token.slice(4, 24));
    }

    // One line per request: method, route pattern, status, duration; a feed carries only a short hash.
    const requests = logs.lines.filter((line) => line.msg === 'request');
    expect(requests.length).toBe(17); // every request above
    for (const line of requests) {
      expect(line).toMatchObject({ level: 'info', method: expect.any(String), route: expect.any(String), status: expect.any(Number) });
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
    }
    const feedLines = requests.filter((line) => line.route === '/feeds/:file');
    expect(feedLines.slice(0, 6).map((line) => line.status)).toEqual([503, 200, 304, 200, 200, 404]);
    const hashes = feedLines.map((line) => line.feed);
    expect(hashes[0]).toMatch(/^[A-Za-z0-9_-]{10}$/);
    expect(hashes.slice(0, 3)).toEqual([hashes[0], hashes[0], hashes[0]]); // one subscriber, followed without the token
    expect(new Set(hashes.slice(0, 5)).size).toBe(3);
    expect(hashes.slice(5).filter((h) => h !== undefined)).toEqual([]); // no hash for what is not a valid token
    expect(requests.map((line) => `${String(line.method)} ${String(line.route)} ${String(line.status)}`)).toEqual(
      expect.arrayContaining([
        'POST /admin/sync 200',
        'POST /admin/sync 502',
        'GET /admin/feed-url 200',
        'GET /admin/feed-url 403',
        'GET /metrics 200',
        'POST /webhooks/kombo 200',
        'POST /webhooks/kombo 401',
        'GET /healthz 200',
        'GET unmatched 404',
      ]),
    );

    // One line per refresh: kind, pages, interviews, changes, rejected records, duration, outcome.
    const refreshes = logs.lines.filter((line) => line.refresh !== undefined).map((line) => line.refresh as Record<string, unknown>);
    const succeeded = refreshes.filter((r) => r.outcome === 'success');
    expect(succeeded.length).toBeGreaterThanOrEqual(2);
    expect(succeeded[0]).toMatchObject({ kind: 'full', pages: 2, interviews: 2, changes: 2, rejectedRecords: 1, durationMs: expect.any(Number) });
    const failed = refreshes.filter((r) => r.outcome === 'failure');
    expect(failed).toEqual([
      expect.objectContaining({ kind: 'full', durationMs: expect.any(Number), error: expect.any(String) }),
      expect.objectContaining({ kind: 'incremental', durationMs: expect.any(Number), error: expect.any(String) }),
    ]);
    expect(logs.lines.find((line) => String(line.msg).startsWith('invalid Kombo record'))).toMatchObject({ level: 'warn', recordId: 'iv-bad' });
  });
});

describe('createLogger', () => {
  function capture(level: string) {
    const raw: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    return { logger: createLogger({ level, destination }), raw };
  }

  it('writes only lines at or above LOG_LEVEL, level as a word and time in ISO 8601', async () => {
    const { logger, raw } = capture('warn');
    logger.debug('hidden');
    logger.info('hidden');
    logger.warn({ n: 1 }, 'shown');
    logger.error('shown too');
    await tick();
    expect(raw.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'shown', n: 1, service: 'interview-feeds', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) }),
      expect.objectContaining({ level: 'error', msg: 'shown too' }),
    ]);
  });

  it('redacts credentials wherever a careless log line puts them', async () => {
    const { logger, raw } = capture('info');
    logger.info(
      {
        apiKey: 'S1',
        feedSecret: 'S2',
        config: { kombo: { apiKey: 'S3', webhookSecret: 'S4' }, adminToken: 'S5' },
        req: { headers: { authorization: 'Bearer S6', 'x-kombo-signature': 'S7' } },
        headers: { authorization: 'Bearer S8' },
        token: 'S9',
        feed: { feedToken: 'S10' },
      },
      'careless',
    );
    await tick();
    expect(raw).toHaveLength(1);
    expect(raw[0]).not.toMatch(/"S\d+"|Bearer S/);
    expect(raw[0]).toContain('[redacted]');
  });
});

describe('createLogDestination', () => {
  const files: string[] = [];
  afterEach(() => {
    for (const file of files.splice(0)) rmSync(file, { force: true });
  });
  function destinationFile() {
    const file = join(mkdtempSync(join(tmpdir(), 'log-destination-')), 'out.log');
    files.push(file);
    const fd = openSync(file, 'w');
    return { file, destination: createLogDestination(fd), read: () => readFileSync(file, 'utf8') };
  }

  it('holds lines briefly, then writes them whole and in order in one batch', async () => {
    const { destination, read } = destinationFile();
    const logger = createLogger({ level: 'info', destination });
    for (let i = 0; i < 5; i++) logger.info({ i }, 'line');
    expect(read()).toBe(''); // held, not one write per line
    await new Promise<void>((resolve, reject) => destination.flush((error) => (error ? reject(error) : resolve())));
    const lines = read().trimEnd().split('\n').map((line) => JSON.parse(line) as { i: number });
    expect(lines.map((line) => line.i)).toEqual([0, 1, 2, 3, 4]);
    await destination.close();
  });

  it('writes a full batch without waiting for the timer, and everything held when closed', async () => {
    const { destination, read } = destinationFile();
    const logger = createLogger({ level: 'info', destination });
    for (let i = 0; i < 300; i++) logger.info({ i }, 'line');
    await tick(); // well under the 250 ms timer: only whole batches have gone out
    const early = read().trimEnd().split('\n').length;
    expect(early).toBeGreaterThanOrEqual(256);
    expect(early).toBeLessThan(300);
    await destination.close();
    expect(read().trimEnd().split('\n').map((line) => (JSON.parse(line) as { i: number }).i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });
});

describe('log lines at exit', () => {
  it('are written even when stdout is a full, non-blocking pipe as the process exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-exit-'));
    const script = join(dir, 'exit.mjs');
    const logger = pathToFileURL(join(fileURLToPath(new URL('..', import.meta.url)), 'src/logger.ts')).href;
    writeFileSync(
      script,
      `import { writeSync } from 'node:fs';
       import { createLogDestination, createLogger } from ${JSON.stringify(logger)};
       void process.stdout; // libuv makes a piped fd 1 non-blocking, as any use of process.stdout does
       const logger = createLogger({ level: 'info', destination: createLogDestination() });
       try { for (;;) writeSync(1, 'x'.repeat(1023) + '\\n'); } catch {} // a collector that is not reading: the pipe is full
       for (let i = 0; i < 5; i++) logger.info({ i }, 'last words');
       process.exit(0);`,
    );
    // The collector reads nothing for a second: the child fills the pipe, logs, and exits before anyone reads.
    const child = spawn('/bin/sh', ['-c', `"$0" --import tsx "$1" | (sleep 1; cat)`, process.execPath, script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await new Promise((resolve) => child.on('close', resolve));
    rmSync(dir, { recursive: true, force: true });
    const last = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; i: number });
    expect(last.map((line) => [line.msg, line.i])).toEqual([0, 1, 2, 3, 4].map((i) => ['last words', i]));
  });
});
