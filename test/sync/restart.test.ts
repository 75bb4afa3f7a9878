import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { readSnapshotJson } from '../helpers/snapshot-file.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { start, type RunningService } from '../../src/server.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedBytes, feedPath } from '../helpers/test-service.js';

/** The test service with a timeout no loaded machine reaches: these tests count requests, and have no hangs. */
const buildService = (fake: FakeKombo, options: Parameters<typeof buildTestService>[1] = {}) =>
  buildTestService(fake, { ...options, overrides: { timeoutMs: 10_000, ...options.overrides } });

// Pass-through spies, so a test can see in which order the store touches the disk.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, writeFile: vi.fn(actual.writeFile), rename: vi.fn(actual.rename) };
});

const MINUTE = 60_000;
const PEOPLE = ['ada@example.com', 'grace@example.com'];

function records() {
  return [
    interviewRecord({ id: 'iv-1', title: 'Intro', users: [komboUser(PEOPLE[0]!, 'Ada', 'Lovelace')] }),
    interviewRecord({
      id: 'iv-2',
      title: 'Pairing; with a comma, and a backslash \\',
      starting_at: '2026-12-02T10:00:00Z',
      ending_at: null,
      location: null,
      users: [komboUser(PEOPLE[0]!, 'Ada', 'Lovelace'), komboUser(PEOPLE[1]!, 'Grace', 'Hopper')],
    }),
    interviewRecord({ id: 'iv-3', title: 'Culture 🎉', starting_at: '2026-12-03T10:00:00Z', ending_at: '2026-12-03T11:00:00Z', users: [komboUser(PEOPLE[1]!, 'Grace', 'Hopper')] }),
  ];
}

async function allFeeds(service: Service) {
  return new Map(await Promise.all(PEOPLE.map(async (email) => [email, await feedBytes(service, email)] as const)));
}

