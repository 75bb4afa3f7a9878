import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedPath, PUBLIC_URL } from '../helpers/test-service.js';

const AUTH = `Bearer ${ADMIN_TOKEN}`;

describe('admin routes', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-2', title: 'Grace alone', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-3', title: 'Odd address', users: [komboUser("O'Brien+X@Example.co.uk", 'Pat', "O'Brien")] }),
    ]);
  });
  afterEach(async () => {
    await fake.close();
  });

  describe('GET /admin/feed-url', () => {
    it('answers the feed URL on PUBLIC_URL, with subscribe links, and the URL serves that interviewer’s feed', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const res = await request(service.app).get('/admin/feed-url').query({ email: 'grace@example.com' }).set('Authorization', AUTH).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = res.body as { url: string; webcalUrl: string; googleUrl: string; outlookUrl: string; outlookComUrl: string };
      expect(body.url.startsWith(`${PUBLIC_URL}/feeds/`)).toBe(true);
      expect(body.url.endsWith('.ics')).toBe(true);
      expect(body.url).not.toContain('grace');
      expect(body.webcalUrl).toBe(body.url.replace(/^https:/, 'webcal:'));
      for (const key of ['googleUrl', 'outlookUrl', 'outlookComUrl'] as const) {
        expect(new URL(body[key]).protocol).toBe('https:');
        expect(decodeURIComponent(body[key])).toContain(body.url.replace(/^https:\/\//, ''));
      }

      const feed = await request(service.app).get(new URL(body.url).pathname).expect(200);
      const calendar = parseIcs(feed.text);
      expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
      expect(calendar.name).toBe('Interviews: Grace Hopper');
    });

    it('gives the same URL for any spelling of the email', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const urls = await Promise.all(
        ['ada@example.com', 'ADA@Example.com', '  Ada@example.COM  '].map(
          async (email) => ((await request(service.app).get('/admin/feed-url').query({ email }).set('Authorization', AUTH).expect(200)).body as { url: string }).url,
        ),
      );
      expect(new Set(urls).size).toBe(1);
      expect(`${PUBLIC_URL}${feedPath(service, 'ada@example.com')}`).toBe(urls[0]);
    });

    it('accepts a plausible email that fails Kombo’s strict pattern, and its feed works', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const res = await request(service.app)
        .get('/admin/feed-url')
        .query({ email: "o'brien+x@example.co.uk" })
        .set('Authorization', AUTH)
        .expect(200);
      const feed = await request(service.app).get(new URL((res.body as { url: string }).url).pathname).expect(200);
      expect(parseIcs(feed.text).events.map((e) => e.uid)).toEqual(['iv-3']);
    });

    it('answers 400 for a malformed email', async () => {
      const service = buildTestService(fake);
      for (const email of ['', 'ada', 'ada@', '@example.com', 'ada @example.com', 'a@b@c', 'x'.repeat(300) + '@example.com']) {
        const res = await request(service.app).get('/admin/feed-url').query({ email }).set('Authorization', AUTH).expect(400);
        expect(res.body).toMatchObject({ message: expect.any(String) });
      }
      await request(service.app).get('/admin/feed-url').set('Authorization', AUTH).expect(400);
      await request(service.app).get('/admin/feed-url?email=a@example.com&email=b@example.com').set('Authorization', AUTH).expect(400);
    });

    it('answers 401 without credentials and 403 with wrong ones, without the URL', async () => {
      const service = buildTestService(fake);
      const unauthenticated = await request(service.app).get('/admin/feed-url').query({ email: 'ada@example.com' }).expect(401);
      expect(unauthenticated.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(unauthenticated.text).not.toContain('/feeds/');
      for (const header of [`Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, 'Bearer wrong-token-of-some-length', `Basic ${ADMIN_TOKEN}`]) {
        const res = await request(service.app).get('/admin/feed-url').query({ email: 'ada@example.com' }).set('Authorization', header);
        expect([401, 403]).toContain(res.status);
        expect(res.text).not.toContain('/feeds/');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
      await request(service.app).get('/admin/feed-url').query({ email: 'ada@example.com' }).set('Authorization', 'Bearer wrong-token-of-some-length').expect(403);
    });

    it('does not exist when ADMIN_TOKEN is unset: 404 like any unknown path', async () => {
      const service = buildTestService(fake, { env: { ADMIN_TOKEN: undefined } });
      await service.sync.refresh();
      const unknown = await request(service.app).get('/no/such/thing').expect(404);
      for (const [method, path] of [['get', '/admin/feed-url?email=ada@example.com'], ['post', '/admin/sync']] as const) {
        const withAuth = await request(service.app)[method](path).set('Authorization', AUTH).expect(404);
        const without = await request(service.app)[method](path).expect(404);
        expect(withAuth.text).toBe(unknown.text);
        expect(without.text).toBe(unknown.text);
      }
    });
  });

  describe('POST /admin/sync', () => {
    it('runs a refresh, waits for it, and answers 200 with a summary; the feed shows the change at once', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      fake.upsert(interviewRecord({ id: 'iv-9', title: 'Just booked', users: [komboUser('ada@example.com')] }));
      const requestsBefore = fake.requests.length;

      const res = await request(service.app).post('/admin/sync').set('Authorization', AUTH).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(fake.requests.length).toBeGreaterThan(requestsBefore);
      const summary = (res.body as { summary: Record<string, unknown> }).summary;
      expect(summary).toMatchObject({ interviews: 4, rejectedRecords: 0 });
      expect(summary.changes).toBeGreaterThanOrEqual(1);

      const feed = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
      expect(parseIcs(feed.text).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-9']);
    });

    it('answers 502 when Kombo fails, without a stack trace, and the feed stays as it was', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const before = (await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text;

      fake.upsert(interviewRecord({ id: 'iv-9', title: 'Should not appear', users: [komboUser('ada@example.com')] }));
      fake.fail({ type: 'status', status: 500 }, { times: 100 });
      const res = await request(service.app).post('/admin/sync?full=true').set('Authorization', AUTH);
      expect(res.status).toBe(502);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
      expect(res.text).not.toContain(fake.apiKey);

      const after = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
      expect(after.text).toBe(before);
      expect(parseIcs(after.text).events.map((e) => e.uid)).toEqual(['iv-1']);
    });

    it('answers 502 before any snapshot, and the feed is still not served empty', async () => {
      const service = buildTestService(fake);
      fake.fail({ type: 'invalid-envelope' }, { times: 100 });
      await request(service.app).post('/admin/sync').set('Authorization', AUTH).expect(502);
      const feed = await request(service.app).get(feedPath(service, 'ada@example.com'));
      expect(feed.status).toBe(503);
    });

    it('needs the admin token', async () => {
      const service = buildTestService(fake);
      await request(service.app).post('/admin/sync').expect(401);
      await request(service.app).post('/admin/sync').set('Authorization', 'Bearer not-the-admin-token').expect(403);
      expect(fake.requests).toHaveLength(0);
    });
  });
});
