import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { start } from '../../src/server.js';
import { startFakeKombo } from '../helpers/fake-kombo.js';
import { buildTestService, captureLogger } from '../helpers/test-service.js';

/** An address of this machine that is not loopback, if it has one: a request from it is not "this machine" to the page. */
const outward = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && !address.internal && address.family === 'IPv4')?.address;

describe('demo mode’s admin page', () => {
  it('is the first thing the logs print, and opens without a token from this machine only', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'interview-feeds-demo-page-'));
    const { logger, logs } = captureLogger('info');
    const running = await start(loadConfig({ PORT: '0', HOST: '0.0.0.0', DATA_DIR: dataDir }), logger); // demo mode, no ADMIN_TOKEN
    try {
      const port = new URL(running.url).port;
      const adminPage = `http://localhost:${port}/admin`;
      expect(logs.lines[0]).toMatchObject({ level: 'warn', adminPage });
      expect(String(logs.lines[0]!.msg)).toContain(`open ${adminPage}`);

      const page = await fetch(`http://127.0.0.1:${port}/admin`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<h1>Integrations</h1>');
      expect(html).toContain('href="/admin/i/demo"');
      // The page's session is an ordinary one: its cookie opens the pages under it.
      const cookie = page.headers.getSetCookie()[0]!.split(';')[0]!;
      expect(cookie).toMatch(/^admin-session=/);
      expect((await fetch(`http://127.0.0.1:${port}/admin/i/demo`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);

      if (outward !== undefined) {
        const remote = await fetch(`http://${outward}:${port}/admin`);
        const text = await remote.text();
        expect(text).not.toContain('<h1>Integrations</h1>');
        expect(text).toContain('In demo mode it opens without one in a browser on the machine the service runs on.');
        expect(remote.headers.getSetCookie()).toEqual([]);
      }
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); // a demo walk's save may still be landing
    }
  });

  it('needs a sign-in from this machine too when the service is not in demo mode', async () => {
    const fake = await startFakeKombo();
    try {
      const service = buildTestService(fake, { env: { PUBLIC_URL: 'http://127.0.0.1:3000' } });
      const res = await request(service.app).get('/admin').expect(200); // supertest connects over loopback
      expect(res.text).toContain('Admin token');
      expect(res.text).not.toContain('<h1>Integrations</h1>');
      expect(res.headers['set-cookie']).toBeUndefined();
    } finally {
      await fake.close();
    }
  });
});