/** Polls `condition` for at most about ten seconds (a bound for a loaded machine, not a speed requirement). */
async function until(condition: () => boolean | Promise<boolean>) {
  for (let n = 0; n < 1_000; n++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(await condition()).toBe(true);
}

/** A feed before any snapshot: 503 with Retry-After, and never a calendar a client could read as "no events". */
async function expectNotReady(service: Service) {
  const res = await request(service.app).get(feedPath(service, PEOPLE[0]!)).expect(503);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(res.headers['content-type']).not.toMatch(/text\/calendar/);
  expect(res.text).not.toContain('BEGIN:VCALENDAR');
  await request(service.app).get('/readyz').expect(503);
}

/**
 * Waits that double from 1 s up to 30 s, each with jitter (between half and all of its step), so a thousand
 * integrations that failed together do not retry together.
 */
function expectBackoff(slept: readonly number[], steps: readonly number[]): void {
  expect(slept).toHaveLength(steps.length);
  slept.forEach((ms, n) => {
    expect(ms).toBeGreaterThanOrEqual(steps[n]! / 2);
    expect(ms).toBeLessThanOrEqual(steps[n]!);
  });
}

describe('a snapshot that survives restarts (file store under DATA_DIR)', () => {
  let fake: FakeKombo;
  let dataDir: string;
  let running: RunningService | undefined;

  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
    fake.clock += 10 * MINUTE;
    dataDir = await mkdtemp(join(tmpdir(), 'interview-feeds-restart-'));
    vi.mocked(fs.writeFile).mockClear();
    vi.mocked(fs.rename).mockClear();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await fake.close().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A service whose snapshots live in `dataDir`, pointed at `kombo`, ready for start() on an ephemeral port. */
  function serviceOn(kombo: FakeKombo) {
    return buildService(kombo, {
      env: { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
      overrides: { state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir) }) },
    });
  }

  async function walkedAndSaved() {
    const first = serviceOn(fake);
    await first.sync.refresh();
    const feeds = await allFeeds(first);
    expect(parseIcs(feeds.get(PEOPLE[0]!)!).events).toHaveLength(2);
    const files = await readdir(dataDir);
    expect(files).toHaveLength(1);
    return { first, feeds, file: join(dataDir, files[0]!) };
  }

  it('serves every feed byte for byte from DATA_DIR at once when restarted with Kombo unreachable', async () => {
    const { feeds } = await walkedAndSaved();
    await fake.close(); // nothing listens on its port any more
    fake.requests.length = 0;

    const second = serviceOn(fake);
    const slept: number[] = [];
    running = await start(second.config, second.logger, second, { sleep: async (ms) => void slept.push(ms) });
    // Ready the moment it listens, before any walk has succeeded.
    const readyz = await fetch(`${running.url}/readyz`);
    expect(readyz.status).toBe(200);
    for (const email of PEOPLE) {
      const res = await fetch(running.url + feedPath(second, email));
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(feeds.get(email)!), email).toBe(true);
    }
    expect(second.logs.lines.some((l) => l.msg === 'restored the last saved snapshot')).toBe(true);

    // The walk it tried fails (connection refused); the restored feeds stay, and the timer, not a tight loop, retries.
    await until(() => second.sync.status().lastFailure !== undefined && !second.sync.status().running);
    expect(second.sync.status().lastFailure!.error).toMatch(/request failed/);
    expect(slept).toEqual([]);
    for (const email of PEOPLE) expect((await feedBytes(second, email)).equals(feeds.get(email)!), email).toBe(true);
    await request(second.app).get('/readyz').expect(200);
  });

  it('after a restart, walks incrementally from the restored snapshot once Kombo answers', async () => {
    const walkedAt = fake.clock;
    await walkedAndSaved();
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, moved while we were down', users: [komboUser(PEOPLE[0]!, 'Ada', 'Lovelace')] }));
    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;

    const second = serviceOn(fake);
    expect(await second.restore()).toBe(true);
    const summary = await second.sync.refresh();
    expect(summary).toMatchObject({ kind: 'incremental', changes: 1 });
    expect(fake.requests.map((r) => r.query.updated_after)).toEqual([new Date(walkedAt - MINUTE).toISOString()]);
    const titles = parseIcs(await feedBytes(second, PEOPLE[0]!)).events.map((e) => e.summary);
    expect(titles[0]).toBe('Intro, moved while we were down');
  });

  describe('logs and ignores a snapshot file it cannot use, never failing start-up', () => {
    it.each<[string, (file: string) => Promise<void>, RegExp]>([
      ['not JSON', (file) => writeFile(file, 'this is not json {'), /is not valid JSON/],
      // Changed with format 2: a cut file is told by its checksum, before any JSON is read.
      ['truncated mid-write', async (file) => writeFile(file, (await readFile(file, 'utf8')).slice(0, 200)), /is not whole/],
      ['JSON of another shape', (file) => writeFile(file, JSON.stringify({ format: 2, interviews: 'many' })), /is not a snapshot/],
      [
        'one byte changed, its length the same',
        async (file) => {
          const bytes = await readFile(file);
          const at = bytes.length - 10;
          bytes[at] = bytes[at]! ^ 0x01;
          await writeFile(file, bytes);
        },
        /is not whole/,
      ],
      [
        "another integration's, its sum intact",
        async (file) => {
          const text = (await readFile(file, 'utf8')).replaceAll(fake.integrationId, 'another:integration');
          const json = Buffer.from(text.slice(text.indexOf('\n') + 1), 'utf8');
          await writeFile(file, `interview-feeds snapshot 2 sha256=${createHash('sha256').update(json).digest('hex')} bytes=${json.length}\n${json.toString('utf8')}`);
        },
        /belongs to another integration/,
      ],
      ['empty', (file) => writeFile(file, ''), /is not valid JSON/],
      [
        'unreadable (a directory where the file should be)',
        async (file) => {
          await rm(file);
          await mkdir(file);
        },
        /cannot read/,
      ],
    ])('%s', async (_name, corrupt, reason) => {
      const { file, feeds } = await walkedAndSaved();
      await corrupt(file);

      const second = serviceOn(fake);
      fake.fail({ type: 'status', status: 503 }, { times: 3 }); // the first walk fails once, then Kombo recovers
      const slept: number[] = [];
      running = await start(second.config, second.logger, second, { sleep: async (ms) => void slept.push(ms) });
      const warning = second.logs.lines.find((l) => l.level === 'warn' && /unreadable snapshot/.test(String(l.msg)));
      expect(warning).toBeDefined();
      expect(JSON.stringify(warning)).toMatch(reason);

      // No snapshot: not ready, feeds 503, until the first walk gets through; then ready by itself.
      await until(async () => (await fetch(`${running!.url}/readyz`)).status === 200);
      expectBackoff(slept, [1_000]);
      if (!(await readFile(file).then(() => true, () => false))) return; // the directory case cannot be overwritten
      for (const email of PEOPLE) expect((await feedBytes(second, email)).equals(feeds.get(email)!), email).toBe(true);
      // The good walk replaced the bad file.
      const third = serviceOn(fake);
      expect(await third.restore()).toBe(true);
    });
  });

  it('writes the snapshot to a temporary file and renames it over the old one, leaving no temporary file', async () => {
    const { file } = await walkedAndSaved();
    const writes = vi.mocked(fs.writeFile).mock.calls.map((call) => String(call[0]));
    const renames = vi.mocked(fs.rename).mock.calls.map((call) => [String(call[0]), String(call[1])]);
    expect(writes).toHaveLength(1);
    expect(writes[0]).not.toBe(file);
    expect(writes[0]!.startsWith(dataDir)).toBe(true);
    expect(renames).toEqual([[writes[0], file]]);
    expect(await readdir(dataDir)).toEqual([file.slice(dataDir.length + 1)]);
    const saved = (await readSnapshotJson(file)) as { interviews: unknown[] };
    expect(saved.interviews).toHaveLength(3);
  });

  it('keeps serving from memory, and leaves no temporary file, when the snapshot cannot be saved', async () => {
    const { file, feeds, first } = await walkedAndSaved();
    await rm(file);
    await mkdir(join(file, 'blocker'), { recursive: true }); // rename onto a non-empty directory fails
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-4', title: 'New', users: [komboUser(PEOPLE[1]!, 'Grace', 'Hopper')] }));
    fake.clock += 5 * MINUTE;
    const summary = await first.sync.refresh();
    expect(summary.changes).toBe(1);
    expect(first.logs.lines.some((l) => l.level === 'error' && /could not save the snapshot/.test(String(l.msg)))).toBe(true);
    expect(await readdir(dataDir)).toEqual([file.slice(dataDir.length + 1)]);
    expect((await feedBytes(first, PEOPLE[0]!)).equals(feeds.get(PEOPLE[0]!)!)).toBe(true);
    expect(parseIcs(await feedBytes(first, PEOPLE[1]!)).events.map((e) => e.uid)).toEqual(['iv-4', 'iv-2', 'iv-3']);
  });
});

