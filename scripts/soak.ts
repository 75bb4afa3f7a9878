/*
 * `npm run soak -- --minutes N`: the service under a steady, modest load for N minutes, watched for what grows.
 *
 *   npm run soak -- --minutes 60                      embedded, then replica mode (both), an hour each
 *   npm run soak -- --minutes 3 --mode embedded       a quick look
 *   options: --mode embedded|replica|both  --integrations 200  --rate 30 (feed requests/s)  --change-every 10 (s)
 *            --interval 30 (SYNC_INTERVAL_SECONDS)  --replicas 3  --per-integration 200  --people 20
 *            --sample-every 30 (s)  --quiet 60 (s of no change and no feed request at the end)  --checked 300
 *            --warm 1 (every feed asked once of every process before the load: caches full from the start; 0: not)
 *            --heap-snapshots 1 (each process writes one after its first ten minutes and one at the end; the report
 *            lists what grew between them, by constructor; 0: none)
 *
 * A loopback stand-in of Kombo (bench/fake-kombo-child.ts) serves `--integrations` organisations; the service runs
 * as child processes (bench/replica-child.ts: embedded with a DATA_DIR of its own, or `--replicas` replicas on a
 * redis-server this script starts on a free loopback port and stops at the end). For N minutes: feed requests at
 * `--rate` per second spread over every person of every integration and over the processes (half revalidating with
 * the ETag they were given); every `--change-every` seconds the stand-in adds, moves or cancels an interview and a
 * signed data-changed webhook tells one process; the service refreshes on its own timers. Every `--sample-every`
 * seconds each process is asked, over IPC, for its memory after a forced GC (the children run with --expose-gc), and
 * Redis for INFO memory and stats. Then `--quiet` seconds without changes or feed requests (the walks of idle
 * organisations alone: Redis commands per walk), and every feed requested (up to `--checked`) is fetched from every
 * process, parsed with ical.js and checked against the stand-in's records: every interview of that person in the
 * window, nothing else, at the right times. Prints a markdown block for BENCHMARKS.md. A script, not a test.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { ChildProcess } from 'node:child_process';
import ICAL from 'ical.js';
import { createFeedTokens } from '../src/feeds/feed-token.js';
import { signWebhook } from '../src/http/routes/webhook-routes.js';
import { normalizeEmail } from '../src/interviews/normalize-email.js';
import { type FakeReady, BENCH_FEED_SECRET, BENCH_WEBHOOK_SECRET, benchIntegrationIds, benchServiceEnv, call, startChild, stopChild } from '../bench/ipc.js';
import { getJson } from '../bench/measure.js';
import { KEY_PREFIX, startRedis, stopRedis } from '../bench/replicas.js';

// ---------------------------------------------------------------------------------------------------------------
// Options

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? undefined : (process.argv[index + 1] ?? '');
}
function numberOption(name: string, fallback: number, min: number): number {
  const value = Number(option(name) ?? fallback);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number of at least ${min}`);
  return value;
}
const minutesText = option('minutes');
if (minutesText === undefined) throw new Error('say how long: npm run soak -- --minutes N');
const settings = {
  minutes: numberOption('minutes', 0, 0.5),
  mode: option('mode') ?? 'both',
  integrations: numberOption('integrations', 200, 1),
  rate: numberOption('rate', 30, 0),
  changeEverySeconds: numberOption('change-every', 10, 1),
  intervalSeconds: numberOption('interval', 30, 10),
  replicas: numberOption('replicas', 3, 1),
  perIntegration: numberOption('per-integration', 200, 1),
  people: numberOption('people', 20, 1),
  sampleEverySeconds: numberOption('sample-every', 30, 1),
  quietSeconds: numberOption('quiet', 60, 0),
  checked: numberOption('checked', 300, 1),
  warm: numberOption('warm', 1, 0) > 0,
  heapSnapshots: numberOption('heap-snapshots', 1, 0) > 0,
};
if (!['embedded', 'replica', 'both'].includes(settings.mode)) throw new Error('--mode must be embedded, replica or both');
/** The heap slope is fitted to the samples after this (or, in a shorter run, after its first third). */
const SETTLE_MS = 10 * 60_000;
/** How long after a heap snapshot a failed feed request is still put down to it. */
const PAUSE_GRACE_MS = 10_000;
const DEFAULT_DURATION_MINUTES = 60;
const FEED_PAST_DAYS = 90;
const DAY_MS = 86_400_000;
const began = Date.now();
const log = (message: string) => process.stderr.write(`[soak ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// ---------------------------------------------------------------------------------------------------------------
// HTTP

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) if (typeof value === 'string') headers[key] = value;
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers, body: headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function postWebhook(baseUrl: string, integrationId: string): Promise<Answer> {
  const body = JSON.stringify({ id: `soak-${randomUUID()}`, type: 'data-changed', data: { integration_id: integrationId, changed_models: [{ name: 'ats_interviews' }] } });
  return send(`${baseUrl}/webhooks/kombo`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Kombo-Signature': signWebhook(body, BENCH_WEBHOOK_SECRET) },
    body,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Redis INFO

interface RedisSample {
  usedMemory: number;
  commands: number;
}
async function redisSample(admin: Awaited<ReturnType<typeof startRedis>>['admin']): Promise<RedisSample> {
  const info = `\n${await admin.info('memory')}\n${await admin.info('stats')}`;
  const field = (name: string) => Number(new RegExp(`\\n${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN);
  return { usedMemory: field('used_memory'), commands: field('total_commands_processed') };
}
/** Calls per command name so far (INFO commandstats). */
async function commandStats(admin: Awaited<ReturnType<typeof startRedis>>['admin']): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await admin.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) calls.set(match[1]!, Number(match[2]));
  return calls;
}
/** Each INFO this script sends is a command Redis counts: two per sample. */
const INFO_CALLS_PER_SAMPLE = 2;

