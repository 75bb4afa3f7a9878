import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { pageRecords } from '../admin-page/page-fixtures.js';
import { CHROMIUM, chromiumAvailable } from '../helpers/browser.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { admin } from '../helpers/integrations.js';
import { ADMIN_TOKEN, buildTestService } from '../helpers/test-service.js';
import { requireTool } from '../interop/interop-fixtures.js';

/* First contact (issue 24) in a real browser: findings 4, 7 and 9, where what the browser does (dropping a Secure
   cookie over http, a confirmation dialog) is the point; and 12, the script that takes the README's screenshots. */

const BROWSER_TEST_MS = 60_000;
/** A name that is not this machine to the browser (it maps it to 127.0.0.1): plain http there is not trustworthy. */
const LAN_HOST = 'feeds-vm.test';

describe.sequential('first contact in Chromium', () => {
  let fake: FakeKombo;
  let server: Server;
  let service: Service;
  let port: number;
  let browser: Browser | undefined;

  /** Serves a fresh service built with `env` on the listening port. */
  async function serve(env: Record<string, string | undefined>): Promise<void> {
    service = buildTestService(fake, { env });
    server.removeAllListeners('request');
    server.on('request', service.app);
    await service.restore();
    await service.sync.refresh();
  }

  beforeAll(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    if (chromiumAvailable) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`],
      });
    }
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
    await fake.close();
  });

  let page: Page | undefined;
  const dialogs: string[] = [];
  async function open(): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    dialogs.length = 0;
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    return page;
  }
  afterEach(async () => {
    await page?.context().close();
    page = undefined;
  });

  async function signIn(at: string) {
    const p = page!;
    await p.goto(`${at}/admin`);
    await p.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  it('7. with an https PUBLIC_URL, signing in over plain http from another host says to use https instead of looping back to the form', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    await serve({ PUBLIC_URL: 'https://feeds.example.com' });
    const p = await open();
    await signIn(`http://${LAN_HOST}:${port}`);
    await p.getByRole('heading', { name: 'Sign in over https' }).waitFor();
    expect(await p.getByRole('link', { name: /^Open https:\/\/feeds\.example\.com\/admin/ }).getAttribute('href')).toBe('https://feeds.example.com/admin');
    expect(await p.context().cookies()).toEqual([]);
  }, BROWSER_TEST_MS);

  it('7. and from this machine over http (where the browser keeps a Secure cookie) it still signs in', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    await serve({ PUBLIC_URL: 'https://feeds.example.com' });
    const p = await open();
    await signIn(`http://127.0.0.1:${port}`);
    await p.getByRole('heading', { name: 'Integrations' }).waitFor();
  }, BROWSER_TEST_MS);

  it('4. removes an integration from its page, after a confirmation page; cancel leaves it', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    const origin = `http://127.0.0.1:${port}`;
    await serve({ PUBLIC_URL: origin });
    const p = await open();
    await signIn(origin);
    await p.getByRole('link', { name: fake.integrationId }).click();
    await p.getByRole('link', { name: 'Remove…' }).click();
    await p.getByRole('heading', { name: `Remove ${fake.integrationId}?` }).waitFor();
    await p.getByRole('link', { name: 'Cancel' }).click();
    await p.waitForURL(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}`);
    expect(service.sync.get(fake.integrationId)).toBeDefined();

    await p.getByRole('link', { name: 'Remove…' }).click();
    await p.getByRole('button', { name: `Remove ${fake.integrationId}` }).click();
    await p.getByText('The integration was removed').waitFor();
    expect(await p.getByText('No integration is served yet').isVisible()).toBe(true);
    expect(service.sync.get(fake.integrationId)).toBeUndefined();
    expect(dialogs).toEqual([]);
  }, BROWSER_TEST_MS);

  it('9. revokes a team feed’s link from the teams page, after a confirmation dialog', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    const origin = `http://127.0.0.1:${port}`;
    await serve({ PUBLIC_URL: origin });
    const old = ((await admin(service, 'get', '/admin/feed-url').query({ all: 'true' }).expect(200)).body as { url: string }).url;
    const p = await open();
    await signIn(origin);
    await p.goto(`${origin}/admin/i/${encodeURIComponent(fake.integrationId)}/teams`);
    const row = p.getByRole('row').filter({ hasText: 'All interviews' });
    expect(await row.getByRole('button', { name: 'Copy link' }).getAttribute('data-copy')).toBe(old);
    await row.getByRole('button', { name: 'Revoke link' }).click();
    await p.getByText('The link was replaced').waitFor();
    expect(dialogs).toEqual(['Revoke the link of “All interviews”? Every calendar subscribed to it stops updating until it subscribes to the new one.']);
    const fresh = await p.getByRole('row').filter({ hasText: 'All interviews' }).getByRole('button', { name: 'Copy link' }).getAttribute('data-copy');
    expect(fresh).not.toBe(old);
    await request(service.app).get(new URL(old).pathname).expect(404);
    await request(service.app).get(new URL(fresh!).pathname).expect(200);
  }, BROWSER_TEST_MS);
});

describe('12. the README\u2019s screenshots', () => {
  it('scripts/screenshots.ts takes them from demo mode: the integrations, an integration with "Last fetched" and "Revoke link" (desktop and phone), the team feeds, and /me', async (ctx) => {
    requireTool(ctx, chromiumAvailable, 'chromium');
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const out = mkdtempSync(join(tmpdir(), 'interview-feeds-screenshots-'));
    try {
      const TSX = createRequire(import.meta.url).resolve('tsx/cli');
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [TSX, join(root, 'scripts/screenshots.ts')], { cwd: root, timeout: 110_000, env: { ...process.env, SCREENSHOTS_DIR: out } }, (error, text, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(text),
        ),
      );
      const names = ['admin-integrations.png', 'admin-page-desktop.png', 'admin-teams.png', 'admin-page-phone.png', 'me-page.png'];
      expect(stdout.trim().split('\n')).toEqual(names.map((name) => join(out, name)));
      for (const name of names) {
        const png = readFileSync(join(out, name));
        expect(png.subarray(1, 4).toString('latin1'), name).toBe('PNG');
        // The IHDR width: the viewport's.
        expect(png.readUInt32BE(16), name).toBe(name.includes('phone') ? 390 : 1280);
      }
      // The README shows each of them, under docs/.
      const readme = readFileSync(join(root, 'README.md'), 'utf8');
      for (const name of names) expect(readme).toContain(`(docs/${name})`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
