import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subscribeLinks } from '../../src/calendar/subscribe-links.js';
import { opensInBrowser } from '../../src/http/browser-pages.js';
import { NOT_FOUND_BODY } from '../../src/http/http-error.js';
import { HOSTILE_JOB, HOSTILE_NAME, pageRecords } from '../admin-page/page-fixtures.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { admin } from '../helpers/integrations.js';
import { serveOnLoopback, type RawResponse } from '../helpers/loopback.js';
import { ADMIN_TOKEN, buildTestService, FEED_SECRET, feedPath, PUBLIC_URL } from '../helpers/test-service.js';

/* A link opened in a browser (issue 24, finding 5): a page for people, the feed unchanged for calendar clients. */

/** What Chromium sends when a person opens a link. */
const CHROME = {
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
};
const SAFARI = {
  'User-Agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
const FIREFOX = { 'User-Agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** Calendar clients as they fetch a subscription: their User-Agent and the Accept (and encoding) they send. */
const CALENDAR_CLIENTS: Record<string, Record<string, string>> = {
  'Google Calendar (no Accept at all)': { 'User-Agent': 'Google-Calendar-Importer', 'Accept-Encoding': 'gzip, deflate, br' },
  'Outlook on the web / Microsoft 365': { 'User-Agent': 'Microsoft.Exchange/15.20 (Windows NT 10.0; Win64; x64)', Accept: '*/*' },
  'Outlook for Windows': { 'User-Agent': 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)', Accept: '*/*', 'Accept-Encoding': 'gzip, deflate' },
  'Apple Calendar, iPhone (dataaccessd)': { 'User-Agent': 'iOS/18.1 (22B83) dataaccessd/1.0', Accept: '*/*', 'Accept-Encoding': 'gzip, deflate, br' },
  'Apple Calendar, Mac (CalendarAgent)': { 'User-Agent': 'macOS/15.1 (24B83) CalendarAgent/1000', Accept: 'text/calendar, */*' },
  'Thunderbird, with a browser’s Accept': {
    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Encoding': 'gzip, deflate, br',
  },
  'Thunderbird, asking for a calendar': { 'User-Agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.16.0', Accept: 'text/calendar' },
  vdirsyncer: { 'User-Agent': 'vdirsyncer/0.19.3', Accept: '*/*', 'Accept-Encoding': 'gzip, deflate' },
};

const withoutDate = (headers: RawResponse['headers']) => ({ ...headers, date: undefined });

describe('opensInBrowser', () => {
  const req = (headers: Record<string, string>): { headers: Record<string, string> } => ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) });

  it('is true for browsers asking for a page, false for every calendar client and for HTML without a browser', () => {
    for (const browser of [CHROME, SAFARI, FIREFOX]) expect(opensInBrowser(req(browser) as never), browser['User-Agent']).toBe(true);
    for (const [name, client] of Object.entries(CALENDAR_CLIENTS)) expect(opensInBrowser(req(client) as never), name).toBe(false);
    expect(opensInBrowser(req({ Accept: 'text/html' }) as never)).toBe(false); // a script asking for HTML, no browser
    expect(opensInBrowser(req({ 'User-Agent': CHROME['User-Agent'], Accept: '*/*' }) as never)).toBe(false); // a browser's fetch()
    expect(opensInBrowser(req({ 'User-Agent': 'curl/8.5.0', Accept: 'text/html' }) as never)).toBe(false);
  });

  it('settles a calendar client’s request by reading its Accept header alone (the warm feed path pays one lookup)', () => {
    for (const [name, client] of Object.entries(CALENDAR_CLIENTS)) {
      if (client.Accept?.includes('text/html')) continue; // Thunderbird dressed as a browser: its User-Agent is read too
      const read: string[] = [];
      const headers = new Proxy(req(client).headers, { get: (target, key) => (read.push(String(key)), target[String(key)]) });
      expect(opensInBrowser({ headers } as never), name).toBe(false);
      expect(read, name).toEqual(['accept']);
    }
  });
});