// ---------------------------------------------------------------------------------------------------------------
// The feeds' expected content

interface ExpectedEvent {
  startMs: number;
  endMs: number;
  title: string | null;
}
type KomboRecord = Record<string, unknown> & { id: string };
/** The ids of an integration's confidential jobs and candidates, as the stand-in serves them. */
interface Confidential {
  jobs: ReadonlySet<string>;
  candidates: ReadonlySet<string>;
}

/** What `email`'s feed must hold, read straight from the stand-in's records: the service's rules, written again. */
function expectedEvents(records: readonly KomboRecord[], email: string, nowMs: number, confidential: Confidential): Map<string, ExpectedEvent> {
  const notEndedBeforeMs = Math.floor(nowMs / DAY_MS) * DAY_MS - FEED_PAST_DAYS * DAY_MS;
  const events = new Map<string, ExpectedEvent>();
  for (const record of records) {
    if (record.canceled === true || (record.remote_deleted_at !== null && record.remote_deleted_at !== undefined)) continue;
    if (typeof record.starting_at !== 'string') continue;
    const users = (record.users ?? []) as { email: string | null }[];
    if (!users.some((user) => typeof user.email === 'string' && normalizeEmail(user.email) === email)) continue;
    const startMs = Date.parse(record.starting_at);
    const endAt = typeof record.ending_at === 'string' ? Date.parse(record.ending_at) : Number.NaN;
    const endMs = endAt > startMs ? endAt : startMs + DEFAULT_DURATION_MINUTES * 60_000;
    if (endMs < notEndedBeforeMs) continue;
    const title = typeof record.title === 'string' && record.title.trim() === record.title && record.title.length > 0 && record.title.length < 200 ? record.title : null;
    // A confidential search (or candidate) is named nowhere: its events are titled "Interview" (SHOW_CONFIDENTIAL_NAMES unset).
    const application = record.application as { candidate?: { id?: string }; job?: { id?: string } } | null | undefined;
    const hidden = confidential.jobs.has(application?.job?.id ?? '') || confidential.candidates.has(application?.candidate?.id ?? '');
    events.set(record.id, { startMs, endMs, title: hidden ? 'Interview' : title });
  }
  return events;
}

/** Why `body` is not exactly `expected` (at most a few reasons), or [] when it is. */
function differences(body: Buffer, expected: Map<string, ExpectedEvent>): string[] {
  const problems: string[] = [];
  let calendar: ICAL.Component;
  try {
    calendar = new ICAL.Component(ICAL.parse(body.toString('utf8')));
  } catch (error) {
    return [`ical.js cannot parse it: ${String(error)}`];
  }
  const seen = new Set<string>();
  for (const vevent of calendar.getAllSubcomponents('vevent')) {
    const uid = String(vevent.getFirstPropertyValue('uid'));
    seen.add(uid);
    const want = expected.get(uid);
    if (!want) {
      problems.push(`an event that should not be there: ${uid}`);
      continue;
    }
    const time = (name: string) => {
      const value = vevent.getFirstPropertyValue(name);
      return value instanceof ICAL.Time ? value.toJSDate().getTime() : Number.NaN;
    };
    if (time('dtstart') !== want.startMs || time('dtend') !== want.endMs) problems.push(`${uid} at the wrong time`);
    if (want.title !== null && String(vevent.getFirstPropertyValue('summary')) !== want.title) problems.push(`${uid} titled ${JSON.stringify(vevent.getFirstPropertyValue('summary'))}, not ${JSON.stringify(want.title)}`);
  }
  for (const uid of expected.keys()) if (!seen.has(uid)) problems.push(`missing ${uid}`);
  return problems.slice(0, 3);
}

