/*
 * Takes the README's screenshots again: `npx tsx scripts/screenshots.ts` (Debian's chromium at /usr/bin/chromium, or
 * CHROMIUM=path). It starts the service in demo mode on this machine (the admin page opens without a token from
 * here), with a local OpenID Connect provider for /me, has calendar clients fetch a few links (so "Last fetched"
 * shows them), and saves PNGs under docs/. Demo interviews are relative to today, so the pictures change by the day.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { DEMO_INTERVIEWERS } from '../src/demo/demo-kombo.js';
import { feedLinksFor } from '../src/feeds/feed-links.js';
import { createLogger } from '../src/logger.js';
import { start } from '../src/server.js';

/** Where the PNGs go: docs/, where the README shows them (SCREENSHOTS_DIR elsewhere: the test that runs this script). */
const DOCS = process.env.SCREENSHOTS_DIR ?? fileURLToPath(new URL('../docs/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** How each calendar client's fetcher introduces itself; the page names the client from it. */
const CLIENTS = [
  ['ada@demo.example', 'Google-Calendar-Importer'],
  ['grace@demo.example', 'Microsoft.Exchange/15.20 (Windows NT 10.0; Win64; x64)'],
  ['alan@demo.example', 'iOS/17.5 (21F79) dataaccessd/1.0'],
] as const;

/** A port free now, so PUBLIC_URL and the provider's redirect URI can name it before the service listens. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** oidc-provider with its development login (any password) and consent pages: the person signs in as `login`. */
async function startProvider(redirectUri: string) {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'interview-feeds', client_secret: 'screenshots-client-secret', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: id, email_verified: true, name: id }) }),
    cookies: { keys: ['screenshots-cookie-key'] },
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', () => {});
  server.on('request', provider.callback());
  return { issuer, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-screenshots-'));
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const idp = await startProvider(`${origin}/auth/callback`);
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: 'interview-feeds',
    OIDC_CLIENT_SECRET: 'screenshots-client-secret',
  });
  const running = await start(config, createLogger({ level: 'error' }));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run'] });
  try {
    // Demo mode walks both companies at start-up; the pages and the links want them walked and named.
    for (let waited = 0; waited < 20_000; waited += 100) {
      const ready = running.sync.list().every((integration) => integration.engine.hasSnapshot() && integration.entry().organization !== null);
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [email, agent] of CLIENTS) {
      const { url } = feedLinksFor({ tokens: running.tokens, publicUrl: origin }, 'demo', email);
      const res = await fetch(url, { headers: { 'User-Agent': agent } });
      if (!res.ok) throw new Error(`${email}'s feed answered ${res.status}`);
    }

    const shoot = async (page: Page, name: string) => {
      await page.screenshot({ path: join(DOCS, name), fullPage: true });
      process.stdout.write(`${join(DOCS, name)}\n`);
    };
    const context = (width: number) => browser.newContext({ viewport: { width, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/Berlin', deviceScaleFactor: 1 });

    const desktop = await (await context(1280)).newPage();
    await desktop.goto(`${origin}/admin`);
    await desktop.getByRole('heading', { name: 'Integrations' }).waitFor();
    await shoot(desktop, 'admin-integrations.png');
    await desktop.goto(`${origin}/admin/i/demo`);
    await shoot(desktop, 'admin-page-desktop.png');
    await desktop.goto(`${origin}/admin/i/demo/teams`);
    await shoot(desktop, 'admin-teams.png');

    const phone = await (await context(390)).newPage();
    await phone.goto(`${origin}/admin`); // demo mode: this machine's first visit signs it in
    await phone.goto(`${origin}/admin/i/demo?q=ada`);
    await shoot(phone, 'admin-page-phone.png');

    // /me, as Ada signs in with the company's account: her links in both demo companies.
    const me = await (await context(1280)).newPage();
    await me.goto(`${origin}/me`);
    await me.locator('input[name=login]').fill(DEMO_INTERVIEWERS[0].email);
    await me.locator('input[name=password]').fill('any password');
    await me.locator('input[name=password]').press('Enter');
    await me.getByRole('button', { name: 'Continue' }).click();
    await me.getByRole('heading', { name: 'Your calendar links' }).waitFor();
    await me.getByText('QR code').first().click();
    await me.waitForTimeout(300);
    await shoot(me, 'me-page.png');
  } finally {
    await browser.close();
    await running.stop();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
