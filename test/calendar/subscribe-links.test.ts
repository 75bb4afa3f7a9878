import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { subscribeLinks } from '../../src/calendar/subscribe-links.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo } from '../helpers/fake-kombo.js';
import { ADMIN_TOKEN, buildTestService } from '../helpers/test-service.js';

const FEED = 'https://feeds.example.com/feeds/AbC-d_e123.ics';

describe('subscribeLinks', () => {
  it('opens each client on its subscription dialog, pre-filled with the feed', () => {
    const links = subscribeLinks(FEED, 'Interviews: Ada Lovelace');
    expect(links.url).toBe(FEED);
    expect(links.webcalUrl).toBe('webcal://feeds.example.com/feeds/AbC-d_e123.ics');

    const google = new URL(links.googleUrl);
    expect(`${google.origin}${google.pathname}`).toBe('https://calendar.google.com/calendar/r');
    expect(google.searchParams.get('cid')).toBe(links.webcalUrl);
    // Encoded, so the feed's own path and query survive inside Google's link.
    expect(links.googleUrl).toBe(`https://calendar.google.com/calendar/r?cid=${encodeURIComponent(links.webcalUrl)}`);

    for (const [key, origin] of [
      ['outlookUrl', 'https://outlook.office.com'],
      ['outlookComUrl', 'https://outlook.live.com'],
    ] as const) {
      const outlook = new URL(links[key]);
      expect(outlook.origin).toBe(origin);
      expect(outlook.pathname).toBe('/calendar/0/addfromweb');
      expect(outlook.searchParams.get('url')).toBe(FEED);
      expect(outlook.searchParams.get('name')).toBe('Interviews: Ada Lovelace');
    }
  });

  it('keeps a feed URL with a query and a name with &, = and spaces intact inside each link', () => {
    const feed = 'http://localhost:3000/feeds/tok.ics?x=1&y=2';
    const name = 'Interviews: Ana & Bo = "A+B" 👩‍💻';
    const links = subscribeLinks(feed, name);
    expect(links.webcalUrl).toBe('webcal://localhost:3000/feeds/tok.ics?x=1&y=2');
    expect(new URL(links.googleUrl).searchParams.get('cid')).toBe(links.webcalUrl);
    expect([...new URL(links.googleUrl).searchParams.keys()]).toEqual(['cid']);
    for (const link of [links.outlookUrl, links.outlookComUrl]) {
      const params = new URL(link).searchParams;
      expect([...params.keys()]).toEqual(['url', 'name']);
      expect(params.get('url')).toBe(feed);
      expect(params.get('name')).toBe(name);
    }
  });
});

describe('GET /admin/feed-url', () => {
  it('returns the feed URL with webcal, Google and Outlook links that all lead to the working feed', async () => {
    const fake = await startFakeKombo();
    try {
      fake.setRecords([interviewRecord({ users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
      const service = buildTestService(fake);
      await service.sync.refresh();
      const res = await request(service.app)
        .get('/admin/feed-url')
        .query({ email: ' Ada@Example.com' })
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .expect(200);
      const body = res.body as Record<string, string>;
      expect(body.url).toMatch(/^https:\/\/feeds\.example\.com\/feeds\/[A-Za-z0-9_-]+\.ics$/);
      expect(body.webcalUrl).toBe(body.url!.replace(/^https:\/\//, 'webcal://'));
      expect(body.googleUrl).toBe(`https://calendar.google.com/calendar/r?cid=${encodeURIComponent(body.webcalUrl!)}`);
      expect(body.outlookUrl).toBe(
        `https://outlook.office.com/calendar/0/addfromweb?url=${encodeURIComponent(body.url!)}&name=${encodeURIComponent('Interviews: Ada Lovelace')}`,
      );
      expect(body.outlookComUrl).toBe(body.outlookUrl!.replace('https://outlook.office.com/', 'https://outlook.live.com/'));

      // Every link carries the same feed, and that feed is Ada's.
      const carried = [
        new URL(body.webcalUrl!.replace(/^webcal:/, 'https:')).href,
        new URL(new URL(body.googleUrl!).searchParams.get('cid')!.replace(/^webcal:/, 'https:')).href,
        new URL(body.outlookUrl!).searchParams.get('url'),
        new URL(body.outlookComUrl!).searchParams.get('url'),
      ];
      expect(new Set(carried)).toEqual(new Set([body.url]));
      const feed = await request(service.app).get(new URL(body.url!).pathname).expect(200);
      expect(feed.text).toContain('X-WR-CALNAME:Interviews: Ada Lovelace');
    } finally {
      await fake.close();
    }
  });
});
