import { readFile } from 'node:fs/promises';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFeedTokens } from '../../src/feeds/feed-token.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin, rawGet, until } from '../helpers/integrations.js';
import { buildTestService, FEED_SECRET, feedPath } from '../helpers/test-service.js';

const A = 'greenhouse:acme';
const B = 'lever:globex/eu';
const ADA = 'ada@example.com';

function build(fake: FakeKombo, ids: string[]) {
  return buildTestService(fake, {
    env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: ids.join(',') },
    overrides: { timeoutMs: 10_000 },
  });
}

describe('several integrations in one service', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof build>;

  beforeEach(async () => {
    fake = await startFakeKombo({ integrationId: A });
    fake.integration(A)!.organization = 'Acme Robotics';
    fake.addIntegration(B, { tool: 'Lever', organization: 'Globex' });
    fake.integration(A)!.setRecords([
      interviewRecord({ id: 'iv-a1', title: 'Acme intro', users: [komboUser(ADA, 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'iv-a2', title: 'Acme only Grace', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
    ]);
    fake.integration(B)!.setRecords([
      interviewRecord({ id: 'iv-b1', title: 'Globex pairing', users: [komboUser(ADA, 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'iv-b2', title: 'Globex onsite', starting_at: '2026-12-05T10:00:00Z', ending_at: '2026-12-05T11:00:00Z', users: [komboUser(ADA, 'Ada', 'Lovelace')] }),
    ]);
    fake.clock += 60_000;
    service = build(fake, [A, B]);
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  async function walkBoth() {
    await service.sync.refresh({ integration: A });
    await service.sync.refresh({ integration: B });
    // The organisation comes from GET /integrations/{id}, asked once after the first good walk.
    await until(() => service.registry.get(A)?.organization === 'Acme Robotics' && service.registry.get(B)?.organization === 'Globex', 'organisations known');
  }

  it('gives the same person two URLs, each feed holding only its integration interviews, named with the organisation', async () => {
    await walkBoth();
    const urls = await Promise.all(
      [A, B].map(async (integration) => {
        const res = await admin(service, 'get', '/admin/feed-url').query({ integration, email: ADA }).expect(200);
        return new URL((res.body as { url: string }).url).pathname;
      }),
    );
    expect(urls[0]).not.toBe(urls[1]);
    const [acme, globex] = await Promise.all(urls.map(async (path) => parseIcs((await request(service.app).get(path).expect(200)).text)));
    expect(acme!.events.map((e) => e.summary)).toEqual(['Acme intro']);
    expect(globex!.events.map((e) => e.summary).sort()).toEqual(['Globex onsite', 'Globex pairing']);
    expect(acme!.name).toBe('Interviews: Ada Lovelace (Acme Robotics)');
    expect(acme!.wrCalName).toBe('Interviews: Ada Lovelace (Acme Robotics)');
    expect(globex!.name).toBe('Interviews: Ada Lovelace (Globex)');
    expect(fake.describeRequests.map((r) => r.path).sort()).toEqual([`/v1/integrations/${encodeURIComponent(A)}`, `/v1/integrations/${encodeURIComponent(B)}`].sort());
  });

  it('refreshes one integration by POST /admin/sync?integration=ID, and asks for the id with 400 when several are served', async () => {
    await walkBoth();
    fake.requests.length = 0;
    const res = await admin(service, 'post', '/admin/sync').query({ integration: B }).expect(200);
    expect(res.body).toMatchObject({ status: 'ok', integration: B });
    expect(new Set(fake.requests.map((r) => r.integrationId))).toEqual(new Set([B]));

    fake.requests.length = 0;
    const missing = await admin(service, 'post', '/admin/sync').expect(400);
    expect(JSON.stringify(missing.body)).toMatch(/integration must be named/);
    await admin(service, 'post', '/admin/sync').query({ integration: 'nobody:here' }).expect(404);
    await admin(service, 'get', '/admin/feed-url').query({ email: ADA }).expect(400);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers GET /admin/integrations with each status and ISO times or null, and /healthz with counts only', async () => {
    const before = await admin(service, 'get', '/admin/integrations').expect(200);
    const byId = (body: unknown) => Object.fromEntries((body as { integrations: Array<Record<string, unknown>> }).integrations.map((i) => [i.id, i]));
    expect(byId(before.body)[A]).toMatchObject({ id: A, status: 'new', interviews: 0, interviewers: 0, lastSuccessAt: null, lastFailureAt: null, lastError: null });

    await service.sync.refresh({ integration: A });
    fake.fail({ type: 'status', status: 500 }, { times: 10, when: (r) => r.integrationId === B });
    await expect(service.sync.refresh({ integration: B })).rejects.toThrow();
    const after = byId((await admin(service, 'get', '/admin/integrations').expect(200)).body);
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    expect(after[A]).toMatchObject({ status: 'ok', interviews: 2, interviewers: 2, lastFailureAt: null, lastError: null });
    expect(after[A]!.lastSuccessAt).toMatch(iso);
    expect(after[B]).toMatchObject({ status: 'failing', interviews: 0, lastSuccessAt: null });
    expect(after[B]!.lastFailureAt).toMatch(iso);
    expect(after[B]!.lastError).toEqual(expect.any(String));

    const health = await request(service.app).get('/healthz').expect(200);
    expect(health.body.integrations).toMatchObject({ total: 2, byStatus: { new: 0, ok: 1, failing: 1, pending: 0, paused: 0 } });
    expect(JSON.stringify(health.body)).not.toContain(A);
    expect(JSON.stringify(health.body)).not.toContain(B);
  });

  it('keeps metric labels bounded: no label value is an integration id or an email after walking 20 integrations', async () => {
    const ids = Array.from({ length: 20 }, (_, n) => `tool:customer-${n}`);
    for (const id of ids) {
      fake.addIntegration(id).setRecords([interviewRecord({ id: `iv-${id}`, users: [komboUser(`person-${id.slice(5)}@example.com`)] })]);
      await admin(service, 'post', '/admin/integrations').send({ id }).expect(201);
    }
    for (const id of ids) await admin(service, 'post', '/admin/sync').query({ integration: id }).expect(200);
    for (const id of ids) await request(service.app).get(feedPath(service, `person-${id.slice(5)}@example.com`, id)).expect(200);
    for (const id of ids.slice(0, 5)) await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(id)}`).expect(204);
    await admin(service, 'post', '/admin/sync').query({ integration: 'tool:customer-0' }).expect(404);
    const text = (await admin(service, 'get', '/metrics').expect(200)).text;
    const values = [...text.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((v) => v[1]!));
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(value).not.toMatch(/customer-|@|greenhouse:|lever:/);
    }
    expect(new Set(values).size).toBeLessThan(200);
  });
});

describe('one integration, configured as before', () => {
  let fake: FakeKombo;
  afterEach(async () => {
    await fake.close();
  });

  it('serves a URL made with the token format of before the same bytes, without an organisation in the name', async () => {
    fake = await startFakeKombo();
    // The very records and clock with which the code before issue 10 (11f8a8a) rendered the golden file; the one line
    // taken out of it since is METHOD:PUBLISH, which issue 13 dropped from every feed on purpose (libical's strict check).
    fake.setRecords([
      interviewRecord({ id: 'iv-1', title: 'Intro', users: [komboUser(ADA, 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'iv-2', title: 'Pairing', starting_at: '2026-12-02T10:00:00Z', ending_at: null, location: null, users: [komboUser(ADA, 'Ada', 'Lovelace'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
    ]);
    fake.clock += 60_000;
    const service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    expect(service.config.kombo.integrationIds).toEqual([fake.integrationId]);
    await service.sync.refresh();
    await until(() => fake.describeRequests.length > 0 && service.registry.get(fake.integrationId)?.organization !== null, 'described');
    const token = createFeedTokens(FEED_SECRET).encode({ integrationId: fake.integrationId, email: ADA });
    const res = await rawGet(service, `/feeds/${token}.ics`);
    expect(res.status).toBe(200);
    const calendar = parseIcs(res.body);
    expect(calendar.name).toBe('Interviews: Ada Lovelace');
    expect(calendar.events.map((e) => e.summary)).toEqual(['Intro', 'Pairing']);
    expect(res.body.equals(await readFile(new URL('../golden/single-integration-before-issue-10.ics', import.meta.url)))).toBe(true);
    // The admin API's link is that very URL, and needs no integration parameter.
    const link = await admin(service, 'get', '/admin/feed-url').query({ email: ADA }).expect(200);
    expect(new URL((link.body as { url: string }).url).pathname).toBe(`/feeds/${token}.ics`);
    await admin(service, 'post', '/admin/sync').expect(200);
    expect((await rawGet(service, `/feeds/${token}.ics`)).body.equals(res.body)).toBe(true);
    await service.sync.close();
  });
});