describe('before any snapshot', () => {
  let fake: FakeKombo;
  let running: RunningService | undefined;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await fake.close();
  });

  const startOptions = () => ({ env: { PORT: '0', HOST: '127.0.0.1' } });

  it('answers a feed with 503 and Retry-After, never an empty calendar, also after a failed first walk', async () => {
    const service = buildService(fake, startOptions());
    await expectNotReady(service);
    fake.fail({ type: 'status', status: 500 }, { times: 100 });
    await expect(service.sync.refresh()).rejects.toThrow(/500/);
    await expectNotReady(service);
    const health = (await request(service.app).get('/healthz').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200)).body as { snapshot: unknown; sync: { lastFailure: { error: string } } };
    expect(health.snapshot).toBeNull();
    expect(health.sync.lastFailure.error).toMatch(/500/);
  });

  it('start() retries the first walk with backoff capped at 30 s until Kombo recovers, then /readyz turns 200 by itself', async () => {
    // Seven failed walks of three attempts each, then Kombo answers.
    fake.fail({ type: 'status', status: 503 }, { times: 7 * 3 });
    const service = buildService(fake, startOptions());
    const slept: number[] = [];
    let releaseFirst!: () => void;
    const sleep = (ms: number, signal: AbortSignal) => {
      slept.push(ms);
      if (slept.length > 1) return Promise.resolve();
      // Hold the first wait, to look at the service while it has no snapshot.
      return new Promise<void>((resolve, reject) => {
        releaseFirst = resolve;
        signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
      });
    };
    running = await start(service.config, service.logger, service, { sleep });
    await until(() => slept.length === 1);

    const feed = await fetch(running.url + feedPath(service, PEOPLE[0]!));
    expect(feed.status).toBe(503);
    expect(feed.headers.get('retry-after')).toBeTruthy();
    expect(await feed.text()).not.toContain('BEGIN:VCALENDAR');
    expect((await fetch(`${running.url}/readyz`)).status).toBe(503);
    expect(service.logs.lines.some((l) => l.msg === 'no snapshot yet; retrying the first walk')).toBe(true);

    releaseFirst();
    await until(async () => (await fetch(`${running!.url}/readyz`)).status === 200);
    expectBackoff(slept, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    // 21 failed attempts, then one full walk of two pages.
    expect(fake.requests).toHaveLength(21 + 2);
    const res = await fetch(running.url + feedPath(service, PEOPLE[0]!));
    expect(res.status).toBe(200);
    expect(parseIcs(Buffer.from(await res.arrayBuffer())).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
  });

  it('stop() ends the first-walk backoff at once', async () => {
    fake.fail({ type: 'status', status: 503 }, { times: 1_000 });
    const service = buildService(fake, startOptions());
    let waiting = 0;
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((_resolve, reject) => {
        waiting++;
        signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
      });
    running = await start(service.config, service.logger, service, { sleep });
    await until(() => waiting === 1);
    await running.stop();
    running = undefined;
    expect(waiting).toBe(1);
    expect(fake.requests).toHaveLength(3);
  });
});