/** The messages that took the most bytes of the logs, with their share of all bytes. */
async function logShares(files: readonly string[]): Promise<[string, number][]> {
  const bytes = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      const size = Buffer.byteLength(line) + 1;
      total += size;
      let message = '(not JSON)';
      try {
        const parsed = JSON.parse(line) as { msg?: unknown };
        message = typeof parsed.msg === 'string' ? parsed.msg : '(no msg)';
      } catch {
        // counted as not JSON
      }
      bytes.set(message, (bytes.get(message) ?? 0) + size);
    }
  }
  return [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([message, size]) => [message, total === 0 ? 0 : size / total]);
}

// ---------------------------------------------------------------------------------------------------------------
// One soak

interface Sample {
  atMs: number;
  heapMb: number[];
  rssMb: number[];
  redis: RedisSample | undefined;
  logBytes: number;
  interviewRequests: number;
}

interface SoakResult {
  mode: 'embedded' | 'replica';
  processes: string[];
  samples: Sample[];
  mainEndIndex: number;
  /** `whilePaused`: failures while a heap snapshot stopped a process, or within {@link PAUSE_GRACE_MS} after. */
  feedRequests: { sent: number; ok: number; notModified: number; failed: number; whilePaused: number; seconds: number };
  changes: { made: number; webhooksOk: number };
  /** The quiet phase: its walks, Redis commands, and the commands it used most. */
  quiet: { seconds: number; walks: number; commands: number; sent: number; sentTop: [string, number][]; top: [string, number][] } | undefined;
  topCommands: [string, number][];
  /** The log messages that took the most bytes, with their share. */
  topLogs: [string, number][];
  checked: number;
  exact: number;
  problems: string[];
  redisVersion: string | undefined;
  /** Per process: what grew most between its two heap snapshots (constructor or kind, MB, count). */
  heapGrowth: { from: number; to: number; top: [string, number, number][] }[] | undefined;
  /** The warm-up: feed requests made before the load (every feed once of every process), and how long they took. */
  warmed: { requests: number; seconds: number } | undefined;
}

/** What the load counts and where it sends requests. */
interface LoadTargets {
  feeds: readonly { integrationId: string; email: string; path: string }[];
  urls: readonly string[];
  ids: readonly string[];
  controlUrl: string;
  feedRequests: { sent: number; ok: number; notModified: number; failed: number; whilePaused: number };
  changes: { made: number; webhooksOk: number };
  problems: string[];
  /** Whether a heap snapshot stops a process now (or did a moment ago): a failure then is told apart. */
  paused: () => boolean;
}

/**
 * Starts the load: feed requests at `--rate` (half revalidating), and a change with its webhook every
 * `--change-every` seconds. `stop` ends both and waits for what is in flight; `requested` holds the feeds asked for.
 */
