import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSY_SUMMARY } from '../../src/calendar/interview-event.js';
import { createFeedTokens } from '../../src/feeds/feed-token.js';
import { createFileLinkGenerationStore, createLinkGenerations } from '../../src/feeds/link-generations.js';
import { createFileRegistryStore } from '../../src/integrations/registry-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService } from '../helpers/test-service.js';

/* `npm run feed-url -- …` is `tsx src/cli/feed-url.ts …`: run exactly that, with an environment we choose. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx/cli');
/** The command reads ./.env and DATA_DIR=./data: an empty working directory keeps the developer's own out. */
const CWD = mkdtempSync(join(tmpdir(), 'interview-feeds-cli-cwd-'));
afterAll(() => rmSync(CWD, { recursive: true, force: true }));
const SECRET = 'cli-test-feed-secret-0123456789abcdef';

const LIVE_ENV = {
  KOMBO_API_KEY: 'cli-test-key',
  KOMBO_INTEGRATION_ID: 'greenhouse:cli',
  FEED_SECRET: SECRET,
  PUBLIC_URL: 'https://feeds.example.com/',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function feedUrl(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSX, join(ROOT, 'src/cli/feed-url.ts'), ...args],
      // Only what we pass: nothing from the developer's own environment (or a .env) may leak in.
      { cwd: CWD, env: { PATH: process.env.PATH ?? '', TMPDIR: process.env.TMPDIR ?? '/tmp', ...env }, timeout: 50_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The labelled links the command prints, by label. */
function links(stdout: string): Record<string, string> {
  return Object.fromEntries(
    [...stdout.matchAll(/^ {2}([^:]+):\s+(\S+)$/gm)].map((m) => [m[1]!.trim(), m[2]!]),
  );
}

// Each test starts a process that compiles TypeScript: generous limits, so a busy machine is not a failure.
describe('npm run feed-url', { timeout: 60_000 }, () => {
  it('prints the feed URL and every subscribe link, the URL decoding to the interviewer', async () => {
    const run = await feedUrl(['Ada@Example.com'], LIVE_ENV);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('ada@example.com');
    const printed = links(run.stdout);
    const url = printed['feed URL']!;
    expect(url).toMatch(/^https:\/\/feeds\.example\.com\/feeds\/[A-Za-z0-9_-]+\.ics$/);
    const token = url.slice('https://feeds.example.com/feeds/'.length, -'.ics'.length);
    expect(createFeedTokens(SECRET).decode(token)).toEqual({ integrationId: 'greenhouse:cli', email: 'ada@example.com' });
    expect(printed['Apple/webcal']).toBe(url.replace(/^https:/, 'webcal:'));
    expect(printed['Google Calendar']).toBe(`https://calendar.google.com/calendar/r?cid=${encodeURIComponent(url.replace(/^https:/, 'webcal:'))}`);
    expect(new URL(printed['Outlook (M365)']!).origin).toBe('https://outlook.office.com');
    expect(new URL(printed['Outlook (M365)']!).searchParams.get('url')).toBe(url);
    expect(new URL(printed['Outlook.com']!).origin).toBe('https://outlook.live.com');
    expect(new URL(printed['Outlook.com']!).searchParams.get('url')).toBe(url);
    expect(run.stdout).not.toContain(SECRET);
    expect(run.stdout).not.toContain('cli-test-key');
  });

  it('prints a revoked link’s replacement, as the service hands it out, and everyone else’s link as before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'interview-feeds-cli-'));
    try {
      const generations = createLinkGenerations(createFileLinkGenerationStore(dir));
      await generations.bump('greenhouse:cli', 'p:ada@example.com');
      await generations.bump('greenhouse:cli', 'p:ada@example.com');
      const run = await feedUrl(['ada@example.com', 'grace@example.com'], { ...LIVE_ENV, DATA_DIR: dir });
      expect(run.stderr).toBe('');
      const urls = [...run.stdout.matchAll(/feed URL:\s+https:\/\/feeds\.example\.com\/feeds\/([A-Za-z0-9_-]+)\.ics/g)].map((m) => m[1]!);
      const tokens = createFeedTokens(SECRET);
      expect(urls.map((token) => tokens.decode(token))).toEqual([
        { integrationId: 'greenhouse:cli', email: 'ada@example.com', generation: 2 },
        { integrationId: 'greenhouse:cli', email: 'grace@example.com' },
      ]);
      expect(urls[1]).toBe(tokens.encode({ integrationId: 'greenhouse:cli', email: 'grace@example.com' }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints one block per email', async () => {
    const run = await feedUrl(['ada@example.com', 'grace@example.com'], LIVE_ENV);
    expect(run.code).toBe(0);
    expect(run.stdout.match(/feed URL:/g)).toHaveLength(2);
    expect(run.stdout).toMatch(/^grace@example\.com$/m);
  });

  it('exits non-zero naming a malformed email, and still prints the good ones', async () => {
    const run = await feedUrl(['not-an-email', 'ada@example.com'], LIVE_ENV);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('not an email address: not-an-email');
    expect(run.stdout).toMatch(/^ada@example\.com$/m);
    expect(run.stdout).not.toContain('not-an-email');
  });

  it('exits non-zero with usage when given no email', async () => {
    const run = await feedUrl([], LIVE_ENV);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('usage: npm run feed-url -- [--integration ID] [--detail full|private|busy] someone@example.com');
    expect(run.stdout).toBe('');
  });

  it('exits non-zero naming the variable when the configuration is bad, printing no URL', async () => {
    const [short, badUrl] = await Promise.all([
      feedUrl(['ada@example.com'], { ...LIVE_ENV, FEED_SECRET: 'too-short' }),
      feedUrl(['ada@example.com'], { ...LIVE_ENV, PUBLIC_URL: 'ftp://feeds.example.com' }),
    ]);
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('FEED_SECRET');
    expect(short.stderr).not.toContain('too-short');
    expect(short.stdout).toBe('');

    expect(badUrl.code).not.toBe(0);
    expect(badUrl.stderr).toContain('PUBLIC_URL');
    expect(badUrl.stdout).toBe('');
  });

  it('--detail and --job / --all print URLs the service serves at that level, for that team', async () => {
    const [priv, team, busyAll, bad, noJob] = await Promise.all([
      feedUrl(['--detail', 'private', 'ada@example.com'], LIVE_ENV),
      feedUrl(['--job', 'job-1'], LIVE_ENV),
      feedUrl(['--detail=busy', '--all'], LIVE_ENV),
      feedUrl(['--detail', 'everything', 'ada@example.com'], LIVE_ENV),
      feedUrl(['--job'], LIVE_ENV),
    ]);
    for (const run of [priv, team, busyAll]) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    }
    expect(priv.stdout).toMatch(/^ {2}detail:\s+private$/m);
    expect(team.stdout.split('\n')[0]).toBe('job job-1');
    expect(busyAll.stdout.split('\n')[0]).toBe('every interview');
    const pathOf = (run: Run) => new URL(links(run.stdout)['feed URL']!).pathname;
    const tokens = createFeedTokens(SECRET);
    expect(tokens.decode(pathOf(priv).slice(7, -4))).toEqual({ integrationId: 'greenhouse:cli', email: 'ada@example.com', detail: 'private' });
    expect(tokens.decode(pathOf(team).slice(7, -4))).toEqual({ integrationId: 'greenhouse:cli', team: { job: 'job-1' } });
    expect(tokens.decode(pathOf(busyAll).slice(7, -4))).toEqual({ integrationId: 'greenhouse:cli', team: 'all', detail: 'busy' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--detail must be one of full, private, busy');
    expect(bad.stdout).toBe('');
    expect(noJob.code).toBe(2);
    expect(noJob.stdout).toBe('');

    // The printed URLs are ones a service with that secret serves, at that level, for that team.
    const fake = await startFakeKombo({ integrationId: 'greenhouse:cli' });
    try {
      const job = (id: string) => ({ id: 'app-1', remote_id: '1', outcome: 'PENDING', rejection_reason_name: null, candidate: { first_name: 'Marie', last_name: 'Curie' }, job: { id, name: `Job ${id}` } });
      fake.setRecords([
        interviewRecord({ id: 'iv-1', title: 'Onsite with Marie Curie', users: [komboUser('ada@example.com')], application: job('job-1') }),
        interviewRecord({ id: 'iv-2', starting_at: '2026-12-02T10:00:00.000Z', ending_at: null, users: [komboUser('grace@example.com')], application: job('job-2') }),
      ]);
      const service = buildTestService(fake, { env: { FEED_SECRET: SECRET } });
      await service.sync.refresh();
      const get = async (path: string) => parseIcs((await request(service.app).get(path).expect(200)).text);
      const own = await get(pathOf(priv));
      expect(own.events.map((e) => [e.uid, e.summary])).toEqual([['iv-1', 'Interview: Job job-1']]);
      expect(own.events[0]!.description).not.toContain('Marie');
      expect((await get(pathOf(team))).events.map((e) => [e.uid, e.summary])).toEqual([['iv-1', 'Onsite with Marie Curie']]);
      expect((await get(pathOf(busyAll))).events.map((e) => [e.uid, e.summary])).toEqual([['iv-1', BUSY_SUMMARY], ['iv-2', BUSY_SUMMARY]]);
      await service.sync.close();
    } finally {
      await fake.close();
    }
  });

  it('exits 2 for an --integration the service does not serve (mistyped, or removed), naming those it does, and prints no link', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'interview-feeds-cli-'));
    try {
      const [typo, fresh] = await Promise.all([
        feedUrl(['--integration', 'greenhouse:clj', 'ada@example.com'], { ...LIVE_ENV, DATA_DIR: dir }),
        feedUrl(['--integration', 'greenhouse:cli', 'ada@example.com'], { ...LIVE_ENV, DATA_DIR: dir }),
      ]);
      expect(typo.code).toBe(2);
      expect(typo.stdout).toBe('');
      expect(typo.stderr).toBe(
        'unknown integration "greenhouse:clj": the service does not serve it, so its links would answer 404. Served: greenhouse:cli. Check the spelling, or add it (KOMBO_INTEGRATION_IDS, or POST /admin/integrations)\n',
      );
      // The one the configuration names works before the service ever ran (no registry saved yet).
      expect(fresh.code).toBe(0);
      expect(fresh.stderr).toBe('');

      // Added at run time, it is served; removed, it is not, even while the configuration names it.
      const entry = (id: string, source: 'config' | 'api') => ({ id, seq: 0, addedAtMs: 0, source, pausedAtMs: null, pausedState: null, tool: null, organization: null });
      await createFileRegistryStore(dir).save({ format: 1, nextSeq: 1, integrations: [entry('workday:added', 'api')], removed: [{ id: 'greenhouse:cli', removedAtMs: 0 }] });
      const [added, removed] = await Promise.all([
        feedUrl(['--integration', 'workday:added', 'ada@example.com'], { ...LIVE_ENV, DATA_DIR: dir }),
        feedUrl(['ada@example.com'], { ...LIVE_ENV, DATA_DIR: dir }),
      ]);
      expect(added.stderr).toBe('');
      expect(added.code).toBe(0);
      expect(links(added.stdout)['integration']).toBe('workday:added');
      expect(removed.code).toBe(2);
      expect(removed.stdout).toBe('');
      expect(removed.stderr).toContain('the integration "greenhouse:cli" was removed, so its links answer 404 (POST /admin/integrations brings it back)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints the link of an email on no interview in the saved snapshot, with a warning on stderr, and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'interview-feeds-cli-'));
    const fake = await startFakeKombo({ integrationId: 'greenhouse:cli' });
    try {
      fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com')] })]);
      const service = buildTestService(fake, { env: { FEED_SECRET: SECRET, DATA_DIR: dir }, overrides: { state: createMemoryState({ snapshots: createFileSnapshotStore(dir) }), timeoutMs: 10_000 } });
      await service.sync.refresh();
      await service.sync.close();

      const run = await feedUrl(['ada@exmaple.com', 'Ada@Example.com'], { ...LIVE_ENV, DATA_DIR: dir });
      expect(run.code).toBe(0);
      expect(run.stdout.match(/feed URL:/g)).toHaveLength(2);
      expect(run.stdout).toMatch(/^ada@exmaple\.com$/m);
      const warnings = run.stderr.trim().split('\n');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^warning: ada@exmaple\.com is on no interview in the last saved snapshot of greenhouse:cli \(\d{4}-\d\d-\d\dT[\d:.]+Z\): check the spelling; the link works/);
    } finally {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says so when the links are demo-mode links', async () => {
    const run = await feedUrl(['ada@example.com'], {});
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('demo');
    expect(links(run.stdout)['feed URL']).toMatch(/^http:\/\/localhost:3000\/feeds\/[A-Za-z0-9_-]+\.ics$/);
  });
});
