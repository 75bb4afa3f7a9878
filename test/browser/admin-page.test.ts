import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { createFileLinkGenerationStore } from '../../src/feeds/link-generations.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { HOSTILE_JOB, HOSTILE_NAME, pageRecords } from '../admin-page/page-fixtures.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin } from '../helpers/integrations.js';
import { ADMIN_TOKEN, buildTestService } from '../helpers/test-service.js';
import { requireTool } from '../interop/interop-fixtures.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';

/** Debian's chromium (.ci/run installs it); playwright-core never downloads a browser. */
const available = chromiumAvailable;
/** A phone's width, where the page must not scroll sideways. */
const PHONE_WIDTH = 390;
/** A browser test's bound on a loaded 2-core machine (about 10 s alone), not a speed requirement. */
const BROWSER_TEST_MS = 60_000;

describe.sequential('admin page in Chromium', () => {
  let fake: FakeKombo;
  let server: Server;
  let service: Service;
  let origin: string;
  let browser: Browser | undefined;
  /** Where revocations are kept, as DATA_DIR keeps them: a restart reads them back. */
  let dataDir: string;
  const build = () => buildTestService(fake, { env: { PUBLIC_URL: origin }, overrides: { state: createMemoryState({ links: createFileLinkGenerationStore(dataDir) }) } });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-admin-browser-'));
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    // Listening first, so PUBLIC_URL is the address the browser uses (feed links then point back here).
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    service = build();
    server.on('request', service.app);
    await service.restore();
    await service.sync.refresh();
    if (available) {
      browser = await launchChromium();
    }
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fresh browser context with clipboard access, every dialog recorded (and dismissed, or accepted). */
  async function open(width = 1280, answer: 'dismiss' | 'accept' = 'dismiss'): Promise<{ page: Page; dialogs: string[] }> {
    const context = await browser!.newContext({ viewport: { width, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog[answer]();
    });
    return { page, dialogs };
  }

  async function signIn(page: Page) {
    await page.goto(`${origin}/admin`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Integrations' }).waitFor();
  }

  const clipboard = (page: Page) => page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());

  it('signs in, opens an integration, searches, copies a link at a chosen level, and signs out', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page, dialogs } = await open();
    await page.goto(`${origin}/admin`);
    await page.getByLabel('Admin token').fill('wrong-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('That admin token is wrong.');

    await signIn(page);
    const row = page.getByRole('row').filter({ hasText: fake.integrationId });
    expect(await row.textContent()).toContain('ok');
    await row.getByRole('link', { name: fake.integrationId }).click();
    await page.getByLabel('Search').fill('hopper');
    await page.getByLabel('Search').press('Enter');
    await page.waitForURL(/q=hopper/);
    const people = page.locator('tbody tr');
    expect(await people.count()).toBe(1);
    const grace = people.filter({ hasText: 'grace@example.com' });

    await grace.getByRole('button', { name: 'Copy link' }).click();
    const api = (await admin(service, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string };
    await expect.poll(() => clipboard(page)).toBe(api.url);

    await grace.getByLabel('Detail level for grace@example.com').selectOption('busy');
    await grace.getByRole('button', { name: 'Copy link' }).click();
    await expect.poll(() => clipboard(page)).not.toBe(api.url);
    const busyUrl = await clipboard(page);
    expect(busyUrl.startsWith(`${origin}/feeds/`)).toBe(true);
    const busy = parseIcs((await request(service.app).get(new URL(busyUrl).pathname).expect(200)).text);
    expect(busy.events.map((event) => event.summary)).toEqual(['Busy', 'Busy']);
    // The Google button and the QR code follow the level too.
    expect(decodeURIComponent((await grace.getByRole('link', { name: 'Google' }).getAttribute('href'))!)).toContain(new URL(busyUrl).pathname);
    await grace.getByText('QR code').click();
    const qr = grace.getByRole('img', { name: 'QR code of the calendar link of grace@example.com' });
    expect(await qr.getAttribute('src')).toContain('detail=busy');
    await expect.poll(() => qr.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).naturalWidth > 0)).toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}`);
    await page.getByLabel('Admin token').waitFor(); // the ended session opens nothing
    expect(dialogs).toEqual([]);
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('shows hostile names as text: no script runs, no dialog opens', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page, dialogs } = await open();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await signIn(page);
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}`);
    expect(await page.getByText(HOSTILE_NAME, { exact: true }).isVisible()).toBe(true);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}/teams`);
    expect(await page.getByText(HOSTILE_JOB, { exact: true }).isVisible()).toBe(true);
    expect(await page.locator('script').count()).toBe(1); // admin.js alone
    await page.waitForTimeout(200); // an onerror would fire as the (absent) image failed
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('refuses a form posted from another site with 403', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page } = await open();
    await signIn(page);
    // Another origin (localhost is not 127.0.0.1) posts to the page with the signed-in browser.
    const evil = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form method="post" action="${origin}/admin/sign-out"><input name="_csrf" value="x"><button>go</button></form>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      const [response] = await Promise.all([page.waitForResponse(`${origin}/admin/sign-out`), page.getByRole('button', { name: 'go' }).click()]);
      expect(response.status()).toBe(403);
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
    await page.goto(`${origin}/admin`);
    await page.getByRole('heading', { name: 'Integrations' }).waitFor(); // still signed in
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('fits a phone’s width without sideways scrolling (screenshots at desktop and phone widths)', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    for (const width of [1280, PHONE_WIDTH]) {
      const { page } = await open(width);
      await signIn(page);
      await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}`);
      expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth), `width ${width}`).toBeLessThanOrEqual(width);
      if (process.env.SCREENSHOTS_DIR) await page.screenshot({ path: join(process.env.SCREENSHOTS_DIR, `admin-page-${width}.png`), fullPage: true });
      await page.context().close();
    }
  }, BROWSER_TEST_MS);

  /** What has the keyboard focus: its tag, its text or label, and the email of its row. */
  const focused = (page: Page) =>
    page.evaluate(() => {
      type El = { tagName: string; textContent: string | null; id: string; closest(selector: string): El | null; querySelector(selector: string): El | null };
      const el = (globalThis as unknown as { document: { activeElement: El | null } }).document.activeElement;
      return el ? { tag: el.tagName, text: (el.textContent ?? '').trim(), id: el.id, row: el.closest('tr')?.querySelector('.email')?.textContent ?? null } : null;
    });

  /** Presses Tab until `wanted` has the focus (at most `max` times); how many presses it took. */
  async function tabTo(page: Page, wanted: (el: Awaited<ReturnType<typeof focused>>) => boolean, max = 80): Promise<number> {
    for (let presses = 1; presses <= max; presses++) {
      await page.keyboard.press('Tab');
      if (wanted(await focused(page))) return presses;
    }
    throw new Error(`Tab never reached the element in ${max} presses`);
  }

  it('is usable by keyboard: Tab reaches the search field, "Copy link" and "Revoke link"; Enter and Space press them', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page, dialogs } = await open();
    await signIn(page);
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}`);
    await tabTo(page, (el) => el?.id === 'q');
    await page.keyboard.type('grace');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=grace/);

    await tabTo(page, (el) => el?.tag === 'BUTTON' && el.text === 'Copy link' && el.row === 'grace@example.com');
    await page.keyboard.press('Enter');
    const api = (await admin(service, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string };
    await expect.poll(() => clipboard(page)).toBe(api.url);

    await tabTo(page, (el) => el?.tag === 'BUTTON' && el.text === 'Revoke link' && el.row === 'grace@example.com');
    await page.keyboard.press('Space');
    // The confirmation opened and was dismissed: nothing was revoked.
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toContain('Revoke the link of grace@example.com?');
    await request(service.app).get(new URL(api.url).pathname).expect(200);
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('"Revoke link", confirmed, kills the old URL at once and after a restart on the same DATA_DIR; the new one serves', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page, dialogs } = await open(1280, 'accept');
    await signIn(page);
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}?q=ada`);
    const row = () => page.locator('tbody tr').filter({ hasText: 'ada@example.com' });
    const before = (await row().getByRole('button', { name: 'Copy link' }).getAttribute('data-copy'))!;
    expect((await page.request.get(before)).status()).toBe(200);

    await row().getByRole('button', { name: 'Revoke link' }).click();
    await page.getByRole('status').waitFor();
    expect(dialogs).toEqual([expect.stringContaining('Revoke the link of ada@example.com?')]);
    expect(await page.getByRole('status').textContent()).toBe('The link was replaced: the old one no longer works.');
    const after = (await row().getByRole('button', { name: 'Copy link' }).getAttribute('data-copy'))!;
    expect(after).not.toBe(before);
    expect((await page.request.get(before)).status()).toBe(404);
    expect((await page.request.get(after)).status()).toBe(200);

    // A restart: a new service on the same DATA_DIR, behind the same address.
    const restarted = build();
    await restarted.restore();
    await restarted.sync.refresh();
    server.removeListener('request', service.app);
    server.on('request', restarted.app);
    service = restarted;
    expect((await page.request.get(before)).status()).toBe(404);
    expect((await page.request.get(after)).status()).toBe(200);
    await signIn(page); // sessions live in memory: the restart signed everyone out
    await page.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}?q=ada`);
    expect(await row().getByRole('button', { name: 'Copy link' }).getAttribute('data-copy')).toBe(after);
    await page.context().close();
  }, BROWSER_TEST_MS);
});
