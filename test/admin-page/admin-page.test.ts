import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SECRET_FAILURES_PER_WINDOW, SECRET_WINDOW_MS } from '../../src/http/limits/secret-limiter.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin } from '../helpers/integrations.js';
import { ADMIN_TOKEN, buildTestService, PUBLIC_URL } from '../helpers/test-service.js';
import { HOSTILE_JOB, HOSTILE_NAME, pageRecords, signIn } from './page-fixtures.js';

describe('admin page', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
  });
  afterEach(async () => {
    await fake.close();
  });

  describe('sign-in', () => {
    it('shows a sign-in form without a session, and the pages behind it send the browser there', async () => {
      const service = buildTestService(fake);
      const res = await request(service.app).get('/admin').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('<label for="token">Admin token</label>');
      expect(res.text).toContain('Sign in</button>');
      await request(service.app).get(`/admin/i/${fake.integrationId}`).expect(303).expect('Location', '/admin');
    });

    it('gives an HttpOnly, SameSite=Strict, Secure session cookie on an https PUBLIC_URL, and not Secure on http', async () => {
      const service = buildTestService(fake);
      const res = await request(service.app).post('/admin/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(303);
      const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!;
      expect(cookie).toMatch(/^__Host-admin-session=[A-Za-z0-9_-]{43};/);
      expect(cookie).toMatch(/; Path=\/(;|$)/);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/; SameSite=Strict/);
      expect(cookie).toMatch(/; Max-Age=28800/);

      const local = buildTestService(fake, { env: { PUBLIC_URL: 'http://127.0.0.1:3000' } });
      const plain = (await request(local.app).post('/admin/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(303)).headers['set-cookie'] as unknown as string[];
      expect(plain[0]).toMatch(/^admin-session=.*; HttpOnly/);
      expect(plain[0]).not.toMatch(/Secure/);
      expect(plain[0]).toMatch(/SameSite=Strict/);
    });

    it('says a wrong token is wrong, sets no cookie, and refuses every try for the rest of the window after too many', async () => {
      const service = buildTestService(fake);
      for (let n = 0; n < SECRET_FAILURES_PER_WINDOW; n++) {
        const res = await request(service.app).post('/admin/sign-in').type('form').send({ token: 'wrong-token-0123456789' }).expect(403);
        expect(res.text).toContain('That admin token is wrong.');
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      const limited = await request(service.app).post('/admin/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(429);
      expect(limited.text).toContain('Too many wrong admin tokens');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.headers['set-cookie']).toBeUndefined();
      fake.clock += SECRET_WINDOW_MS;
      await request(service.app).post('/admin/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(303);
    });

    it('behind a proxy (TRUST_PROXY=1) counts wrong tokens per client, so one guesser locks out only themselves', async () => {
      const behindProxy = buildTestService(fake, { env: { TRUST_PROXY: '1' } });
      const signIn = (service: typeof behindProxy, client: string, token: string) =>
        request(service.app).post('/admin/sign-in').set('X-Forwarded-For', client).type('form').send({ token });
      for (let n = 0; n < SECRET_FAILURES_PER_WINDOW; n++) await signIn(behindProxy, '203.0.113.7', 'wrong-token-0123456789').expect(403);
      await signIn(behindProxy, '203.0.113.7', ADMIN_TOKEN).expect(429);
      await signIn(behindProxy, '198.51.100.2', ADMIN_TOKEN).expect(303);
      // Without it, the header is not believed: a client cannot pick its own address to dodge the limit.
      const direct = buildTestService(fake);
      for (let n = 0; n < SECRET_FAILURES_PER_WINDOW; n++) await signIn(direct, `203.0.113.${n}`, 'wrong-token-0123456789').expect(403);
      await signIn(direct, '198.51.100.2', ADMIN_TOKEN).expect(429);
    });

    it('ends a session after SESSION_HOURS (the injected clock), and on "Sign out"', async () => {
      const service = buildTestService(fake, { env: { SESSION_HOURS: '2' } });
      await service.sync.refresh();
      const { cookie, csrf } = await signIn(service);
      fake.clock += 2 * 3_600_000 - 1;
      await request(service.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', cookie).expect(200);
      fake.clock += 1;
      const expired = await request(service.app).get('/admin').set('Cookie', cookie).expect(200);
      expect(expired.text).toContain('Admin token');
      await request(service.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', cookie).expect(303).expect('Location', '/admin');
      // A form of the ended session is refused.
      await request(service.app).post('/admin/sign-out').set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(403);

      const again = await signIn(service);
      const out = await request(service.app).post('/admin/sign-out').set('Cookie', again.cookie).type('form').send({ _csrf: again.csrf }).expect(303);
      expect((out.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^__Host-admin-session=;.*Expires=Thu, 01 Jan 1970/);
      expect((await request(service.app).get('/admin').set('Cookie', again.cookie).expect(200)).text).toContain('Admin token');
    });
  });

  describe('cross-site requests and CSRF', () => {
    it('refuses a form from another origin or site with 403, and one without the session’s CSRF token', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie, csrf } = await signIn(service);
      const walks = () => fake.requests.length;
      const before = walks();
      const sync = () => request(service.app).post(`/admin/i/${fake.integrationId}/sync`).set('Cookie', cookie).type('form');
      await sync().set('Origin', 'https://evil.example').send({ _csrf: csrf }).expect(403);
      await sync().set('Sec-Fetch-Site', 'cross-site').send({ _csrf: csrf }).expect(403);
      await sync().set('Sec-Fetch-Site', 'same-site').send({ _csrf: csrf }).expect(403);
      await sync().set('Origin', 'null').send({ _csrf: csrf }).expect(403);
      await sync().send({}).expect(403);
      await sync().send({ _csrf: `${csrf}x` }).expect(403);
      const other = await signIn(service);
      await sync().send({ _csrf: other.csrf }).expect(403); // another session's token
      await request(service.app).post('/admin/sign-out').set('Cookie', cookie).set('Origin', 'https://evil.example').type('form').send({ _csrf: csrf }).expect(403);
      await request(service.app).post('/admin/sign-in').set('Origin', 'https://evil.example').type('form').send({ token: ADMIN_TOKEN }).expect(403);
      expect(walks()).toBe(before);

      // The same request from the page itself starts a walk.
      await sync().set('Origin', new URL(PUBLIC_URL).origin).set('Sec-Fetch-Site', 'same-origin').send({ _csrf: csrf }).expect(303);
      await expect.poll(walks).toBeGreaterThan(before);
      // Still signed in: the refused sign-out ended nothing.
      await request(service.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', cookie).expect(200);
    });
  });

  describe('headers', () => {
    it('sends a CSP without inline scripts that forbids framing, on every page and answer', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      for (const path of ['/admin', `/admin/i/${fake.integrationId}`, `/admin/i/${fake.integrationId}/teams`, '/admin/assets/admin.js']) {
        for (const withCookie of [true, false]) {
          const res = await request(service.app).get(path).set('Cookie', withCookie ? cookie : '');
          const csp = String(res.headers['content-security-policy']);
          expect(csp).toContain("frame-ancestors 'none'");
          expect(csp).toContain("script-src 'self'");
          expect(csp).toContain("default-src 'none'");
          expect(csp).not.toContain('unsafe-inline');
          expect(res.headers['x-frame-options']).toBe('DENY');
          // no-referrer would make Chromium send `Origin: null` on the page's own forms (refused as cross-site).
          expect(res.headers['referrer-policy']).toBe('same-origin');
          expect(res.headers['x-content-type-options']).toBe('nosniff');
        }
      }
      const page = (await request(service.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', cookie)).text;
      expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // every script is a file
      expect(page).not.toMatch(/<[^>]*\son[a-z]+=/i); // and no handler attribute
    });
  });

  describe('pages', () => {
    it('lists the integrations with status, counts and last success', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      const html = (await request(service.app).get('/admin').set('Cookie', cookie).expect(200)).text;
      expect(html).toContain(`href="/admin/i/${encodeURIComponent(fake.integrationId)}"`);
      expect(html).toContain('<span class="status status-ok">ok</span>');
      expect(html).toContain('<td data-label="Interviews">3</td>');
      expect(html).toContain('<td data-label="Interviewers">3</td>');
      // In UTC in the markup; the page's script shows it in the viewer's time zone.
      expect(html).toContain('<td data-label="Last success"><time datetime="2026-11-01T12:00Z">2026-11-01 12:00 UTC</time></td>');
      expect(html).toContain('Sync now</button>');
    });

    it('lists interviewers with their links, searches by name or email, and links the CSV', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      const path = `/admin/i/${fake.integrationId}`;
      const all = (await request(service.app).get(path).set('Cookie', cookie).expect(200)).text;
      for (const email of ['ada@example.com', 'grace@example.com', 'mallory@example.com']) expect(all).toContain(`<span class="email">${email}</span>`);
      expect(all).toContain(`href="/admin/i/${encodeURIComponent(fake.integrationId)}/links.csv">Download links (CSV)</a>`);
      // Grace's row carries the very link the admin API hands out.
      const api = (await admin(service, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string; googleUrl: string };
      expect(all).toContain(`data-copy="${api.url}"`);
      expect(all).toContain(`href="${api.googleUrl.replaceAll('&', '&amp;')}"`);

      for (const q of ['hopper', 'GRACE@', 'race@exa']) {
        const found = (await request(service.app).get(path).query({ q }).set('Cookie', cookie).expect(200)).text;
        expect(found, q).toContain('<span class="email">grace@example.com</span>');
        expect(found, q).not.toContain('<span class="email">ada@example.com</span>');
        expect(found, q).toContain('1 interviewer matching');
      }
      const none = (await request(service.app).get(path).query({ q: 'nobody' }).set('Cookie', cookie).expect(200)).text;
      expect(none).toContain('0 interviewers matching <q>nobody</q>');
    });

    it('gives each level’s link, and each serves that level', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      const html = (await request(service.app).get(`/admin/i/${fake.integrationId}`).query({ q: 'grace' }).set('Cookie', cookie).expect(200)).text;
      const url = (detail: string) => new RegExp(`<option value="${detail}"[^>]* data-url="([^"]+)"`).exec(html)![1]!;
      const busy = parseIcs((await request(service.app).get(new URL(url('busy')).pathname).expect(200)).text);
      expect(busy.events.map((event) => event.summary)).toEqual(['Busy', 'Busy']);
      const full = parseIcs((await request(service.app).get(new URL(url('full')).pathname).expect(200)).text);
      expect(full.events.map((event) => event.summary)).toEqual(['Technical interview', 'Grace alone']);
    });

    it('serves each person’s QR code as SVG to a signed-in browser only', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      const path = `/admin/i/${fake.integrationId}/qr.svg?email=grace@example.com&detail=busy`;
      const res = await request(service.app).get(path).set('Cookie', cookie).buffer(true).parse((r, cb) => {
        let text = '';
        r.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        r.on('end', () => cb(null, text));
      }).expect(200);
      expect(res.headers['content-type']).toMatch(/^image\/svg\+xml/);
      expect(String(res.body)).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      await request(service.app).get(path).expect(303);
    });

    it('shows the team feeds: every interview and each job, with their sizes', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      const html = (await request(service.app).get(`/admin/i/${fake.integrationId}/teams`).set('Cookie', cookie).expect(200)).text;
      expect(html).toContain('<strong>All interviews</strong>');
      expect(html).toContain('<strong>Backend Engineer</strong>');
      const api = (await admin(service, 'get', '/admin/feed-url?job=job-1').expect(200)).body as { url: string; bytes: number };
      expect(html).toContain(`data-copy="${api.url}"`);
      expect(html).toContain(`${Math.ceil(api.bytes / 1024)} KB`);
    });

    it('shows hostile names from the ATS as text', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie } = await signIn(service);
      const people = (await request(service.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', cookie).expect(200)).text;
      expect(people).toContain('<strong>&lt;img src=x onerror=alert(1)&gt;</strong>');
      expect(people).not.toContain(HOSTILE_NAME);
      const teams = (await request(service.app).get(`/admin/i/${fake.integrationId}/teams`).set('Cookie', cookie).expect(200)).text;
      expect(teams).toContain('<strong>&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</strong>');
      expect(teams).not.toContain(HOSTILE_JOB);
    });

    it('never puts the admin token in a page', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const pages: string[] = [(await request(service.app).get('/admin')).text];
      pages.push((await request(service.app).post('/admin/sign-in').type('form').send({ token: 'wrong-token-0123456789' })).text);
      const { cookie } = await signIn(service);
      for (const path of ['/admin', `/admin/i/${fake.integrationId}`, `/admin/i/${fake.integrationId}/teams`, '/admin/i/unknown', '/admin/assets/admin.js']) {
        pages.push((await request(service.app).get(path).set('Cookie', cookie)).text);
      }
      expect(pages.join('\n')).toContain('Sign out');
      for (const html of pages) expect(html).not.toContain(ADMIN_TOKEN);
    });
  });

  describe('revocation and who has subscribed', () => {
    it('shows when each link was last fetched and by which calendar, and revokes a link (cross-site refused) so the old URL is a 404', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const { cookie, csrf } = await signIn(service);
      const page = async () => (await request(service.app).get(`/admin/i/${fake.integrationId}`).query({ q: 'grace' }).set('Cookie', cookie).expect(200)).text;
      const before = await page();
      expect(before).toContain('data-confirm="Revoke the link of grace@example.com?');
      expect(before).toContain('Revoke link</button>');
      expect(before).toMatch(/data-label="Last fetched">never</);

      // Google's fetcher polls Grace's link: the page says when, and with which calendar.
      const old = (await admin(service, 'get', '/admin/feed-url').query({ email: 'grace@example.com' }).expect(200)).body as { url: string };
      const oldPath = new URL(old.url).pathname;
      await request(service.app).get(oldPath).set('User-Agent', 'Google-Calendar-Importer').expect(200);
      const fetched = await page();
      const at = new Date(fake.clock).toISOString().slice(0, 16);
      expect(fetched).toContain(`<time datetime="${at}Z">${at.replace('T', ' ')} UTC</time><br><small>google</small>`);
      expect(fetched).toContain(old.url);

      const path = `/admin/i/${fake.integrationId}/revoke`;
      await request(service.app).post(path).set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').type('form').send({ _csrf: csrf, email: 'grace@example.com' }).expect(403);
      await request(service.app).get(oldPath).expect(200);
      await request(service.app).post(path).set('Cookie', cookie).type('form').send({ _csrf: 'not-the-token', email: 'grace@example.com' }).expect(403);
      await request(service.app).post(path).set('Cookie', cookie).type('form').send({ _csrf: csrf, email: 'Grace@Example.com' }).expect(303);
      const unknown = await request(service.app).get('/feeds/not-a-token.ics').expect(404);
      expect((await request(service.app).get(oldPath).expect(404)).text).toBe(unknown.text);
      // The page, the API and the CSV all give the new link from then on, and it serves.
      const fresh = (await admin(service, 'get', '/admin/feed-url').query({ email: 'grace@example.com' }).expect(200)).body as { url: string };
      expect(fresh.url).not.toBe(old.url);
      const after = await page();
      expect(after).toContain(fresh.url);
      expect(after).not.toContain(old.url);
      await request(service.app).get(new URL(fresh.url).pathname).expect(200);
      const csv = await request(service.app).get(`/admin/i/${fake.integrationId}/links.csv`).set('Cookie', cookie).expect(200);
      expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="links-/);
      expect(csv.text).toContain(fresh.url);
      expect(csv.text).not.toContain(old.url);
      // The download needs the session, like every page.
      await request(service.app).get(`/admin/i/${fake.integrationId}/links.csv`).expect(303);
    });
  });
});
