import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { start } from '../../src/server.js';
import { MassRemovalHeldError } from '../../src/sync/mass-removal-guard.js';
import { FAILURES_BEFORE_DEGRADED } from '../../src/sync/integration-problem.js';
import { csrfIn, pageRecords, signIn } from '../admin-page/page-fixtures.js';
import { interviewRecord, komboUser, manyRecords } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { admin as adminApi, until } from '../helpers/integrations.js';
import { freePort } from '../helpers/loopback.js';
import { ADMIN_TOKEN, buildTestService, captureLogger, FEED_SECRET, feedPath } from '../helpers/test-service.js';

/* What operators meet first tells the truth and says what to do (issue 24): findings 3, 4, 7, 8 and 9. The browser
   halves are in test/browser/first-contact.test.ts. */

const root = fileURLToPath(new URL('../..', import.meta.url));
const BROWSER = { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36', Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

const AUTH = `Bearer ${ADMIN_TOKEN}`;
type Logged = Record<string, unknown>;
type Health = {
  status: string;
  ready: boolean;
  problems: { total: number; byReason: Record<string, number>; integrations?: Array<Record<string, unknown>> };
  sync: { lastFailure: Record<string, unknown> | null } | null;
};

const health = async (service: { app: Parameters<typeof request>[0] }, auth?: string) => {
  const req = request(service.app).get('/healthz');
  if (auth) req.set('Authorization', auth);
  return (await req.expect(200)).body as Health;
};

/** A port nothing listens on: Kombo unreachable. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('3. health tells the truth', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com')] })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('with a wrong Kombo key: /healthz degraded (authentication), /readyz 503, and the log claims no snapshot', async () => {
    const service = buildTestService(fake, { env: { KOMBO_API_KEY: 'a-wrong-kombo-key' } });
    service.sync.start({ sleep: async () => {} });
    const [integration] = service.sync.list();
    // A 401 settles the first walk at once (no retry fixes it): ready, by the old rule.
    await until(() => integration!.settled(), 'the first walk settled');

    const pub = await health(service);
    expect(pub).toMatchObject({ status: 'degraded', ready: false, problems: { total: 1, byReason: { authentication: 1 } } });
    expect(pub.sync!.lastFailure).toMatchObject({ reason: 'authentication' });
    // Public: kinds only, neither the upstream text nor which customer.
    expect(pub.sync!.lastFailure).not.toHaveProperty('error');
    expect(pub.problems).not.toHaveProperty('integrations');
    expect(JSON.stringify(pub)).not.toContain(fake.integrationId);
    const admin = await health(service, AUTH);
    expect(admin.problems.integrations).toEqual([{ integration: fake.integrationId, status: 'failing', reason: 'authentication', snapshot: false, consecutiveFailures: 1 }]);
    expect(admin.sync!.lastFailure).toMatchObject({ reason: 'authentication', error: expect.stringMatching(/401/) });

    await request(service.app).get('/readyz').expect(503, { ready: false });
    const failed = service.logs.lines.filter((line: Logged) => line.level === 'error' && /refresh failed/.test(String(line.msg)));
    expect(failed).toHaveLength(1);
    expect(String(failed[0]!.msg)).not.toMatch(/previous snapshot/);
    expect(String(failed[0]!.msg)).toMatch(/no snapshot yet.*503/);
    expect(failed[0]).toMatchObject({ refresh: { reason: 'authentication' } });
    await service.sync.close();
  });

  it.each([
    ['not_found', (f: FakeKombo) => ({ KOMBO_INTEGRATION_ID: `${f.integrationId}-typo` })],
    ['unreachable', async () => ({ KOMBO_BASE_URL: `http://127.0.0.1:${await closedPort()}/v1` })],
  ])('names the kind of failure: %s', async (reason, env) => {
    const service = buildTestService(fake, { env: await env(fake) });
    await expect(service.sync.refresh()).rejects.toThrow();
    expect(await health(service)).toMatchObject({ status: 'degraded', problems: { byReason: { [reason]: 1 } }, sync: { lastFailure: { reason } } });
    await request(service.app).get('/readyz').expect(503);
  });

  it(`with a snapshot serving, stays ok through ${FAILURES_BEFORE_DEGRADED - 1} failed refreshes and is degraded at the ${FAILURES_BEFORE_DEGRADED}th; ready throughout`, async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    fake.fail({ type: 'status', status: 502 }, { times: 1_000 });
    for (let n = 1; n < FAILURES_BEFORE_DEGRADED; n++) {
      await expect(service.sync.refresh()).rejects.toThrow();
      expect((await health(service)).status).toBe('ok');
    }
    await expect(service.sync.refresh()).rejects.toThrow();
    expect(await health(service)).toMatchObject({ status: 'degraded', problems: { total: 1, byReason: { unreachable: 1 } } });
    expect((await health(service, AUTH)).problems.integrations).toEqual([expect.objectContaining({ snapshot: true, consecutiveFailures: FAILURES_BEFORE_DEGRADED })]);
    await request(service.app).get('/readyz').expect(200);
    // The log tells the truth here too: a snapshot does serve.
    expect(service.logs.lines.filter((l: Logged) => l.level === 'error' && /previous snapshot keeps serving/.test(String(l.msg)))).toHaveLength(FAILURES_BEFORE_DEGRADED);
    fake.clearFaults();
    await service.sync.refresh();
    expect((await health(service)).status).toBe('ok');
  });

  it('a held mass removal is degraded (held) while feeds keep serving', async () => {
    const people = Array.from({ length: 5 }, (_, n) => `p${n}@example.com`);
    fake.setRecords(manyRecords(100, people));
    const service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    await service.sync.refresh();
    fake.setRecords([]);
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(await health(service)).toMatchObject({ status: 'degraded', problems: { total: 1, byReason: { held: 1 } } });
    await request(service.app).get('/readyz').expect(200);
  });

  it('/readyz is 503 while no served integration has a snapshot, even once every one has settled failing', async () => {
    const B = 'lever:second';
    fake.addIntegration(B);
    let bDown = true;
    fake.fail({ type: 'status', status: 503 }, { times: 100_000, when: (r) => r.integrationId !== B || bDown });
    const service = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: `${fake.integrationId},${B}` } });
    service.sync.start({ sleep: async () => {} });
    await until(() => service.sync.list().every((integration) => integration.settled()), 'both settled failing', 30_000);
    await request(service.app).get('/readyz').expect(503);
    expect(await health(service)).toMatchObject({ status: 'degraded', ready: false, problems: { total: 2, byReason: { unreachable: 2 } } });
    // One snapshot is enough to serve: ready, still degraded for the other.
    bDown = false;
    // Its first walk is still tried (with no backoff here) after it settled: it succeeds by itself.
    await until(() => service.sync.get(B)!.engine.hasSnapshot(), 'B walked');
    await request(service.app).get('/readyz').expect(200);
    expect(await health(service)).toMatchObject({ status: 'degraded', ready: true, problems: { total: 1 } });
    await service.sync.close();
  });

  it('/readyz stays 200 with no integration served (they arrive by webhook or the admin API), and /healthz ok', async () => {
    const service = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined } });
    await request(service.app).get('/readyz').expect(200);
    expect(await health(service)).toMatchObject({ status: 'ok', problems: { total: 0 } });
  });
});

describe('4. the admin page removes an integration, after a confirmation', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
  });
  afterEach(async () => {
    await fake.close();
  });

  it('a mistyped id: the page says what is wrong, asks before removing, and the removal is the API’s (feeds 404, gone from the list, /admin/feed-url needs no integration again)', async () => {
    const typo = 'greenhouse:acme-typo';
    const service = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: `${fake.integrationId},${typo}` } });
    await service.sync.refresh({ integration: fake.integrationId });
    await expect(service.sync.refresh({ integration: typo })).rejects.toThrow();
    const { cookie, csrf } = await signIn(service);
    await adminApi(service, 'get', '/admin/feed-url').query({ email: 'ada@example.com' }).expect(400);

    // The list and the integration's page say why it fails, in words, and offer the removal.
    const list = (await request(service.app).get('/admin').set('Cookie', cookie).expect(200)).text;
    expect(list).toContain('Kombo knows no integration of this id');
    const page = (await request(service.app).get(`/admin/i/${encodeURIComponent(typo)}`).set('Cookie', cookie).expect(200)).text;
    expect(page).toContain(`href="/admin/i/${encodeURIComponent(typo)}/remove"`);
    expect(page).toContain('Kombo knows no integration of this id');

    // The confirmation: what it deletes, what it leaves alone, and that the configuration names it.
    const confirm = (await request(service.app).get(`/admin/i/${encodeURIComponent(typo)}/remove`).set('Cookie', cookie).expect(200)).text;
    expect(confirm).toContain(`<h1>Remove ${typo}?</h1>`);
    expect(confirm).toMatch(/deletes its snapshot/);
    expect(confirm).toMatch(/revokes nothing at Kombo/);
    expect(confirm).toMatch(/KOMBO_INTEGRATION_IDS<\/code> names it/);
    expect(csrfIn(confirm)).toBe(csrf);
    // Needs the session; refuses another site's form and a wrong CSRF token.
    await request(service.app).get(`/admin/i/${encodeURIComponent(typo)}/remove`).expect(303);
    const path = `/admin/i/${encodeURIComponent(typo)}/remove`;
    await request(service.app).post(path).set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').type('form').send({ _csrf: csrf }).expect(403);
    await request(service.app).post(path).set('Cookie', cookie).type('form').send({ _csrf: 'wrong' }).expect(403);
    expect(service.sync.get(typo)).toBeDefined();

    const removed = await request(service.app).post(path).set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303);
    expect(removed.headers.location).toBe('/admin?notice=removed');
    expect(service.sync.get(typo)).toBeUndefined();
    expect(service.logs.lines.some((l) => l.integration === typo && /integration removed/.test(String(l.msg)))).toBe(true);
    const after = (await request(service.app).get('/admin?notice=removed').set('Cookie', cookie).expect(200)).text;
    expect(after).toContain('The integration was removed');
    expect(after).not.toContain(`/admin/i/${encodeURIComponent(typo)}"`);
    // As DELETE /admin/integrations/{id} leaves it: unknown to the API, and one integration served again.
    await adminApi(service, 'delete', `/admin/integrations/${encodeURIComponent(typo)}`).expect(404);
    await adminApi(service, 'get', '/admin/feed-url').query({ email: 'ada@example.com' }).expect(200);
    await request(service.app).get(feedPath(service, 'ada@example.com', typo)).expect(404);
    await request(service.app).post(path).set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(404);
  });
});

describe('9. team-feed links are revoked on the admin page', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
  });
  afterEach(async () => {
    await fake.close();
  });

  it.each([
    ['every interview', { all: 'true' }, { all: true }],
    ['one job', { job: 'job-1' }, { job: 'job-1' }],
  ])('"Revoke link" on %s: a confirmation, CSRF, the old URL 404s at once, the page shows the new one, other feeds untouched', async (_what, form, api) => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const { cookie, csrf } = await signIn(service);
    const teams = `/admin/i/${fake.integrationId}/teams`;
    const linkOf = async (query: Record<string, unknown>) => ((await adminApi(service, 'get', '/admin/feed-url').query(query).expect(200)).body as { url: string }).url;
    const old = await linkOf(api);
    const other = await linkOf('all' in api ? { job: 'job-1' } : { all: true });
    const before = (await request(service.app).get(teams).set('Cookie', cookie).expect(200)).text;
    expect(before).toContain(old);
    expect(before.match(/>Revoke link<\/button>/g)?.length).toBeGreaterThanOrEqual(2);
    expect(before).toContain('data-confirm="Revoke the link of “All interviews”?');

    const post = `${teams}/revoke`;
    await request(service.app).post(post).set('Cookie', cookie).set('Origin', 'https://evil.example').type('form').send({ _csrf: csrf, ...form }).expect(403);
    await request(service.app).post(post).set('Cookie', cookie).type('form').send({ _csrf: 'wrong', ...form }).expect(403);
    await request(service.app).post(post).set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(400);
    await request(service.app).post(post).set('Cookie', cookie).type('form').send({ _csrf: csrf, all: 'true', job: 'job-1' }).expect(400);
    await request(service.app).get(new URL(old).pathname).expect(200);

    const done = await request(service.app).post(post).set('Cookie', cookie).type('form').send({ _csrf: csrf, ...form, detail: 'busy' }).expect(303);
    expect(done.headers.location).toBe(`/admin/i/${encodeURIComponent(fake.integrationId)}/teams?notice=revoked&detail=busy`);
    const unknown = await request(service.app).get('/feeds/not-a-token.ics').expect(404);
    expect((await request(service.app).get(new URL(old).pathname).expect(404)).text).toBe(unknown.text);
    const fresh = await linkOf(api);
    expect(fresh).not.toBe(old);
    await request(service.app).get(new URL(fresh).pathname).expect(200);
    const after = (await request(service.app).get(`${teams}?notice=revoked`).set('Cookie', cookie).expect(200)).text;
    expect(after).toContain('The link was replaced');
    expect(after).toContain(fresh);
    expect(after).not.toContain(old);
    expect(await linkOf('all' in api ? { job: 'job-1' } : { all: true })).toBe(other);
  });
});

describe('7. every refusal explains itself: plain-http sign-in, cross-site forms', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
  });
  afterEach(async () => {
    await fake.close();
  });

  it('with an https PUBLIC_URL, a sign-in sent over plain http gets a page saying to use https (no cookie the browser would drop)', async () => {
    const service = buildTestService(fake, { env: { PUBLIC_URL: 'https://feeds.example.com' } });
    const res = await request(service.app).post('/admin/sign-in').set('Host', 'vm:8080').set('Origin', 'http://vm:8080').type('form').send({ token: ADMIN_TOKEN }).expect(400);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.text).toContain('Sign in over https');
    expect(res.text).toContain('href="https://feeds.example.com/admin"');
    // Over https, and from this machine over http (browsers keep a Secure cookie there), it signs in as before.
    await request(service.app).post('/admin/sign-in').set('Host', 'feeds.example.com').set('Origin', 'https://feeds.example.com').type('form').send({ token: ADMIN_TOKEN }).expect(303);
    await request(service.app).post('/admin/sign-in').set('Host', 'localhost:3000').set('Origin', 'http://localhost:3000').type('form').send({ token: ADMIN_TOKEN }).expect(303);
    // Without an Origin, a trusted proxy's X-Forwarded-Proto says which scheme the browser used.
    const proxied = buildTestService(fake, { env: { PUBLIC_URL: 'https://feeds.example.com', TRUST_PROXY: '1' } });
    await request(proxied.app).post('/admin/sign-in').set('X-Forwarded-Proto', 'http').set('X-Forwarded-Host', 'vm:8080').type('form').send({ token: ADMIN_TOKEN }).expect(400);
    await request(proxied.app).post('/admin/sign-in').set('X-Forwarded-Proto', 'https').set('X-Forwarded-Host', 'feeds.example.com').type('form').send({ token: ADMIN_TOKEN }).expect(303);
    // With an http PUBLIC_URL the cookie is not Secure: nothing to refuse.
    const plain = buildTestService(fake, { env: { PUBLIC_URL: 'http://localhost:8080' } });
    await request(plain.app).post('/admin/sign-in').set('Host', 'vm:8080').set('Origin', 'http://vm:8080').type('form').send({ token: ADMIN_TOKEN }).expect(303);
  });

  it('behind the compose file’s nginx, a form from host:8080 passes: Host keeps its port ($http_host), and the check compares ports', async () => {
    const conf = readFileSync(join(root, 'deploy/nginx.conf'), 'utf8');
    expect(conf).toMatch(/^\s*proxy_set_header Host \$http_host;/m);
    expect(conf).toMatch(/^\s*proxy_set_header X-Forwarded-Host \$http_host;/m);
    expect(conf).not.toMatch(/proxy_set_header (X-Forwarded-)?Host \$host;/);

    // The compose file's default PUBLIC_URL, reached from another machine at vm:8080 through nginx.
    const service = buildTestService(fake, { env: { PUBLIC_URL: 'http://localhost:8080', TRUST_PROXY: '1' } });
    const viaNginx = (host: string) =>
      request(service.app).post('/admin/sign-in').set('Host', host).set('X-Forwarded-Host', host).set('X-Forwarded-Proto', 'http').set('Origin', 'http://vm:8080').type('form');
    await viaNginx('vm:8080').send({ token: ADMIN_TOKEN }).expect(303);
    // What `Host $host` sent: the port dropped, so the origin check cannot match it (the reason the config changed).
    const refused = await viaNginx('vm').send({ token: ADMIN_TOKEN }).expect(403);
    expect(refused.text).toContain('This form was sent from http://vm:8080');
    expect(refused.text).toContain('$http_host');
    // Ports count: the same host on another port is another origin; a scheme's default port is the same as none.
    await request(service.app).post('/admin/sign-in').set('Host', 'vm:8081').set('Origin', 'http://vm:8080').type('form').send({ token: ADMIN_TOKEN }).expect(403);
    await request(service.app).post('/admin/sign-in').set('Host', 'vm:80').set('Origin', 'http://vm').type('form').send({ token: ADMIN_TOKEN }).expect(303);
  });

  it('logs every cross-site refusal with the header that failed and its value', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const { cookie, csrf } = await signIn(service);
    await request(service.app).post('/admin/sign-in').set('Sec-Fetch-Site', 'cross-site').type('form').send({ token: ADMIN_TOKEN }).expect(403);
    const page = await request(service.app).post(`/admin/i/${fake.integrationId}/sync`).set('Cookie', cookie).set('Origin', 'https://evil.example').type('form').send({ _csrf: csrf }).expect(403);
    expect(page.text).toContain('This form was sent from https://evil.example');
    const refusals = service.logs.lines.filter((l) => /refused as cross-site/.test(String(l.msg)));
    expect(refusals.map((l) => [l.level, l.crossSite])).toEqual([
      ['warn', expect.objectContaining({ header: 'Sec-Fetch-Site', value: 'cross-site', path: '/admin/sign-in' })],
      ['warn', expect.objectContaining({ header: 'Origin', value: 'https://evil.example', path: `/admin/i/${fake.integrationId}/sync` })],
    ]);
  });
});

describe('8. features that are off say so', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
  });
  afterEach(async () => {
    await fake.close();
  });

  it('without ADMIN_TOKEN, /admin is a page saying the admin page is off and which variable turns it on; the API stays the plain 404', async () => {
    const service = buildTestService(fake, { env: { ADMIN_TOKEN: undefined } });
    const res = await request(service.app).get('/admin').set(BROWSER).expect(404);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.text).toContain('The admin page is off');
    expect(res.text).toContain('<code>ADMIN_TOKEN</code>');
    expect(res.text).toContain('OIDC_ADMIN_EMAILS');
    const unknown = await request(service.app).get('/no/such/thing').expect(404);
    expect((await request(service.app).get('/admin/integrations').expect(404)).text).toBe(unknown.text);
  });

  it('with an empty registry, the integrations list says how to add one', async () => {
    const service = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined } });
    const { cookie } = await signIn(service);
    const page = (await request(service.app).get('/admin').set('Cookie', cookie).expect(200)).text;
    expect(page).toContain('No integration is served yet');
    expect(page).toContain('KOMBO_INTEGRATION_IDS');
    expect(page).toContain('https://feeds.example.com/admin/integrations');
    expect(page).toContain('integration-created');
    expect(page).toContain('https://feeds.example.com/webhooks/kombo');
  });

  it('start-up with no integration logs one line saying how to add one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-empty-'));
    const { logger, logs } = captureLogger('info');
    const config = loadConfig({ KOMBO_API_KEY: fake.apiKey, KOMBO_BASE_URL: fake.baseUrl, FEED_SECRET, PUBLIC_URL: 'https://feeds.example.com', ADMIN_TOKEN, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir });
    const running = await start(config, logger);
    try {
      const lines = logs.lines.filter((line) => /no integration is served yet/.test(String(line.msg)));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'info', integrations: 0 });
      for (const way of ['KOMBO_INTEGRATION_IDS', 'POST /admin/integrations', 'integration-created']) expect(String(lines[0]!.msg)).toContain(way);
      // ADMIN_TOKEN is set: nothing says the admin page is off.
      expect(logs.lines.filter((line) => /ADMIN_TOKEN is unset/.test(String(line.msg)))).toEqual([]);
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('start-up without ADMIN_TOKEN logs one line saying the admin page and API are off, and how to turn them on', { timeout: 60_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'interview-feeds-admin-off-'));
    const port = await freePort();
    const TSX = createRequire(import.meta.url).resolve('tsx/cli');
    const env = {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: join(work, 'data'),
      KOMBO_API_KEY: fake.apiKey,
      KOMBO_BASE_URL: fake.baseUrl,
      KOMBO_INTEGRATION_ID: fake.integrationId,
      FEED_SECRET,
      PUBLIC_URL: 'https://feeds.example.com',
    };
    const child = spawn(process.execPath, [TSX, join(root, 'src/main.ts')], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const lines: Record<string, unknown>[] = [];
      await new Promise<void>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const parts = buffered.split('\n');
          buffered = parts.pop()!;
          for (const part of parts) lines.push(JSON.parse(part) as Record<string, unknown>);
          if (lines.some((line) => line.msg === 'listening')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited (${code}) before listening`)));
      });
      await until(() => lines.some((line) => /ADMIN_TOKEN is unset/.test(String(line.msg))), 'the admin-off line');
      const off = lines.filter((line) => /ADMIN_TOKEN/.test(String(line.msg)));
      expect(off).toHaveLength(1);
      expect(off[0]).toMatchObject({ level: 'info', adminPage: 'off', adminApi: 'off' });
      expect(String(off[0]!.msg)).toMatch(/admin page \(\/admin\) and the admin API .* are off; set ADMIN_TOKEN to turn them on/);
      const page = await fetch(`http://127.0.0.1:${port}/admin`, { headers: BROWSER });
      expect(page.status).toBe(404);
      expect(await page.text()).toContain('The admin page is off');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(work, { recursive: true, force: true });
    }
  });
});
