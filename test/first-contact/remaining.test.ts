import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MassRemovalHeldError } from '../../src/sync/mass-removal-guard.js';
import { FAILURES_BEFORE_DEGRADED } from '../../src/sync/integration-problem.js';
import { interviewRecord, komboUser, manyRecords } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { until } from '../helpers/integrations.js';
import { ADMIN_TOKEN, buildTestService } from '../helpers/test-service.js';

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