function startLoad(targets: LoadTargets): { requested: Set<number>; stop: () => Promise<void> } {
  const { feeds, urls, ids, feedRequests, changes, problems, paused } = targets;
  const requested = new Set<number>();
  const etags = new Map<string, string>();
  const inFlight = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };
  const problem = (text: string) => {
    if (problems.length < 20) problems.push(text);
  };
  const failed = (text: string) => {
    feedRequests.failed++;
    if (paused()) feedRequests.whilePaused++;
    problem(paused() ? `${text} (while a heap snapshot stopped a process)` : text);
  };
  const askFeed = () => {
    const index = Math.floor(Math.random() * feeds.length);
    const target = Math.floor(Math.random() * urls.length);
    const key = `${target}:${index}`;
    const etag = etags.get(key);
    const headers: Record<string, string> = { 'Accept-Encoding': 'gzip' };
    if (etag !== undefined && Math.random() < 0.5) headers['If-None-Match'] = etag;
    requested.add(index);
    feedRequests.sent++;
    track(
      send(urls[target]! + feeds[index]!.path, { headers }).then(
        (answer) => {
          if (answer.status === 200) {
            feedRequests.ok++;
            if (answer.headers.etag) etags.set(key, answer.headers.etag);
          } else if (answer.status === 304) feedRequests.notModified++;
          else {
            failed(`a feed answered ${answer.status}`);
          }
        },
        (error: unknown) => failed(`a feed request failed: ${String(error)}`),
      ),
    );
  };
  const kinds = ['add', 'move', 'cancel'];
  const change = () => {
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const kind = kinds[changes.made % kinds.length]!;
    changes.made++;
    track(
      getJson(`${targets.controlUrl}/mutate?integration=${encodeURIComponent(id)}&kind=${kind}`)
        .then(() => postWebhook(urls[Math.floor(Math.random() * urls.length)]!, id))
        .then(
          (answer) => (answer.status === 200 ? changes.webhooksOk++ : problem(`a webhook answered ${answer.status}`)),
          (error: unknown) => problem(`a change failed: ${String(error)}`),
        ),
    );
  };
  const feedTimer = settings.rate > 0 ? setInterval(askFeed, 1000 / settings.rate) : undefined;
  const changeTimer = setInterval(change, settings.changeEverySeconds * 1000);
  return {
    requested,
    async stop() {
      clearInterval(feedTimer);
      clearInterval(changeTimer);
      await Promise.all(inFlight);
    },
  };
}

/**
 * Fetches each of `chosen` (up to `--checked`, at random) from every process and checks it against the stand-in's
 * records; counts the exact ones, and notes what was wrong with the others.
 */
async function checkFeeds(options: {
  feeds: readonly { integrationId: string; email: string; path: string }[];
  chosen: number[];
  urls: readonly string[];
  labels: readonly string[];
  controlUrl: string;
  problems: string[];
}): Promise<{ checked: number; exact: number }> {
  const chosen = options.chosen.sort(() => Math.random() - 0.5).slice(0, settings.checked);
  const records = new Map<string, KomboRecord[]>();
  const hidden = new Map<string, Confidential>();
  let checked = 0;
  let exact = 0;
  const nowMs = Date.now();
  for (const index of chosen) {
    const feed = options.feeds[index]!;
    let list = records.get(feed.integrationId);
    if (!list) records.set(feed.integrationId, (list = await getJson<KomboRecord[]>(`${options.controlUrl}/records?integration=${encodeURIComponent(feed.integrationId)}`)));
    let confidential = hidden.get(feed.integrationId);
    if (!confidential) {
      const ids = await getJson<{ jobs: string[]; candidates: string[] }>(`${options.controlUrl}/confidential?integration=${encodeURIComponent(feed.integrationId)}`);
      hidden.set(feed.integrationId, (confidential = { jobs: new Set(ids.jobs), candidates: new Set(ids.candidates) }));
    }
    const expected = expectedEvents(list, feed.email, nowMs, confidential);
    for (const [i, url] of options.urls.entries()) {
      checked++;
      const answer = await send(url + feed.path);
      const found = answer.status === 200 ? differences(answer.body, expected) : [`answered ${answer.status}`];
      if (found.length === 0) exact++;
      else if (options.problems.length < 20) options.problems.push(`${options.labels[i]}: ${feed.integrationId} ${feed.email}: ${found.join('; ')}`);
    }
  }
  return { checked, exact };
}

