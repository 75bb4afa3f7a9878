import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createFeedTokens } from '../../src/feeds/feed-token.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService } from '../helpers/test-service.js';

/* `npm run feed-url -- --integration ID email` is `tsx src/cli/feed-url.ts …`: run exactly that (as test/cli does). */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx/cli');
/** The command reads ./.env and DATA_DIR=./data: an empty working directory keeps the developer's own out. */
const CWD = mkdtempSync(join(tmpdir(), 'interview-feeds-cli-cwd-'));
afterAll(() => rmSync(CWD, { recursive: true, force: true }));
const SECRET = 'cli-test-feed-secret-0123456789abcdef';
const A = 'greenhouse:acme';
const B = 'lever:globex/eu';
const ENV = { KOMBO_API_KEY: 'cli-test-key', KOMBO_INTEGRATION_IDS: `${A},${B}`, FEED_SECRET: SECRET, PUBLIC_URL: 'https://feeds.example.com' };

function feedUrl(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSX, join(ROOT, 'src/cli/feed-url.ts'), ...args],
      { cwd: CWD, env: { PATH: process.env.PATH ?? '', TMPDIR: process.env.TMPDIR ?? '/tmp', ...env }, timeout: 50_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

const printedUrl = (stdout: string) => /^ {2}feed URL:\s+(\S+)$/m.exec(stdout)?.[1];

describe('npm run feed-url with several integrations', { timeout: 60_000 }, () => {
  it('prints the URL of the integration --integration names, which serves that integration feed', async () => {
    const [spaced, joined, unnamed] = await Promise.all([
      feedUrl(['--integration', B, 'Ada@Example.com'], ENV),
      feedUrl([`--integration=${B}`, 'ada@example.com'], ENV),
      feedUrl(['ada@example.com'], ENV),
    ]);
    expect(spaced.stderr).toBe('');
    expect(spaced.code).toBe(0);
    expect(spaced.stdout).toMatch(new RegExp(`^ {2}integration:\\s+${B.replace('/', '\\/')}$`, 'm'));
    const url = printedUrl(spaced.stdout)!;
    expect(printedUrl(joined.stdout)).toBe(url);
    const token = url.slice('https://feeds.example.com/feeds/'.length, -'.ics'.length);
    expect(createFeedTokens(SECRET).decode(token)).toEqual({ integrationId: B, email: 'ada@example.com' });

    // Without --integration, while the configuration names two: an error naming them, and no URL.
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toContain('--integration');
    expect(unnamed.stderr).toContain(A);
    expect(unnamed.stdout).toBe('');

    // The printed URL is one a service with that secret serves, with that integration's interviews only.
    const fake = await startFakeKombo({ integrationId: A });
    try {
      fake.integration(A)!.setRecords([interviewRecord({ id: 'iv-a', title: 'At Acme', users: [komboUser('ada@example.com')] })]);
      fake.addIntegration(B).setRecords([interviewRecord({ id: 'iv-b', title: 'At Globex', users: [komboUser('ada@example.com')] })]);
      const service = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: `${A},${B}`, FEED_SECRET: SECRET } });
      await service.sync.refresh({ integration: A });
      await service.sync.refresh({ integration: B });
      const res = await request(service.app).get(new URL(url).pathname).expect(200);
      expect(parseIcs(res.text).events.map((e) => e.summary)).toEqual(['At Globex']);
      await service.sync.close();
    } finally {
      await fake.close();
    }
  });
});
