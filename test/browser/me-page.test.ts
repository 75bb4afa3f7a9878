import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { pageRecords } from '../admin-page/page-fixtures.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { oidcEnv, startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { admin } from '../helpers/integrations.js';
import { buildTestService } from '../helpers/test-service.js';
import { requireTool } from '../interop/interop-fixtures.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';

/** Debian's chromium (.ci/run installs it); playwright-core never downloads a browser. */
const available = chromiumAvailable;
/** A browser test's bound on a loaded 2-core machine, not a speed requirement. */
const BROWSER_TEST_MS = 60_000;

describe.sequential('self-service sign-in in Chromium, against a real OpenID Connect provider', () => {
  let fake: FakeKombo;
  let server: Server;
  let idp: IdentityProvider;
  let service: Service;
  let origin: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    idp = await startIdentityProvider([`${origin}/auth/callback`]);
    service = buildTestService(fake, { env: { PUBLIC_URL: origin, ...oidcEnv(idp, 'lead@example.com') } });
    server.on('request', service.app);
    await service.sync.refresh();
    if (available) {
      browser = await launchChromium();
    }
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
    await idp.close();
    await fake.close();
  });

  /** A fresh browser context; every dialog is recorded and accepted. */
  async function open(): Promise<{ page: Page; dialogs: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    return { page, dialogs };
  }

  /** The provider's development login (any password) and consent pages, as a person fills them. */
  async function atProvider(page: Page, login: string) {
    await page.waitForURL((url) => url.origin === idp.issuer);
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('any password');
    await page.locator('input[name=password]').press('Enter');
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  async function signIn(page: Page, login: string) {
    await page.goto(`${origin}/me`);
    await atProvider(page, login);
    await page.getByRole('heading', { name: 'Your calendar links' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/me');
  }

  const path = (url: string) => new URL(url).pathname;

  it('signs an interviewer in, shows their own link, and "Reset my link" kills the old URL and serves the new one', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page, dialogs } = await open();
    await signIn(page, 'grace@example.com');
    const row = page.locator('tbody tr');
    expect(await row.count()).toBe(1);
    const copy = row.getByRole('button', { name: 'Copy link' });
    const before = (await copy.getAttribute('data-copy'))!;
    const api = (await admin(service, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string };
    expect(before).toBe(api.url);
    await copy.click();
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(before);
    await row.getByText('QR code').click();
    const qr = row.getByRole('img', { name: `QR code of your calendar link in ${fake.integrationId}` });
    await expect.poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0)).toBe(true);
    await row.getByLabel(`Detail level for ${fake.integrationId}`).selectOption('busy');
    expect(await copy.getAttribute('data-copy')).not.toBe(before);
    if (process.env.SCREENSHOTS_DIR) await page.screenshot({ path: join(process.env.SCREENSHOTS_DIR, 'me-page.png'), fullPage: true });

    await request(service.app).get(path(before)).expect(200);
    await row.getByRole('button', { name: 'Reset my link' }).click();
    await page.getByRole('status').waitFor();
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toMatch(/^Reset your link in /);
    await request(service.app).get(path(before)).expect(404);
    const after = (await page.locator('tbody tr').getByRole('button', { name: 'Copy link' }).getAttribute('data-copy'))!;
    expect(after).not.toBe(before);
    await request(service.app).get(path(after)).expect(200);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await page.goto(`${origin}/me/qr.svg?integration=${encodeURIComponent(fake.integrationId)}`);
    expect(await page.getByRole('heading', { name: 'Refused' }).isVisible()).toBe(true); // the ended session shows nothing
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('gives an unverified email and a stranger no link, and says why', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    idp.setVerified('ada@example.com', false);
    try {
      const { page } = await open();
      await signIn(page, 'ada@example.com');
      expect(await page.getByRole('alert').textContent()).toContain('has not verified the email ada@example.com');
      expect(await page.getByRole('button', { name: 'Copy link' }).count()).toBe(0);
      await page.context().close();
    } finally {
      idp.setVerified('ada@example.com', true);
    }
    const { page } = await open();
    await signIn(page, 'stranger@example.com');
    expect(await page.getByRole('alert').textContent()).toContain('No interviews are scheduled with stranger@example.com');
    expect(await page.getByRole('button', { name: 'Copy link' }).count()).toBe(0);
    await page.context().close();
  }, BROWSER_TEST_MS);

  it('lets an OIDC_ADMIN_EMAILS person into the admin page by the same sign-in', async (ctx) => {
    requireTool(ctx, available, 'chromium');
    const { page } = await open();
    await page.goto(`${origin}/admin`);
    await page.getByRole('link', { name: 'Sign in with your company account' }).click();
    await atProvider(page, 'lead@example.com');
    await page.getByRole('heading', { name: 'Integrations' }).waitFor();
    await page.getByRole('link', { name: fake.integrationId }).click();
    await page.getByLabel('Search').waitFor();
    await page.context().close();
  }, BROWSER_TEST_MS);
});