async function soak(mode: 'embedded' | 'replica'): Promise<SoakResult> {
  const work = mkdtempSync(join(tmpdir(), `interview-feeds-soak-${mode}-`));
  const children: ChildProcess[] = [];
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  try {
    log(`${mode}: ${settings.integrations} integrations of ${settings.perIntegration} interviews, ${settings.people} people each; ${settings.minutes} min`);
    const fake = await startChild<FakeReady>('./fake-kombo-child.ts', [
      String(settings.perIntegration),
      JSON.stringify({ remoteData: false, integrations: settings.integrations, interviewers: settings.people }),
    ]);
    children.push(fake.child);
    const ids = benchIntegrationIds(settings.integrations);
    let redisVersion: string | undefined;
    if (mode === 'replica') {
      redis = await startRedis(work);
      redisVersion = /redis_version:(\S+)/.exec(await redis.admin.info('server'))?.[1];
    }
    const labels = mode === 'embedded' ? ['embedded'] : Array.from({ length: settings.replicas }, (_, i) => `replica-${i + 1}`);
    const logFiles = labels.map((label) => join(work, `${label}.log`));
    const processes = await Promise.all(
      labels.map(async (label, i) => {
        const fd = openSync(logFiles[i]!, 'a');
        const { child } = await startChild<{ type: string }>('./replica-child.ts', [], {
          stdout: fd,
          env: benchServiceEnv(fake.ready.baseUrl, join(work, `data-${label}`), {
            KOMBO_INTEGRATION_ID: '',
            KOMBO_INTEGRATION_IDS: ids.join(','),
            SYNC_INTERVAL_SECONDS: String(settings.intervalSeconds),
            FULL_SYNC_INTERVAL_HOURS: '1',
            KOMBO_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
            ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: KEY_PREFIX } : {}),
          }),
        });
        closeSync(fd);
        children.push(child);
        return child;
      }),
    );
    const urls: string[] = [];
    for (const child of processes) urls.push((await call<{ url: string }>(child, 'start')).url);
    log(`  ${labels.length} service process(es) serving`);

    // Every person of every integration has a feed; the load picks among them at random.
    const tokens = createFeedTokens(BENCH_FEED_SECRET);
    const feeds: { integrationId: string; email: string; path: string }[] = [];
    for (const id of ids) {
      for (const person of await getJson<{ email: string }[]>(`${fake.ready.controlUrl}/interviewers?integration=${encodeURIComponent(id)}`)) {
        feeds.push({ integrationId: id, email: person.email, path: `/feeds/${tokens.encode({ integrationId: id, email: person.email })}.ics` });
      }
    }
    const feedRequests = { sent: 0, ok: 0, notModified: 0, failed: 0, whilePaused: 0, seconds: 0 };
    const changes = { made: 0, webhooksOk: 0 };
    const problems: string[] = [];

    // Every feed once of every process: its caches (rendered feeds, who fetched what) are as full as the load will
    // make them, so what grows after is not a table filling as the load happens to reach each person.
    let warmed: SoakResult['warmed'];
    if (settings.warm) {
      const warmStart = Date.now();
      const queue = urls.flatMap((url) => feeds.map((feed) => url + feed.path));
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
            const answer = await send(next, { headers: { 'Accept-Encoding': 'gzip' } });
            if (answer.status !== 200 && problems.length < 20) problems.push(`warm-up: a feed answered ${answer.status}`);
          }
        }),
      );
      warmed = { requests: urls.length * feeds.length, seconds: (Date.now() - warmStart) / 1000 };
      log(`  warmed: ${warmed.requests} feed requests in ${warmed.seconds.toFixed(0)} s`);
    }

    const samples: Sample[] = [];
    const logBytes = () => logFiles.reduce((sum, file) => sum + statSync(file).size, 0);
    const interviewRequests = async () => (await getJson<{ interviewRequests: number }>(`${fake.ready.controlUrl}/stats`)).interviewRequests;
    const takeSample = async () => {
      const memory = await Promise.all(processes.map((child) => call<{ heapUsedMb: number; rssMb: number }>(child, 'memory')));
      samples.push({
        atMs: Date.now(),
        heapMb: memory.map((m) => m.heapUsedMb),
        rssMb: memory.map((m) => m.rssMb),
        redis: redis ? await redisSample(redis.admin) : undefined,
        logBytes: logBytes(),
        interviewRequests: await interviewRequests(),
      });
    };

    // The load: feed requests, changes with their webhooks, samples; all on timers, for `minutes`.
    await takeSample();
    const startedAt = Date.now();
    const endAt = startedAt + settings.minutes * 60_000;
    // Heap snapshots: one when the heap slope starts to count, one at the end of the load. Writing one stops a process
    // for seconds; a keep-alive connection it closes on waking, as a request arrives on it, resets.
    const pause = { untilMs: 0 };
    const load = startLoad({ feeds, urls, ids, controlUrl: fake.ready.controlUrl, feedRequests, changes, problems, paused: () => Date.now() < pause.untilMs });
    const snapshotAtMs = settings.heapSnapshots ? startedAt + Math.min(SETTLE_MS, (settings.minutes * 60_000) / 3) : Infinity;
    const heapFiles: { atMs: number; paths: string[] }[] = [];
    const takeHeapSnapshots = async () => {
      const atMs = Date.now();
      pause.untilMs = Infinity;
      const paths = await Promise.all(
        processes.map((child, i) => call<string>(child, 'heapSnapshot', { path: join(work, `${labels[i]}-${heapFiles.length}.heapsnapshot`) })),
      ).finally(() => (pause.untilMs = Date.now() + PAUSE_GRACE_MS));
      heapFiles.push({ atMs, paths });
      log(`  heap snapshots written (${heapFiles.length})`);
    };
    while (Date.now() < endAt) {
      await sleep(Math.min(settings.sampleEverySeconds * 1000, endAt - Date.now()));
      if (heapFiles.length === 0 && Date.now() >= snapshotAtMs) await takeHeapSnapshots();
      await takeSample();
      const last = samples.at(-1)!;
      log(`  ${((last.atMs - startedAt) / 60_000).toFixed(1)} min: heap ${last.heapMb.map((mb) => mb.toFixed(1)).join(' / ')} MB, ${feedRequests.sent} feed requests, ${changes.made} changes`);
    }
    await load.stop();
    feedRequests.seconds = (Date.now() - startedAt) / 1000;
    const mainEndIndex = samples.length - 1;
    if (heapFiles.length === 1) await takeHeapSnapshots();
    const heapGrowth =
      heapFiles.length === 2
        ? labels.map((_, i) => ({
            from: (heapFiles[0]!.atMs - startedAt) / 60_000,
            to: (heapFiles[1]!.atMs - startedAt) / 60_000,
            top: growthBetween(heapFiles[0]!.paths[i]!, heapFiles[1]!.paths[i]!),
          }))
        : undefined;

    // Quiet: the walks of idle organisations alone; long enough for every refresh timer to fire after the last change.
    let quiet: SoakResult['quiet'];
    if (settings.quietSeconds > 0) {
      log(`  quiet for ${settings.quietSeconds} s`);
      // A sample of its own: the heap snapshots at the end of the load took a while since the last one.
      await takeSample();
      const from = samples.at(-1)!;
      const callsBefore = redis ? await commandStats(redis.admin) : new Map<string, number>();
      // What the replicas send (one script is one), apart from what scripts run inside: MONITOR tells them apart.
      let sent = 0;
      const sentBy = new Map<string, number>();
      const monitor = redis ? await redis.admin.monitor() : undefined;
      monitor?.on('monitor', (_time: string, args: string[], source: string) => {
        const name = args[0]?.toLowerCase() ?? '';
        if (source === 'lua' || name === 'info') return;
        sent++;
        // A script by what it is about: the key it names first (its kind, without the integration).
        const about = name === 'eval' || name === 'evalsha' ? `${name} ${(args[5] ?? '').replace(KEY_PREFIX, '').replace(/:.*$/, '')}` : name;
        sentBy.set(about, (sentBy.get(about) ?? 0) + 1);
      });
      await sleep(settings.quietSeconds * 1000);
      monitor?.disconnect();
      const callsAfter = redis ? await commandStats(redis.admin) : new Map<string, number>();
      await takeSample();
      const to = samples.at(-1)!;
      const top = [...callsAfter].map(([name, calls]): [string, number] => [name, calls - (callsBefore.get(name) ?? 0)]).filter(([, calls]) => calls > 0);
      quiet = {
        seconds: (to.atMs - from.atMs) / 1000,
        walks: to.interviewRequests - from.interviewRequests,
        // This script's own INFO calls: the sample's two, and the commandstats pair around the sleep.
        commands: from.redis && to.redis ? to.redis.commands - from.redis.commands - INFO_CALLS_PER_SAMPLE - 2 : 0,
        sent,
        sentTop: [...sentBy].sort((a, b) => b[1] - a[1]).slice(0, 6),
        top: top.sort((a, b) => b[1] - a[1]).slice(0, 6),
      };
    }
    const topCommands = redis ? [...(await commandStats(redis.admin))].sort((a, b) => b[1] - a[1]).slice(0, 6) : [];

    const { checked, exact } = await checkFeeds({ feeds, chosen: [...load.requested], urls, labels, controlUrl: fake.ready.controlUrl, problems });
    log(`  ${exact} of ${checked} feeds exact`);

    await Promise.all(processes.map((child) => call(child, 'stop').catch(() => {})));
    const topLogs = await logShares(logFiles);
    return { mode, processes: labels, samples, mainEndIndex, feedRequests, changes, quiet, topCommands, topLogs, checked, exact, problems, redisVersion, heapGrowth, warmed };
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    if (redis) {
      redis.admin.disconnect();
      await stopRedis(redis.child);
    }
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Heap snapshots

