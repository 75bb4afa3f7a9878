import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeLinks } from '../../src/calendar/subscribe-links.js';
import type { Service } from '../../src/create-service.js';
import { pageRecords } from '../admin-page/page-fixtures.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { admin } from '../helpers/integrations.js';
import { ADMIN_TOKEN, buildTestService, feedPath } from '../helpers/test-service.js';
import { requireTool } from '../interop/interop-fixtures.js';

/* What a person meets in a real browser (issue 24, findings 5 and 12): a feed link's page, a dead link's page, `/`,
   the favicon every page asks for, and times in the viewer's own time zone. */

const BROWSER_TEST_MS = 60_000;
/** A zone half an hour off any whole-hour zone, so a time shown in it cannot be UTC by accident. */
const ZONE = 'Asia/Kolkata';

describe.sequential('pages in Chromium', () => {
  let fake: FakeKombo;
  let server: Server;
  let service: Service;
  let origin: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    service = buildTestService(fake, { env: { PUBLIC_URL: origin } });
    server.on('request', service.app);
    await service.sync.refresh();
    if (chromiumAvailable) browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
    await service?.sync.close();
    await fake.close();
  });

  /** A page in a context of its own, recording every answer of 400 or more and every console error (a CSP refusal is one). */
  async function open(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; failed: string[]; errors: string[]; icons: { url: string; status: number; type: string | undefined }[] }> {
    const context = await browser!.newContext({ viewport: { width: 1100, height: 900 }, ...options });
    const page = await context.newPage();
    const failed: string[] = [];
    const errors: string[] = [];
    const icons: { url: string; status: number; type: string | undefined }[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.request().isNavigationRequest()) failed.push(`${response.status()} ${response.url()}`);
      if (/favicon/.test(response.url())) icons.push({ url: response.url(), status: response.status(), type: response.headers()['content-type'] });
    });
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    return { context, page, failed, errors, icons };
  }

  it('opens a feed link as a page with subscribe buttons, never downloading the file', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    const { context, page, failed, errors, icons } = await open();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const path = feedPath(service, 'grace@example.com');
    // A download would make goto throw ("Download is starting"); a page loads.
    const response = await page.goto(`${origin}${path}`);
    expect(response?.status()).toBe(200);
    await page.getByRole('heading', { name: 'Interviews: Grace Hopper' }).waitFor();
    const links = subscribeLinks(`${origin}${path}`, 'Interviews: Grace Hopper');
    expect(await page.getByRole('link', { name: 'Google Calendar' }).getAttribute('href')).toBe(links.googleUrl);
    expect(await page.getByRole('link', { name: 'Outlook (work or school)' }).getAttribute('href')).toBe(links.outlookUrl);
    expect(await page.getByRole('link', { name: 'Outlook.com' }).getAttribute('href')).toBe(links.outlookComUrl);
    expect(await page.getByRole('link', { name: 'Apple Calendar' }).getAttribute('href')).toBe(links.webcalUrl);
    expect(await page.getByRole('note').textContent()).toContain('Do not download or import the file.');
    // The page's own script runs (the CSP allows it, and only it): Copy link copies the feed URL.
    await page.getByRole('button', { name: 'Copy link' }).click();
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(links.url);
    // The stylesheet applied, the favicon loaded, and nothing the page asked for failed.
    expect(await page.locator('.subscribe a').first().evaluate((a) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderRadius: string } }).getComputedStyle(a).borderRadius)).toBe('6px');
    await expect.poll(() => icons.length).toBeGreaterThan(0);
    expect(icons).toEqual([{ url: `${origin}/assets/favicon.svg`, status: 200, type: 'image/svg+xml' }]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, BROWSER_TEST_MS);

  it('says a revoked link no longer works, and what to do; / says what the service is', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    const { context, page, failed, errors } = await open();
    const path = feedPath(service, 'ada@example.com');
    await admin(service, 'post', '/admin/feed-url/revoke').send({ integration: fake.integrationId, email: 'ada@example.com' }).expect(200);
    expect((await page.goto(`${origin}${path}`))?.status()).toBe(404);
    await page.getByRole('heading', { name: 'This calendar link no longer works' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('Ask whoever sent you the link');

    expect((await page.goto(`${origin}/`))?.status()).toBe(200);
    await page.getByRole('heading', { name: 'Interview calendars' }).waitFor();
    expect(await page.getByRole('link', { name: 'the admin page' }).getAttribute('href')).toBe('/admin');
    // Only the dead link's own 404 is reported; its stylesheet, script and favicon all loaded.
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 404 (Not Found)']);
    expect(failed).toEqual([]);
    await context.close();
  }, BROWSER_TEST_MS);

  it('shows the admin page’s times in the viewer’s time zone, UTC in the markup, and asks for no missing favicon', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    const { context, page, failed, errors, icons } = await open({ timezoneId: ZONE, locale: 'en-GB' });
    await page.goto(`${origin}/admin`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Integrations' }).waitFor();
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}`);
    const times = page.locator('td[data-label="Next interview"] time');
    expect(await times.count()).toBeGreaterThan(0);
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    for (const time of await times.all()) {
      const datetime = (await time.getAttribute('datetime'))!;
      expect(datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
      const utc = `${datetime.slice(0, 10)} ${datetime.slice(11, 16)} UTC`;
      // The script replaced the UTC text with the local time (IST, +05:30), and kept the UTC text as the tooltip.
      await expect.poll(() => time.getAttribute('title')).toBe(utc);
      const shown = (await time.textContent())!;
      expect(shown).toContain(local.format(new Date(datetime)));
      expect(shown).not.toContain('UTC');
      expect(shown).not.toContain(datetime.slice(11, 16));
    }
    expect(icons.map((icon) => [icon.url, icon.status])).toContainEqual([`${origin}/admin/assets/favicon.svg`, 200]);
    expect(icons.filter((icon) => icon.url.endsWith('/favicon.ico'))).toEqual([]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, BROWSER_TEST_MS);
});
