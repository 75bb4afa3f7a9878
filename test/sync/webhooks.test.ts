import { createHmac } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedPath, WEBHOOK_SECRET } from '../helpers/test-service.js';

/** The test service with a timeout no loaded machine reaches: these tests count requests, and have no hangs. */
const buildService = (fake: FakeKombo, options: Parameters<typeof buildTestService>[1] = {}) =>
  buildTestService(fake, { ...options, overrides: { timeoutMs: 10_000, ...options.overrides } });

const MINUTE = 60_000;

/** Kombo's signature, computed here independently of the code under test. */
const sign = (body: string, secret = WEBHOOK_SECRET) => createHmac('sha256', secret).update(body, 'utf8').digest('base64url');

function dataChanged(integrationId: string, models = ['ats_interviews']) {
  return JSON.stringify({
    id: 'Cbfk5sHtDxrSrJBRjsDtbaN9',
    type: 'data-changed',
    data: {
      integration_id: integrationId,
      integration_tool: 'greenhouse',
      integration_category: 'ATS',
      changed_models: models.map((name) => ({ name })),
    },
  });
}

/** Posts `body` signed correctly, or with `signature` instead (null: no header at all). */
function post(service: Service, body: string, signature: string | null = sign(body)) {
  const req = request(service.app).post('/webhooks/kombo').set('Content-Type', 'application/json');
  return (signature === null ? req : req.set('X-Kombo-Signature', signature)).send(body);
}

async function titles(service: Service, email = 'ada@example.com') {
  const res = await request(service.app).get(feedPath(service, email)).expect(200);
  return parseIcs(res.text).events.map((e) => e.summary);
}

/** Polls the feed until `expected` shows, for at most about ten seconds: a webhook brings a change within seconds. */
async function eventually(read: () => Promise<unknown>, expected: unknown) {
  let last: unknown;
  for (let n = 0; n < 1_000; n++) {
    last = await read();
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(last).toEqual(expected);
}

describe('POST /webhooks/kombo', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;

  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Intro', users: [komboUser('ada@example.com')] })]);
    fake.clock += 10 * MINUTE;
    service = buildService(fake);
    await service.sync.refresh();
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, moved by the recruiter', users: [komboUser('ada@example.com')] }));
    fake.requests.length = 0;
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  /** Nothing was walked: the answer came after the route would have started one, synchronously. */
  function expectNoRefresh() {
    expect(service.sync.status().running).toBe(false);
    expect(fake.requests).toHaveLength(0);
  }

  it('accepts a correctly signed data-changed event and brings the change into the feed', async () => {
    const res = await post(service, dataChanged(fake.integrationId, ['ats_interviews', 'ats_tags'])).expect(200);
    expect(res.body).toEqual({ status: 'refresh-started', models: ['ats_interviews'] });
    await eventually(() => titles(service), ['Intro, moved by the recruiter']);
    // One incremental walk, one request.
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.query).toMatchObject({ include_deleted: 'true', updated_after: expect.any(String) });
  });

  it.each(['ats_join_interviews_users', 'ats_applications', 'ats_users'])('refreshes for %s too', async (model) => {
    await post(service, dataChanged(fake.integrationId, [model])).expect(200, { status: 'refresh-started', models: [model] });
    await eventually(() => titles(service), ['Intro, moved by the recruiter']);
  });

  it('accepts any content type: the signature covers the raw bytes', async () => {
    const body = dataChanged(fake.integrationId);
    await request(service.app)
      .post('/webhooks/kombo')
      .set('Content-Type', 'text/plain')
      .set('X-Kombo-Signature', sign(body))
      .send(body)
      .expect(200);
    await eventually(() => titles(service), ['Intro, moved by the recruiter']);
  });

  describe('refuses with 401, and walks nothing, when the signature is', () => {
    const body = () => dataChanged(fake.integrationId);
    it.each<[string, () => string | null]>([
      ['missing', () => null],
      ['empty', () => ''],
      ['made with another secret', () => sign(body(), 'another-secret-0123456789abcdef')],
      ['for another body', () => sign(body().replace('ats_interviews', 'ats_users'))],
      ['for the same JSON with other whitespace', () => sign(JSON.stringify(JSON.parse(body()), null, 2))],
      ['hex instead of base64url', () => createHmac('sha256', WEBHOOK_SECRET).update(body()).digest('hex')],
      ['base64 with padding and +/', () => createHmac('sha256', WEBHOOK_SECRET).update(body()).digest('base64') + '=='],
      ['truncated', () => sign(body()).slice(0, 20)],
    ])('%s', async (_name, signature) => {
      const res = await post(service, body(), signature()).expect(401);
      expect(JSON.stringify(res.body)).not.toContain(WEBHOOK_SECRET);
      expectNoRefresh();
      expect(await titles(service)).toEqual(['Intro']);
    });
  });

  it('acknowledges an event for another integration with 200 and ignores it', async () => {
    const res = await post(service, dataChanged('personio:another-integration')).expect(200);
    expect(res.body).toMatchObject({ status: 'ignored' });
    expectNoRefresh();
  });

  it('acknowledges changes to models no feed shows with 200 and ignores them', async () => {
    const res = await post(service, dataChanged(fake.integrationId, ['ats_tags', 'hris_employees'])).expect(200);
    expect(res.body).toMatchObject({ status: 'ignored' });
    expectNoRefresh();
  });

  it('acknowledges other event types with 200 and ignores them', async () => {
    const body = JSON.stringify({ id: 'x', type: 'connection-flow-failed', data: { integration_id: fake.integrationId } });
    await post(service, body).expect(200).expect((res) => expect(res.body).toMatchObject({ status: 'ignored' }));
    expectNoRefresh();
  });

  it.each([
    ['not JSON', '{"id":'],
    ['an empty body', ''],
    ['a JSON array', '[]'],
    ['an event without a type', JSON.stringify({ id: 'x', data: {} })],
    ['data-changed without changed_models', JSON.stringify({ id: 'x', type: 'data-changed', data: { integration_id: 'greenhouse:test-integration' } })],
    ['changed_models that are not objects', JSON.stringify({ id: 'x', type: 'data-changed', data: { integration_id: 'greenhouse:test-integration', changed_models: ['ats_interviews'] } })],
  ])('answers 400 to a signed but malformed payload: %s', async (_name, body) => {
    const res = await post(service, body).expect(400);
    expect(res.body).toMatchObject({ error: 'bad_request' });
    expectNoRefresh();
  });

  it('is off (404, like any unknown path) when KOMBO_WEBHOOK_SECRET is unset', async () => {
    const without = buildService(fake, { env: { KOMBO_WEBHOOK_SECRET: undefined } });
    const unknown = await request(without.app).get('/no/such/path').expect(404);
    const body = dataChanged(fake.integrationId);
    const res = await post(without, body).expect(404);
    expect(res.body).toEqual(unknown.body);
    expect(fake.requests).toHaveLength(0);
  });
});
