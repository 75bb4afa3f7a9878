import { createHmac } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedPath, WEBHOOK_SECRET } from '../helpers/test-service.js';

const MINUTE = 60_000;
const ada = komboUser('ada@example.com', 'Ada', 'Lovelace');

/**
 * A fetch that lets each request reach the fake and then holds its answer until the test opens the gate: a walk
 * stays in flight, with its first page already read by Kombo, for as long as the test needs.
 */
function gatedFetch() {
  let open!: () => void;
  let opened = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    // Only interview pages are held and counted: GET /integrations/{id}, asked after the first walk, would race the gate.
    if (!String(input instanceof Request ? input.url : input).includes('/ats/interviews')) return globalThis.fetch(input, init);
    const response = await globalThis.fetch(input, init);
    held++;
    await opened;
    return response;
  };
  return {
    fetch,
    held: () => held,
    open: () => open(),
    close: () => {
      opened = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

const until = async (condition: () => boolean) => {
  for (let n = 0; n < 1_000 && !condition(); n++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
};

function webhook(service: Service, integrationId: string, id = 'evt') {
  const body = JSON.stringify({ id, type: 'data-changed', data: { integration_id: integrationId, changed_models: [{ name: 'ats_interviews' }] } });
  const signature = createHmac('sha256', WEBHOOK_SECRET).update(body).digest('base64url');
  return request(service.app).post('/webhooks/kombo').set('X-Kombo-Signature', signature).set('Content-Type', 'application/json').send(body);
}

const adminSync = (service: Service) => request(service.app).post('/admin/sync').set('Authorization', `Bearer ${ADMIN_TOKEN}`);

describe('one walk at a time', () => {
  let fake: FakeKombo;
  let gate: ReturnType<typeof gatedFetch>;
  let service: ReturnType<typeof buildTestService>;

  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords([
      interviewRecord({ id: 'iv-1', title: 'One', users: [ada] }),
      interviewRecord({ id: 'iv-2', title: 'Two', starting_at: '2026-12-02T10:00:00Z', ending_at: '2026-12-02T11:00:00Z', users: [ada] }),
      interviewRecord({ id: 'iv-3', title: 'Three', starting_at: '2026-12-03T10:00:00Z', ending_at: '2026-12-03T11:00:00Z', users: [ada] }),
    ]);
    fake.clock += 10 * MINUTE;
    gate = gatedFetch();
    // A held answer must not time out while the test looks at the walk in flight, however slow the machine.
    service = buildTestService(fake, { overrides: { fetch: gate.fetch, timeoutMs: 30_000 } });
  });
  afterEach(async () => {
    gate.open();
    await service.sync.close();
    await fake.close();
  });

  it('shares the walk in flight between refresh() calls (the timer calls it too) and POST /admin/sync, and reports its outcome to each', async () => {
    const refresh = vi.spyOn(service.sync, 'refresh');
    const first = service.sync.refresh();
    const second = service.sync.refresh();
    const admin = adminSync(service).then((res) => res);
    const admin2 = adminSync(service).then((res) => res);
    await until(() => refresh.mock.calls.length === 4 && gate.held() === 1);
    expect(service.sync.status().running).toBe(true);
    gate.open();

    const [a, b, viaAdmin, viaAdmin2] = await Promise.all([first, second, admin, admin2]);
    expect(b).toBe(a);
    expect(a).toMatchObject({ kind: 'full', pages: 2, interviews: 3 });
    // One walk of two pages, whoever asked.
    expect(fake.requests).toHaveLength(2);
    expect(viaAdmin.status).toBe(200);
    expect(viaAdmin.body).toEqual({ status: 'ok', integration: fake.integrationId, summary: a });
    expect(viaAdmin2.body).toEqual(viaAdmin.body);
    expect(service.sync.status().running).toBe(false);

    // The shared walk is over: the next refresh is a new walk.
    fake.clock += 5 * MINUTE;
    await service.sync.refresh();
    expect(fake.requests).toHaveLength(3);
  });

  it('reports a shared walk that failed to every caller, POST /admin/sync with a 502 and the reason', async () => {
    fake.fail({ type: 'status', status: 503 }, { times: 100 });
    const first = service.sync.refresh().then(
      () => new Error('the walk should have failed'),
      (error: unknown) => error as Error,
    );
    const refresh = vi.spyOn(service.sync, 'refresh');
    const admin = adminSync(service).then((res) => res);
    await until(() => refresh.mock.calls.length === 1 && gate.held() === 1);
    gate.open();
    const [error, viaAdmin] = await Promise.all([first, admin]);
    expect(error.message).toMatch(/503.*gave up after 3 attempts/);
    expect(viaAdmin.status).toBe(502);
    expect(viaAdmin.body).toEqual({ status: 'failed', integration: fake.integrationId, error: error.message });
    // Three attempts of one request, not three per caller.
    expect(fake.requests).toHaveLength(3);
  });

  it('makes any number of webhooks during a walk into exactly one more walk, which brings what the first one missed', async () => {
    // A snapshot to start from, walked with the gate open.
    gate.open();
    await service.sync.refresh();
    gate.close();
    fake.requests.length = 0;

    // An incremental walk is in flight and Kombo has already answered its only page...
    fake.clock += 5 * MINUTE;
    const walking = service.sync.refresh();
    await until(() => gate.held() === 3);
    // ...when the recruiter moves an interview and Kombo tells us, five times over.
    fake.clock += 1_000;
    fake.upsert(interviewRecord({ id: 'iv-2', title: 'Two, moved', users: [ada] }));
    for (let n = 0; n < 5; n++) await webhook(service, fake.integrationId, `evt-${n}`).expect(200, { status: 'refresh-started', models: ['ats_interviews'] });
    expect(fake.requests).toHaveLength(1);
    gate.open();
    expect((await walking).changes).toBe(0);

    await until(() => !service.sync.status().running && fake.requests.length === 2);
    const feed = parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text);
    expect(feed.events.map((e) => e.summary)).toEqual(['One', 'Two, moved', 'Three']);
    // The walk in flight and one more: two requests, not six walks.
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests.every((r) => r.query.updated_after !== undefined)).toBe(true);
    expect(service.sync.status().lastSuccess).toMatchObject({ kind: 'incremental', changes: 1 });
  });

  it('starts a walk at once for a webhook when none is in flight', async () => {
    gate.open();
    await webhook(service, fake.integrationId).expect(200);
    await until(() => !service.sync.status().running && service.feeds.snapshot(fake.integrationId) !== undefined);
    expect(fake.requests).toHaveLength(2);
  });

  it('refuses new walks after close(), and close() ends the walk in flight', async () => {
    fake.fail({ type: 'hang' }, { times: 100 });
    const walking = service.sync.refresh().then(
      () => new Error('the walk should have been aborted'),
      (error: unknown) => error as Error,
    );
    await until(() => fake.requests.length === 1);
    await service.sync.close();
    expect((await walking).message).toMatch(/aborted/);
    await expect(service.sync.refresh()).rejects.toThrow(/closed/);
    expect(fake.requests).toHaveLength(1);
    // Stopping our own walk is no failure of Kombo's: /healthz and the failure counter do not say it is.
    expect(service.sync.status()).toMatchObject({ lastFailure: undefined, consecutiveFailures: 0 });
    const exposition = await service.metrics.registry.metrics();
    expect(exposition).toMatch(/interview_feeds_refreshes_total\{kind="full",outcome="aborted"\} 1/);
    expect(exposition).not.toMatch(/outcome="failure"/);
  });
});
