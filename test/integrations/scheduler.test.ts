import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemorySnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { sleep as realSleep } from '../../src/kombo/create-kombo-client.js';
import { DEFAULT_RETRY_POLICY } from '../../src/kombo/retry-policy.js';
import { delayToNextRefresh, PENDING_RETRY_MS, refreshPhaseMs } from '../../src/sync/sync-scheduler.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin, postWebhook, until } from '../helpers/integrations.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

const A = 'greenhouse:acme';
const B = 'lever:globex';
const C = 'ashby:initech';
const ADA = 'ada@example.com';

const record = (id: string, title: string) => interviewRecord({ id, title, users: [komboUser(ADA, 'Ada', 'Lovelace')] });
const statusOf = async (service: ReturnType<typeof buildTestService>, id: string) =>
  ((await admin(service, 'get', '/admin/integrations').expect(200)).body as { integrations: Array<{ id: string; status: string }> }).integrations.find((i) => i.id === id)?.status;
const requestsOf = (fake: FakeKombo, id: string) => fake.requests.filter((r) => r.integrationId === id).length;

describe('the refresh schedule spreads integrations over the interval', () => {
  it('gives no second of a 300 s interval more than 1.5× the mean refreshes of 1,000 integrations', () => {
    const intervalMs = 300_000;
    for (const nowMs of [0, Date.UTC(2026, 10, 1, 12, 0, 0, 123), 1_234_567]) {
      const perSecond = new Map<number, number>();
      for (let seq = 0; seq < 1_000; seq++) {
        const delay = delayToNextRefresh(nowMs, refreshPhaseMs(seq, intervalMs), intervalMs);
        expect(delay).toBeGreaterThan(0);
        expect(delay).toBeLessThanOrEqual(intervalMs);
        const second = Math.floor(delay / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      }
      const mean = 1_000 / 300;
      expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(1.5 * mean);
    }
  });
});

describe('integrations under one scheduler', () => {
  let fake: FakeKombo;
  const services: Array<ReturnType<typeof buildTestService>> = [];

  beforeEach(async () => {
    fake = await startFakeKombo({ integrationId: A });
    for (const id of [A, B, C]) fake.addIntegration(id).setRecords([record(`iv-${id}`, `Interview at ${id}`)]);
    fake.clock += 60_000;
  });
  afterEach(async () => {
    for (const service of services.splice(0)) await service.sync.close();
    await fake.close();
  });

  function build(ids: string[], extra: Parameters<typeof buildTestService>[1] = {}) {
    const service = buildTestService(fake, {
      ...extra,
      env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: ids.join(','), ...extra.env },
      overrides: { timeoutMs: 10_000, ...extra.overrides },
    });
    services.push(service);
    return service;
  }

  it('pauses on INACTIVE or INVALID (feeds keep serving, nothing walks) and resumes on ACTIVE with a refresh', async () => {
    // A short interval, so the periodic timer would walk B many times while the test watches.
    const service = build([A, B], { config: { syncIntervalMs: 40 } });
    await service.sync.refresh({ integration: A });
    await service.sync.refresh({ integration: B });
    // Each first walk is followed by one ask for the organisation's name, which names the calendar: in before it is read.
    await until(() => [A, B].every((id) => service.registry.get(id)?.organization !== null), 'both organisations named');
    const before = (await request(service.app).get(feedPath(service, ADA, B)).expect(200)).text;

    for (const state of ['INACTIVE', 'INVALID']) {
      const res = await postWebhook(service, 'integration-state-changed', { integration_id: B, state }).expect(200);
      expect(res.body).toMatchObject({ status: 'paused', integration: B });
      expect(await statusOf(service, B)).toBe('paused');
    }
    service.sync.start();
    fake.integration(B)!.upsert(record(`iv-${B}`, 'Moved while paused'));
    fake.requests.length = 0;
    service.sync.requestRefresh(B);
    await postWebhook(service, 'data-changed', { integration_id: B, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
    await postWebhook(service, 'sync-finished', { integration_id: B }).expect(200);
    // The timer walks A meanwhile, several times; never B.
    await until(() => requestsOf(fake, A) >= 3, 'A walked by the timer');
    expect(requestsOf(fake, B)).toBe(0);
    expect((await request(service.app).get(feedPath(service, ADA, B)).expect(200)).text).toBe(before);
    const health = await request(service.app).get('/healthz').expect(200);
    expect(health.body.integrations.byStatus).toMatchObject({ paused: 1 });
    await request(service.app).get('/readyz').expect(200);

    expect((await postWebhook(service, 'integration-state-changed', { integration_id: B, state: 'ACTIVE' }).expect(200)).body).toMatchObject({ status: 'resumed' });
    await until(async () => parseIcs((await request(service.app).get(feedPath(service, ADA, B)).expect(200)).text).events[0]?.summary === 'Moved while paused', 'B refreshed on resume');
    expect(await statusOf(service, B)).toBe('ok');
  });

  it('marks an integration Kombo is still setting up as pending, logs it once at info, and asks again in minutes, not seconds', async () => {
    fake.integration(B)!.errorCode = 'INTEGRATION.SETUP_SYNC_PENDING';
    const service = build([A, B], { config: { syncIntervalMs: 40 } });
    service.sync.start();
    await until(async () => (await statusOf(service, B)) === 'pending', 'B pending');
    await until(() => requestsOf(fake, A) >= 5, 'A walked by the timer several times');
    // The timer and the first-walk retries left B alone: one request, not one per interval.
    expect(requestsOf(fake, B)).toBe(1);
    expect(PENDING_RETRY_MS).toBeGreaterThanOrEqual(60_000);
    await request(service.app).get('/readyz').expect(200);
    expect((await request(service.app).get('/healthz').expect(200)).body.integrations.byStatus).toMatchObject({ pending: 1, ok: 1 });

    // Asked on demand, it is tried, but the log says it once, and not as an error.
    await admin(service, 'post', '/admin/sync').query({ integration: B }).expect(502);
    await admin(service, 'post', '/admin/sync').query({ integration: B }).expect(502);
    const lines = service.logs.lines.filter((l) => l.integration === B || JSON.stringify(l).includes('SETUP_SYNC_PENDING'));
    expect(lines.filter((l) => l.level === 'info' && /being set up/.test(String(l.msg)))).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'warn' || l.level === 'fatal')).toEqual([]);

    // Connected at last: the next walk succeeds, and it says so.
    fake.integration(B)!.errorCode = null;
    await admin(service, 'post', '/admin/sync').query({ integration: B }).expect(200);
    expect(await statusOf(service, B)).toBe('ok');
  });

  it("keeps a third integration's webhook change landing within seconds while one hangs and one storms 429", async () => {
    const service = build([A, B, C], {
      env: { SYNC_CONCURRENCY: '2' },
      // Real sleeps, so a Retry-After is waited out for real; attempts enough to keep B storming for the whole test.
      overrides: { sleep: realSleep, timeoutMs: 60_000, policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 50, maxDelayMs: 60_000, budgetMs: 600_000 } },
    });
    for (const id of [A, B, C]) await service.sync.refresh({ integration: id });

    fake.fail({ type: 'hang' }, { times: 1_000, when: (r) => r.integrationId === A && r.path === '/v1/ats/interviews' });
    fake.fail(
      { type: 'status', status: 429, headers: { 'Retry-After': '30' }, body: { status: 'error', error: { code: 'PLATFORM.RATE_LIMIT_EXCEEDED', title: null, message: 'slow down', log_url: null } } },
      { times: 1_000, when: (r) => r.integrationId === B && r.path === '/v1/ats/interviews' },
    );
    fake.requests.length = 0;
    service.sync.requestRefresh(A);
    service.sync.requestRefresh(B);
    await until(() => requestsOf(fake, A) >= 1 && requestsOf(fake, B) >= 1, 'A hanging and B rate-limited');

    fake.integration(C)!.upsert(record(`iv-${C}`, 'Moved at Initech'));
    await postWebhook(service, 'data-changed', { integration_id: C, changed_models: [{ name: 'ats_interviews' }] }).expect(200);
    const deadline = Date.now() + 8_000;
    let title: string | null | undefined;
    while (Date.now() < deadline) {
      title = parseIcs((await request(service.app).get(feedPath(service, ADA, C)).expect(200)).text).events[0]?.summary;
      if (title === 'Moved at Initech') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(title).toBe('Moved at Initech');
    // The faults held all along: A still hung, B still waiting out its Retry-After.
    expect(service.sync.get(A)!.engine.status().running).toBe(true);
    expect(service.sync.get(B)!.engine.status().running).toBe(true);
  });

  it('spreads the catch-up walks of restored integrations over the first interval', async () => {
    const ids = Array.from({ length: 8 }, (_, n) => `tool:restored-${n}`);
    for (const id of ids) fake.addIntegration(id).setRecords([record(`iv-${id}`, 'x')]);
    const store = createMemorySnapshotStore();
    const first = build(ids, { overrides: { state: createMemoryState({ snapshots: store }) } });
    for (const id of ids) await first.sync.refresh({ integration: id });
    await first.sync.close();

    const intervalMs = 1_600;
    const second = build(ids, { overrides: { state: createMemoryState({ snapshots: store }) }, config: { syncIntervalMs: intervalMs } });
    expect(await second.restore()).toBe(true);
    const firstSeen = new Map<string, number>();
    fake.requests.length = 0;
    const started = Date.now();
    second.sync.start();
    await until(() => {
      for (const r of fake.requests) if (r.integrationId && !firstSeen.has(r.integrationId)) firstSeen.set(r.integrationId, Date.now() - started);
      return firstSeen.size === ids.length;
    }, 'every restored integration walked');
    const times = [...firstSeen.values()].sort((x, y) => x - y);
    // Evenly spread catch-ups start interval/8 apart: the span is at least most of the interval, never a herd.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(intervalMs / 2);
    const inFirstTenth = times.filter((t) => t < intervalMs / 10).length;
    expect(inFirstTenth).toBeLessThanOrEqual(2);
  });

  describe('/readyz', () => {
    it('with one integration, is 503 until its first snapshot', async () => {
      const service = build([A]);
      await service.restore();
      await request(service.app).get('/readyz').expect(503);
      fake.fail({ type: 'status', status: 500 }, { times: 3 });
      await expect(service.sync.refresh()).rejects.toThrow();
      await request(service.app).get('/readyz').expect(503);
      await service.sync.refresh();
      await request(service.app).get('/readyz').expect(200);
    });

    it.each([
      ['401', (kombo: FakeKombo) => kombo.fail({ type: 'status', status: 401, body: { status: 'error', error: { code: 'PLATFORM.AUTHENTICATION_INVALID', title: null, message: 'bad key', log_url: null } } }, { times: 1_000, when: (r) => r.integrationId === B })],
      ['404', (kombo: FakeKombo) => kombo.removeIntegration(B)],
    ])('is not held by an integration Kombo refuses with %s: it settles at once as failing', async (_status, refuse) => {
      refuse(fake);
      const service = build([A, B]);
      const slept: number[] = [];
      service.sync.start({ sleep: async (ms) => void slept.push(ms) });
      await until(async () => (await request(service.app).get('/readyz')).status === 200, 'ready');
      expect(await statusOf(service, B)).toBe('failing');
      expect(slept).toEqual([]); // no backoff loop on an answer no retry can fix
      expect(requestsOf(fake, B)).toBe(1);
    });

    it('is not held forever by an integration whose first walks keep failing', async () => {
      fake.fail({ type: 'status', status: 503 }, { times: 100_000, when: (r) => r.integrationId === B });
      const service = build([A, B]);
      service.sync.start({ sleep: async () => {} });
      await until(async () => (await request(service.app).get('/readyz')).status === 200, 'ready');
      expect(await statusOf(service, B)).toBe('failing');
      expect(await statusOf(service, A)).toBe('ok');
    });
  });
});