/** Self sizes and counts per constructor (objects, closures) or kind (strings, arrays, code...) in a heap snapshot. */
function heapTally(path: string): Map<string, { bytes: number; count: number }> {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const tally = new Map<string, { bytes: number; count: number }>();
  for (let at = 0; at < snapshot.nodes.length; at += fields.length) {
    const type = types[snapshot.nodes[at + typeAt]!]!;
    const key = type === 'object' || type === 'closure' ? `${snapshot.strings[snapshot.nodes[at + nameAt]!]} (${type})` : `(${type})`;
    const entry = tally.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[at + sizeAt]!;
    entry.count++;
    tally.set(key, entry);
  }
  return tally;
}

/** What grew most between two heap snapshots of one process: name, MB and count more. */
function growthBetween(before: string, after: string): [string, number, number][] {
  const [a, b] = [heapTally(before), heapTally(after)];
  return [...b]
    .map(([key, { bytes, count }]): [string, number, number] => [key, (bytes - (a.get(key)?.bytes ?? 0)) / 2 ** 20, count - (a.get(key)?.count ?? 0)])
    .sort((x, y) => y[1] - x[1])
    .slice(0, 6);
}

// ---------------------------------------------------------------------------------------------------------------
// The report

/** The least-squares slope of `ys` against `xs`. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const f = (value: number, digits = 0) => (Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');
const signed = (value: number, digits = 1) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${f(value, digits)}` : '—');

function report(result: SoakResult): string {
  const main = result.samples.slice(0, result.mainEndIndex + 1);
  const first = main[0]!;
  const last = main.at(-1)!;
  const hours = (last.atMs - first.atMs) / 3_600_000;
  const settle = hours * 60 >= 20 ? SETTLE_MS : (last.atMs - first.atMs) / 3;
  const fitted = main.filter((sample) => sample.atMs - first.atMs >= settle);
  const rows: string[][] = [];
  const settleText = settle === SETTLE_MS ? 'after its first 10 min' : `after its first ${f(settle / 60_000, 1)} min (a run under 20 min: its last two thirds)`;
  for (const [i, label] of result.processes.entries()) {
    const xs = fitted.map((sample) => (sample.atMs - first.atMs) / 3_600_000);
    const heap = slope(xs, fitted.map((sample) => sample.heapMb[i]!));
    const rss = slope(xs, fitted.map((sample) => sample.rssMb[i]!));
    rows.push([
      `Heap after forced GC, ${label}: slope ${settleText} (${fitted.length} samples, least squares)`,
      `**${signed(heap)} MB/h** (${f(first.heapMb[i]!, 1)} → ${f(last.heapMb[i]!, 1)} MB; RSS ${signed(rss)} MB/h, ${f(last.rssMb[i]!, 0)} MB at the end)`,
      '< 2 MB/h',
      Number.isFinite(heap) ? (heap < 2 ? 'yes' : '**no**') : '—',
    ]);
  }
  const walks = last.interviewRequests - first.interviewRequests;
  const seconds = (last.atMs - first.atMs) / 1000;
  rows.push(['Kombo interview requests (walks) per second', `${f(walks / seconds, 1)} (${f(walks)} in ${f(seconds)} s)`, '—', '—']);
  if (first.redis && last.redis) {
    const commands = last.redis.commands - first.redis.commands - INFO_CALLS_PER_SAMPLE * result.mainEndIndex;
    rows.push([
      'Redis commands per second (whole run)',
      `${f(commands / seconds, 1)}; ${f(commands / Math.max(1, walks), 1)} per walk (top: ${result.topCommands.map(([name, calls]) => `${name} ${f(calls)}`).join(', ')})`,
      'proportional to changes',
      '—',
    ]);
    if (result.quiet) {
      const perWalk = (count: number) => count / Math.max(1, result.quiet!.walks);
      rows.push([
        `Redis commands per walk of an idle organisation (${f(result.quiet.seconds)} s without changes or feed requests): sent by the replicas (a script is one)`,
        `**${f(perWalk(result.quiet.sent), 1)}** (${f(result.quiet.sent)} sent, ${f(result.quiet.walks)} walks; ${result.quiet.sentTop.map(([name, calls]) => `${name} ${f(calls)}`).join(', ')})`,
        'about 1',
        result.quiet.walks === 0 ? '—' : perWalk(result.quiet.sent) <= 1.5 ? 'yes' : perWalk(result.quiet.sent) <= 2.5 ? 'two: a lease taken and given back' : '**no**',
      ]);
      rows.push([
        'The same, counting each command a script runs (INFO `total_commands_processed`)',
        `${f(perWalk(result.quiet.commands), 1)} (${f(result.quiet.commands)} commands; ${f(result.quiet.commands / result.quiet.seconds, 1)}/s; top: ${result.quiet.top.map(([name, calls]) => `${name} ${f(calls)}`).join(', ')})`,
        '—',
        '—',
      ]);
    }
    const used = main.map((sample) => sample.redis!.usedMemory);
    rows.push(['Redis `used_memory`', `${f(used[0]! / 2 ** 20, 1)} → ${f(used.at(-1)! / 2 ** 20, 1)} MB (max ${f(Math.max(...used) / 2 ** 20, 1)} MB)`, '—', '—']);
  }
  const logBytes = last.logBytes - first.logBytes;
  rows.push([`Log bytes per hour at LOG_LEVEL=info (all ${result.processes.length} process${result.processes.length > 1 ? 'es' : ''})`, `${f(logBytes / 2 ** 20 / hours, 1)} MB/h (most bytes: ${result.topLogs.map(([message, share]) => `"${message.replace(/\|/g, '\\|')}" ${f(share * 100)} %`).join(', ')})`, '—', '—']);
  const fr = result.feedRequests;
  rows.push([
    'Feed requests',
    `${f(fr.sent)} (${f(fr.sent / fr.seconds, 1)}/s): ${f(fr.ok)} 200, ${f(fr.notModified)} 304, ${f(fr.failed)} other` +
      (fr.whilePaused > 0 ? ` (${f(fr.whilePaused)} of them while a heap snapshot stopped a process, or within ${PAUSE_GRACE_MS / 1000} s after)` : ''),
    'none other (but while a heap snapshot stops a process)',
    fr.failed - fr.whilePaused === 0 ? 'yes' : '**no**',
  ]);
  rows.push(['Changes made in the stand-in (add / move / cancel), each told by a signed webhook', `${f(result.changes.made)} (${f(result.changes.webhooksOk)} webhooks answered 200)`, '—', '—']);
  rows.push([
    'Feeds checked at the end against the stand-in (ical.js; every interview in the window, nothing else)',
    `**${f(result.exact)} of ${f(result.checked)} exact**`,
    'all',
    result.checked > 0 && result.exact === result.checked ? 'yes' : '**no**',
  ]);
  for (const [i, growth] of (result.heapGrowth ?? []).entries()) {
    rows.push([
      `What grew most in ${result.processes[i]}'s heap between snapshots at ${f(growth.from, 1)} and ${f(growth.to, 1)} min (self size, by constructor)`,
      growth.top.map(([name, mb, count]) => `${name.replace(/\|/g, '\\|')} ${signed(mb, 2)} MB (${signed(count, 0)})`).join('; '),
      '—',
      '—',
    ]);
  }
  const header = ['Measure', 'Value', 'Target', 'Met'];
  const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
  const context =
    `Soak, ${result.mode} mode${result.redisVersion ? ` (${result.processes.length} replicas on redis-server ${result.redisVersion})` : ''}, run ${new Date(first.atMs).toISOString().slice(0, 16).replace('T', ' ')} UTC: ` +
    `${f(settings.minutes, 1)} min, ${settings.integrations} integrations × ${settings.perIntegration} interviews (${settings.people} people each, no \`remote_data\`), ` +
    `${settings.rate} feed requests/s, a change every ${settings.changeEverySeconds} s, SYNC_INTERVAL_SECONDS=${settings.intervalSeconds}, FULL_SYNC_INTERVAL_HOURS=1; memory sampled every ${settings.sampleEverySeconds} s after a forced GC` +
    (result.warmed ? `; before the load every feed was asked once of every process (${f(result.warmed.requests)} requests, ${f(result.warmed.seconds)} s), so caches start full.` : '; no warm-up: caches fill as the load reaches each person.');
  const problems = result.problems.length > 0 ? `\n\nProblems seen (first ${result.problems.length}):\n${result.problems.map((problem) => `- ${problem}`).join('\n')}` : '';
  return `${context}\n\n${table}${problems}`;
}

// ---------------------------------------------------------------------------------------------------------------

const modes: ('embedded' | 'replica')[] = settings.mode === 'both' ? ['embedded', 'replica'] : [settings.mode as 'embedded' | 'replica'];
const blocks: string[] = [];
try {
  for (const mode of modes) blocks.push(report(await soak(mode)));
} finally {
  agent.destroy();
}
process.stdout.write(`\n${blocks.join('\n\n')}\n`);