describe('a feed link opened in a browser', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    service = buildTestService(fake);
    await service.sync.refresh();
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  const ADA = 'ada@example.com';

  it('gets a page: the calendar’s name, one subscribe button per client, a warning not to import, and the security headers', async () => {
    const path = feedPath(service, ADA);
    const res = await request(service.app).get(path).set(CHROME).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const name = 'Interviews: Ada Lovelace';
    expect(res.text).toContain(`<h1>${name}</h1>`);
    expect(res.text).toContain('<title>Interviews: Ada Lovelace · interview-feeds</title>');
    const links = subscribeLinks(`${PUBLIC_URL}${path}`, name);
    const href = (label: string) => new RegExp(`href="([^"]+)"[^>]*>${label}<`).exec(res.text)?.[1]?.replaceAll('&amp;', '&');
    expect(href('Google Calendar')).toBe(links.googleUrl);
    expect(href('Outlook \\(work or school\\)')).toBe(links.outlookUrl);
    expect(href('Outlook.com')).toBe(links.outlookComUrl);
    expect(href('Apple Calendar')).toBe(links.webcalUrl);
    expect(res.text).toContain('Do not download or import the file.');
    expect(res.text).toContain(`data-copy="${links.url}"`);
    // The pages' headers: no inline script, not frameable, nothing sniffed, and the secret URL never sent on as a referrer.
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.vary).toBe('Accept, User-Agent');
    expect(res.text).not.toMatch(/<script>|<script [^>]*>[^<]/); // only the page's script file
    for (const secret of [FEED_SECRET, ADMIN_TOKEN, fake.apiKey]) expect(res.text).not.toContain(secret);
    // The script, the stylesheet and the favicon it loads are served to anyone (no admin page needed).
    for (const asset of ['/assets/admin.js', '/assets/admin.css', '/assets/favicon.svg']) {
      expect(res.text).toContain(asset);
      const loaded = await request(service.app).get(asset).expect(200);
      expect(loaded.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await request(service.app).get('/assets/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
    expect((await request(service.app).get('/assets/nope.js').expect(404)).body).toEqual(NOT_FOUND_BODY);
  });

  it('escapes every text from the ATS, in the page and in its links', async () => {
    for (const path of [feedPath(service, 'mallory@example.com'), `/feeds/${service.tokens.encode({ integrationId: fake.integrationId, team: { job: 'job-evil' } })}.ics`]) {
      const res = await request(service.app).get(path).set(FIREFOX).expect(200);
      expect(res.text).not.toContain(HOSTILE_NAME);
      expect(res.text).not.toContain(HOSTILE_JOB);
      expect(res.text).not.toContain('<img');
      expect(res.text).toMatch(/&lt;img src=x onerror=alert\(1\)&gt;|&lt;\/script&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;/);
    }
  });

  it('records no fetch: a person reading the page has subscribed to nothing', async () => {
    await request(service.app).get(feedPath(service, ADA)).set(SAFARI).expect(200);
    const listed = await admin(service, 'get', `/admin/integrations/${encodeURIComponent(fake.integrationId)}/interviewers`).expect(200);
    const ada = (listed.body as { interviewers: { email: string; lastFetchedAt: unknown; client: unknown }[] }).interviewers.find((row) => row.email === ADA);
    expect(ada).toMatchObject({ lastFetchedAt: null, client: null });
    // A calendar client's fetch is recorded, as before.
    await request(service.app).get(feedPath(service, ADA)).set(CALENDAR_CLIENTS['Outlook on the web / Microsoft 365']!).expect(200);
    const after = await admin(service, 'get', `/admin/integrations/${encodeURIComponent(fake.integrationId)}/interviewers`).expect(200);
    expect((after.body as { interviewers: { email: string; client: unknown }[] }).interviewers.find((row) => row.email === ADA)?.client).toBe('outlook');
  });

  it('says a revoked, mistyped or removed link no longer works and what to do; the same page for each, and calendar clients still get the JSON 404', async () => {
    const live = feedPath(service, ADA);
    await admin(service, 'post', '/admin/feed-url/revoke').send({ integration: fake.integrationId, email: ADA }).expect(200);
    const other = `/feeds/${service.tokens.encode({ integrationId: 'greenhouse:removed', email: ADA })}.ics`;
    const pages: string[] = [];
    for (const path of [live, '/feeds/AAAAnot-a-token.ics', '/feeds/no-extension', other, `${live.slice(0, -6)}xx.ics`]) {
      const res = await request(service.app).get(path).set(CHROME).expect(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      pages.push(res.text);
      // Calendar clients meet the one 404 every unknown token gets, as before.
      const client = await request(service.app).get(path).set(CALENDAR_CLIENTS['Google Calendar (no Accept at all)']!).expect(404);
      expect(client.body).toEqual(NOT_FOUND_BODY);
    }
    expect(new Set(pages).size).toBe(1);
    expect(pages[0]).toContain('This calendar link no longer works');
    // Without self-service sign-in: ask the administrator.
    expect(pages[0]).toContain('Ask whoever sent you the link');
    expect(pages[0]).not.toContain('href="/me"');
  });

  it('sends people to /me for their current link when self-service sign-in is on', async () => {
    const withMe = buildTestService(fake, { env: { OIDC_ISSUER: 'https://login.example.com', OIDC_CLIENT_ID: 'feeds', OIDC_CLIENT_SECRET: 'secret' } });
    const res = await request(withMe.app).get('/feeds/unknown.ics').set(CHROME).expect(404);
    expect(res.text).toContain('<a class="button" href="/me">Get your current link</a>');
    expect((await request(withMe.app).get(feedPath(withMe, ADA)).set(CHROME).expect(200)).text).toContain('href="/me">your calendar links</a>');
    await withMe.sync.close();
  });

  it('shows the page before the first snapshot too, where a calendar client gets 503', async () => {
    const fresh = buildTestService(fake);
    const path = feedPath(fresh, ADA);
    await request(fresh.app).get(path).expect(503);
    const res = await request(fresh.app).get(path).set(CHROME).expect(200);
    expect(res.text).toContain('<h1>Interviews: ada@example.com</h1>');
    await fresh.sync.close();
  });

  it('answers / in a browser with what the service is and where to go, and anything else with the JSON 404 as before', async () => {
    const res = await request(service.app).get('/').set(SAFARI).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<h1>Interview calendars</h1>');
    expect(res.text).toContain('href="/admin"');
    expect(res.text).not.toContain('/feeds/');
    for (const secret of [FEED_SECRET, ADMIN_TOKEN, fake.apiKey, fake.integrationId]) expect(res.text).not.toContain(secret);
    expect(String(res.headers['content-security-policy'])).toContain("default-src 'none'");
    expect((await request(service.app).get('/').expect(404)).body).toEqual(NOT_FOUND_BODY);
    expect((await request(service.app).get('/').set(CALENDAR_CLIENTS.vdirsyncer!).expect(404)).body).toEqual(NOT_FOUND_BODY);
  });
});

describe('calendar clients at a feed link', () => {
  it('get the very bytes, headers and 304s they got before pages existed, each with its own User-Agent and Accept', async () => {
    const fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    const service = buildTestService(fake);
    await service.sync.refresh();
    const client = await serveOnLoopback(service.app);
    try {
      const path = feedPath(service, 'grace@example.com');
      const plain = await client.fetch(path);
      const gzip = await client.fetch(path, { 'Accept-Encoding': 'gzip' });
      expect(plain.status).toBe(200);
      expect(plain.headers['content-type']).toBe('text/calendar; charset=utf-8');
      for (const [name, headers] of Object.entries(CALENDAR_CLIENTS)) {
        const reference = headers['Accept-Encoding']?.includes('gzip') ? gzip : plain;
        const res = await client.fetch(path, headers);
        expect(res.status, name).toBe(200);
        expect(res.body.equals(reference.body), name).toBe(true);
        expect(withoutDate(res.headers), name).toEqual(withoutDate(reference.headers));
        const validators: Record<string, string>[] = [{ 'If-None-Match': reference.headers.etag! }, { 'If-Modified-Since': reference.headers['last-modified']! }];
        for (const validator of validators) {
          const again = await client.fetch(path, { ...headers, ...validator });
          expect(again.status, name).toBe(304);
          expect(again.body.length, name).toBe(0);
          const referenceNotModified = await client.fetch(path, { ...(headers['Accept-Encoding'] ? { 'Accept-Encoding': headers['Accept-Encoding'] } : {}), ...validator });
          expect(withoutDate(again.headers), name).toEqual(withoutDate(referenceNotModified.headers));
        }
      }
    } finally {
      await client.close();
      await service.sync.close();
      await fake.close();
    }
  });
});
