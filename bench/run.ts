/*
 * `npm run bench`: measures the service against the limits of the same machine, in the same run, and prints (and
 * for the default size writes into BENCHMARKS.md) a table of side-by-side ratios. See BENCHMARKS.md for the method.
 *
 *   npm run bench                        50,000 interviews (and 5,000 for the scaling row); writes BENCHMARKS.md
 *   npm run bench -- --interviews 5000   a quick run (and 500 for scaling); prints only, unless --write is given
 *   npm run bench -- --only many         one part (feeds, light, many, replicas, history, million or linked); prints only
 *   npm run bench -- --only history --history-interviews 20000   rows 10 at another size (100,000 by default)
 *   npm run bench -- --only replicas --write   rows 9 (replicas on Redis) alone, rewritten in BENCHMARKS.md
 *   npm run bench -- --profile DIR       also writes a CPU profile of each service process into DIR
 *
 * Processes: this one only orchestrates and times HTTP requests. The fake Kombo, the bare walker, the service and
 * the two baseline servers each run in a child process of their own, so no two of them share an event loop, and
 * the load generator (wrk, else autocannon) shares none with the servers it loads.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type FakeReady, benchIntegrationIds, benchServiceEnv, call, startChild, stopChild } from './ipc.js';
import { historyContext, historyRows, millionRows, runHistory, runMillion } from './history.js';
import { replicaContext, replicaRows, runReplicas } from './replicas.js';
import { began, get, getJson, load, LOAD_CPU, log, median, pinToServerCore, SERVER_CPU, TASKSET, WARM_CONNECTIONS, WRK } from './measure.js';

// ---------------------------------------------------------------------------------------------------------------
// Options

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return undefined;
  return process.argv[index + 1] ?? '';
}
const interviews = Number(option('interviews') ?? 50_000);
if (!Number.isInteger(interviews) || interviews < 500) throw new Error('--interviews must be a whole number of at least 500');
/** `--profile DIR`: each service process writes a CPU profile (`node --cpu-prof`) into DIR, for Chrome's DevTools. */
const profileDir = option('profile');
const write = process.argv.includes('--write') || option('interviews') === undefined;
/** Fresh service processes, each alternated with a fresh bare walker, for the walk rows (1, 7, 12): their medians are compared. Five, as three read 1.45 to 1.61 for the same code on a shared machine. */
const WALK_PAIRS = 5;
const COLD_SAMPLES = 7;
const WARM_ROUNDS = 5;
const WARM_SECONDS = 3;
const WARM_UP_SECONDS = 3;
const MANY_PER_INTEGRATION = 60;
const manyIntegrations = Number(option('integrations') ?? (interviews >= 50_000 ? 1_000 : 100));
/** SYNC_CONCURRENCY's default, for the service and the bare walker alike. */
const MANY_CONCURRENCY = 4;
/** SYNC_INTERVAL_SECONDS in the steady-state run, and how many of its intervals are watched. */
const STEADY_INTERVAL_SECONDS = 20;
const STEADY_INTERVALS = 2;
/** Rows 10: the organisation with history; row 11: the records of the first walk with default settings. */
const historyInterviews = Number(option('history-interviews') ?? 100_000);
const millionRecords = Number(option('million-records') ?? 1_000_000);
const work = mkdtempSync(join(tmpdir(), 'interview-feeds-bench-'));

// ---------------------------------------------------------------------------------------------------------------
// One scale: fake Kombo, walks, memory, cold and warm feeds

interface Summary {
  requests: number;
  pages: number;
  interviews: number;
  interviewers: number;
  changes: number;
  changedFeeds: number;
  kind: string;
}
interface Memory {
  rssMb: number;
  heapUsedMb: number;
}
type ServerKind = 'service' | 'express' | 'express-prototypes' | 'node';

interface ScaleResult {
  interviews: number;
  fake: FakeReady;
  walk?: {
    requests: number;
    fakeRequests: number;
    limitRequests: number;
    readyMs: number[];
    doneMs: number[];
    bareMs: number[];
    /** The bare walker's requests for linked records (beside one per interview page). */
    bareLinkedRequests: number;
    unchangedRequests: number;
    unchangedMs: number[];
    bareUnchangedMs: number[];
    baseline: Memory[];
    loaded: Memory[];
    snapshotInterviews: number;
    snapshotInterviewers: number;
  };
  cold: { ms: number[]; warmMs: number[]; events: number[]; refreshMs: number[] };
  warm: Record<ServerKind, number[]> & { bodyBytes: number; identityBytes: number };
  /** Requests per CPU-second of each server, from the same runs as `warm`. */
  warmCpu: Record<ServerKind, number[]>;
}

async function startService(fake: FakeReady, label: string, env: NodeJS.ProcessEnv = {}, script = './service-child.ts'): Promise<ChildProcess> {
  const logFile = join(work, `service-${label}.log`);
  const fd = openSync(logFile, 'a');
  const { child } = await startChild<{ type: string }>(script, [], {
    stdout: fd,
    ...(profileDir ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', profileDir] } : {}),
    env: benchServiceEnv(fake.baseUrl, join(work, `data-${label}`), env),
  });
  closeSync(fd);
  return child;
}

/**
 * Walks, memory, cold and warm feeds at one size. `remoteData: false` serves records without their `remote_data`
 * blob; with no `servers`, only the walks are measured.
 */
async function runScale(n: number, options: { walks: boolean; servers: ServerKind[]; remoteData?: boolean }): Promise<ScaleResult> {
  const remoteData = options.remoteData ?? true;
  log(`${n} interviews${remoteData ? '' : ' without remote_data'}: generating and serving them from the fake Kombo`);
  const { child: fakeChild, ready: fake } = await startChild<FakeReady>('./fake-kombo-child.ts', [String(n), JSON.stringify({ remoteData })]);
  // Interview requests only: the service's one `GET /integrations/{id}` after its first walk is not a walk's.
  const stats = async () => ({ requests: (await getJson<{ interviewRequests: number }>(`${fake.controlUrl}/stats`)).interviewRequests });
  const result: ScaleResult = {
    interviews: n,
    fake,
    cold: { ms: [], warmMs: [], events: [], refreshMs: [] },
    warm: { service: [], express: [], 'express-prototypes': [], node: [], bodyBytes: 0, identityBytes: 0 },
    warmCpu: { service: [], express: [], 'express-prototypes': [], node: [] },
  };
  let service: ChildProcess | undefined;
  let serviceUrl = '';
  const walk = {
    requests: 0,
    fakeRequests: 0,
    limitRequests: Math.ceil(fake.listed / 250),
    readyMs: [] as number[],
    doneMs: [] as number[],
    bareMs: [] as number[],
    bareLinkedRequests: 0,
    unchangedRequests: 0,
    unchangedMs: [] as number[],
    bareUnchangedMs: [] as number[],
    baseline: [] as Memory[],
    loaded: [] as Memory[],
    snapshotInterviews: 0,
    snapshotInterviewers: 0,
  };

  // 1–3. Bare walker and service alternate, each in a fresh process; the last service stays up for the feed tests.
  const pairs = options.walks ? WALK_PAIRS : 1;
  for (let i = 0; i < pairs; i++) {
    if (options.walks) {
      const { child: bare } = await startChild<{ type: string }>('./bare-walker-child.ts');
      // The same pages the service reads: the interviews, then the linked records held interviews name (row 12 sets the
      // service against the interviews alone).
      const full = await call<{ ms: number; requests: number; records: number; linkedRequests: number }>(bare, 'walk', { baseUrl: fake.baseUrl, linked: true });
      if (full.records !== fake.listed) throw new Error(`bare walker read ${full.records} of ${fake.listed} records`);
      walk.bareMs.push(full.ms);
      walk.bareLinkedRequests = full.linkedRequests;
      const unchanged = await call<{ ms: number }>(bare, 'walk', { baseUrl: fake.baseUrl, updatedAfter: new Date(Date.now() - 60_000).toISOString(), linked: true });
      walk.bareUnchangedMs.push(unchanged.ms);
      await stopChild(bare);
    }
    service?.kill();
    service = await startService(fake, `${n}-${remoteData}-${i}`);
    walk.baseline.push(await call<Memory>(service, 'baseline'));
    const before = await stats();
    const started = await call<{ url: string; readyMs: number; doneMs: number; summary: Summary }>(service, 'start');
    const afterWalk = await stats();
    serviceUrl = started.url;
    walk.readyMs.push(started.readyMs);
    walk.doneMs.push(started.doneMs);
    walk.requests = started.summary.requests;
    walk.fakeRequests = afterWalk.requests - before.requests;
    walk.snapshotInterviews = started.summary.interviews;
    walk.snapshotInterviewers = started.summary.interviewers;
    const unchanged = await call<{ ms: number; summary: Summary }>(service, 'refresh');
    if (unchanged.summary.kind !== 'incremental' || unchanged.summary.changes !== 0) throw new Error('the unchanged refresh changed something');
    walk.unchangedMs.push(unchanged.ms);
    walk.unchangedRequests = (await stats()).requests - afterWalk.requests;
    walk.loaded.push(await call<Memory>(service, 'memory'));
    log(`  walk ${i + 1}/${pairs}: service ready in ${started.readyMs.toFixed(0)} ms${options.walks ? `, bare walker ${walk.bareMs.at(-1)!.toFixed(0)} ms` : ''}`);
  }
  if (options.walks) result.walk = walk;
  if (!service) throw new Error('no service');
  if (options.servers.length === 0) {
    await call(service, 'stop');
    await stopChild(service);
    await stopChild(fakeChild);
    return result;
  }

  // 4. Cold feeds: change one interview of an interviewer in Kombo, refresh, then fetch their feed once.
  const people = await getJson<{ email: string; live: number }[]>(`${fake.controlUrl}/interviewers`);
  const chosen = Array.from({ length: COLD_SAMPLES }, (_, i) => people[Math.floor((i * people.length) / COLD_SAMPLES)]!);
  const paths = await call<string[]>(service, 'paths', { emails: chosen.map((person) => person.email) });
  for (const [i, person] of chosen.entries()) {
    await getJson(`${fake.controlUrl}/change?email=${encodeURIComponent(person.email)}`);
    const refreshed = await call<{ ms: number; summary: Summary }>(service, 'refresh');
    if (refreshed.summary.changedFeeds < 1) throw new Error('the change reached no feed');
    result.cold.refreshMs.push(refreshed.ms);
    const cold = await get(serviceUrl + paths[i], { 'Accept-Encoding': 'gzip' });
    if (cold.status !== 200) throw new Error(`cold feed answered ${cold.status}`);
    const warm = await get(serviceUrl + paths[i], { 'Accept-Encoding': 'gzip' });
    result.cold.ms.push(cold.ms);
    result.cold.warmMs.push(warm.ms);
    result.cold.events.push(gunzipSync(cold.body).toString('utf8').split('BEGIN:VEVENT').length - 1);
  }
  log(`  cold feed: median ${median(result.cold.ms).toFixed(1)} ms for ${median(result.cold.events)} events`);

  // 5. Warm feed: the service against the same bytes and headers served by one-route Express and by node:http.
  const feedUrl = serviceUrl + paths[0];
  const sample = await get(feedUrl, { 'Accept-Encoding': 'gzip' });
  result.warm.bodyBytes = sample.body.length;
  result.warm.identityBytes = (await get(feedUrl)).body.length;
  const bodyFile = join(work, `feed-${n}.ics.gz`);
  writeFileSync(bodyFile, sample.body);
  const keep = ['content-type', 'cache-control', 'last-modified', 'vary', 'content-disposition', 'etag', 'content-encoding', 'content-length', 'x-content-type-options'];
  const headers = Object.fromEntries(Object.entries(sample.headers).filter(([key]) => keep.includes(key)));
  const targets: Record<string, { url: string; child?: ChildProcess; pid?: number | undefined }> = { service: { url: feedUrl, pid: service?.pid } };
  for (const kind of options.servers.filter((server) => server !== 'service')) {
    const { child, ready } = await startChild<{ url: string }>('./baseline-server-child.ts', [kind, bodyFile, JSON.stringify(headers)]);
    const check = await get(ready.url, { 'Accept-Encoding': 'gzip' });
    if (!check.body.equals(sample.body) || check.headers.etag !== sample.headers.etag) throw new Error(`${kind} does not serve the same bytes`);
    targets[kind] = { url: ready.url, child, pid: child.pid };
  }
  for (const target of Object.values(targets)) pinToServerCore(target.pid);
  // Warm-up, not counted: long enough for V8 to optimise every server's hot path, or the first rounds measure the JIT.
  for (const kind of options.servers) await load(targets[kind]!.url, WARM_UP_SECONDS);
  for (let round = 0; round < WARM_ROUNDS; round++) {
    for (const kind of options.servers) {
      const measured = await load(targets[kind]!.url, WARM_SECONDS, targets[kind]!.pid);
      result.warm[kind].push(measured.rps);
      result.warmCpu[kind].push(measured.perCpuSecond);
    }
  }
  log(`  warm feed: ${options.servers.map((kind) => `${kind} ${median(result.warm[kind]).toFixed(0)}/s`).join(', ')}`);

  for (const target of Object.values(targets)) if (target.child) await stopChild(target.child);
  await call(service, 'stop');
  await stopChild(service);
  await stopChild(fakeChild);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Many integrations in one process

interface ManyResult {
  integrations: number;
  perIntegration: number;
  concurrency: number;
  intervalSeconds: number;
  fake: FakeReady;
  readyMs: number[];
  bareMs: number[];
  interviewRequests: number;
  describeRequests: number;
  describedMs: number;
  memory: Memory;
  /** Requests the fake counted in each second of the steady-state window. */
  seconds: number[];
}

/**
 * `count` integrations of `perIntegration` interviews each (records without `remote_data`) in one service process:
 * time until every one has a snapshot against a bare walker fetching the same pages `concurrency` at a time; the
 * requests that took; memory; then, in a second service process with a short interval, the requests per second the
 * fake sees over `STEADY_INTERVALS` intervals.
 */
async function runMany(count: number, perIntegration: number): Promise<ManyResult> {
  log(`${count} integrations of ${perIntegration} interviews: generating and serving them from the fake Kombo`);
  const { child: fakeChild, ready: fake } = await startChild<FakeReady>('./fake-kombo-child.ts', [String(perIntegration), JSON.stringify({ remoteData: false, integrations: count })]);
  const ids = benchIntegrationIds(count);
  const stats = () => getJson<{ interviewRequests: number; describeRequests: number }>(`${fake.controlUrl}/stats`);
  const env = { KOMBO_INTEGRATION_ID: '', KOMBO_INTEGRATION_IDS: ids.join(','), SYNC_CONCURRENCY: String(MANY_CONCURRENCY) };
  const result: ManyResult = {
    integrations: count,
    perIntegration,
    concurrency: MANY_CONCURRENCY,
    intervalSeconds: STEADY_INTERVAL_SECONDS,
    fake,
    readyMs: [],
    bareMs: [],
    interviewRequests: 0,
    describeRequests: 0,
    describedMs: 0,
    memory: { rssMb: 0, heapUsedMb: 0 },
    seconds: [],
  };
  const bareWalk = async () => {
    const { child: bare } = await startChild<{ type: string }>('./bare-walker-child.ts');
    const walked = await call<{ ms: number; records: number }>(bare, 'walkMany', { baseUrl: fake.baseUrl, ids, concurrency: MANY_CONCURRENCY, linked: true });
    if (walked.records !== fake.listed) throw new Error(`bare walker read ${walked.records} of ${fake.listed} records`);
    result.bareMs.push(walked.ms);
    await stopChild(bare);
  };

  // The walk, the requests and memory, with refreshes far apart: every request counted is a first walk's or a describe.
  await bareWalk();
  let before = await stats();
  let service = await startService(fake, `many-${count}-walk`, env);
  let started = await call<{ readyMs: number }>(service, 'startMany');
  result.readyMs.push(started.readyMs);
  result.interviewRequests = (await stats()).interviewRequests - before.interviewRequests;
  result.describedMs = started.readyMs + (await call<{ ms: number }>(service, 'described')).ms;
  result.describeRequests = (await stats()).describeRequests - before.describeRequests;
  result.memory = await call<Memory>(service, 'memory');
  await call(service, 'stop');
  await stopChild(service);
  log(`  every snapshot in ${started.readyMs.toFixed(0)} ms (bare walker ${result.bareMs[0]!.toFixed(0)} ms), RSS ${result.memory.rssMb.toFixed(0)} MB`);

  // Steady state: refreshes every STEADY_INTERVAL_SECONDS; the window starts once every integration was walked and described.
  await bareWalk();
  before = await stats();
  service = await startService(fake, `many-${count}-steady`, { ...env, SYNC_INTERVAL_SECONDS: String(STEADY_INTERVAL_SECONDS) });
  started = await call<{ readyMs: number }>(service, 'startMany');
  result.readyMs.push(started.readyMs);
  await call(service, 'described');
  const from = Math.floor(Date.now() / 1000) + 2;
  const to = from + STEADY_INTERVALS * STEADY_INTERVAL_SECONDS;
  await new Promise((resolve) => setTimeout(resolve, to * 1000 - Date.now() + 500));
  result.seconds = await getJson<number[]>(`${fake.controlUrl}/seconds?from=${from}&to=${to}`);
  await call(service, 'stop');
  await stopChild(service);
  await stopChild(fakeChild);
  const mean = result.seconds.reduce((a, b) => a + b, 0) / result.seconds.length;
  log(`  steady state: ${mean.toFixed(1)} requests/s, ${Math.min(...result.seconds)} to ${Math.max(...result.seconds)} in a second`);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The linked models

interface LinkedResult {
  interviews: number;
  fake: FakeReady;
  readyMs: number[];
  bareMs: number[];
  /** Requests of the first (full) walk: to /ats/interviews, and to each linked model. */
  walk: { interviews: number; linked: Record<string, number> };
  /** Requests of an unchanged incremental refresh. */
  unchanged: { interviews: number; linked: Record<string, number> };
  unchangedMs: number[];
}

/**
 * The full walk with the linked models (users, jobs, candidates, applications, asked by ids for what the interviews
 * reference) against the bare walker of the interviews alone, in fresh processes, `WALK_PAIRS` times; the requests
 * each model took, for the walk and for an unchanged refresh.
 */
async function runLinked(n: number): Promise<LinkedResult> {
  log(`${n} interviews with linked models: generating and serving them from the fake Kombo`);
  const { child: fakeChild, ready: fake } = await startChild<FakeReady>('./fake-kombo-child.ts', [String(n), JSON.stringify({ remoteData: true })]);
  type Stats = { interviewRequests: number; linkedRequests: Record<string, number> };
  const stats = () => getJson<Stats>(`${fake.controlUrl}/stats`);
  const spent = (before: Stats, after: Stats) => ({
    interviews: after.interviewRequests - before.interviewRequests,
    linked: Object.fromEntries(Object.keys(after.linkedRequests).map((model) => [model, after.linkedRequests[model]! - (before.linkedRequests[model] ?? 0)])),
  });
  const result: LinkedResult = { interviews: n, fake, readyMs: [], bareMs: [], walk: { interviews: 0, linked: {} }, unchanged: { interviews: 0, linked: {} }, unchangedMs: [] };
  for (let i = 0; i < WALK_PAIRS; i++) {
    const { child: bare } = await startChild<{ type: string }>('./bare-walker-child.ts');
    const full = await call<{ ms: number; cpuMs: number; records: number }>(bare, 'walk', { baseUrl: fake.baseUrl });
    if (full.records !== fake.listed) throw new Error(`bare walker read ${full.records} of ${fake.listed} records`);
    result.bareMs.push(full.ms);
    await stopChild(bare);
    const service = await startService(fake, `linked-${n}-${i}`);
    const before = await stats();
    const started = await call<{ readyMs: number; cpuMs: number }>(service, 'start');
    const afterWalk = await stats();
    result.readyMs.push(started.readyMs);
    result.walk = spent(before, afterWalk);
    const unchanged = await call<{ ms: number; summary: Summary }>(service, 'refresh');
    if (unchanged.summary.kind !== 'incremental' || unchanged.summary.changes !== 0) throw new Error('the unchanged refresh changed something');
    result.unchangedMs.push(unchanged.ms);
    result.unchanged = spent(afterWalk, await stats());
    await call(service, 'stop');
    await stopChild(service);
    log(
      `  walk ${i + 1}/${WALK_PAIRS}: service ready in ${started.readyMs.toFixed(0)} ms, bare walker ${full.ms.toFixed(0)} ms; ` +
        `CPU ${started.cpuMs.toFixed(0)} ms (start-up and the walk), bare walker ${full.cpuMs.toFixed(0)} ms`,
    );
  }
  await stopChild(fakeChild);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const f = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (value: number) => `**${value.toFixed(2)}**`;
const met = (ok: boolean, aim?: boolean) => (ok ? (aim === false ? 'yes (not yet the aim)' : 'yes') : '**no**');
const TABLE_HEADER = ['Measure', 'Service', 'Limit / baseline (same run)', 'Ratio', 'Target', 'Met'];
const markdownTable = (rows: string[][]) => [TABLE_HEADER, TABLE_HEADER.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');

/** Rows 7: the full walk of records without `remote_data`. */
function smallRecordRows(light: ScaleResult): string[][] {
  const walk = light.walk!;
  const walkRatio = median(walk.readyMs) / median(walk.bareMs);
  const perRecord = light.fake.fullWalkBytes / light.fake.listed;
  return [
    [
      `7. Full walk of ${f(light.interviews)} records of ${f(perRecord / 1024, 1)} KB (no \`remote_data\`): time to ready`,
      `${f(median(walk.readyMs))} ms (${f(walk.fakeRequests)} requests)`,
      `${f(median(walk.bareMs))} ms: bare fetch + JSON.parse of the same ${f(light.fake.fullWalkBytes / 2 ** 20, 0)} MB of interviews and ${f(walk.bareLinkedRequests)} pages of their linked records`,
      ratio(walkRatio),
      '≤ 1.5 (aim 1.2)',
      met(walkRatio <= 1.5, walkRatio <= 1.2),
    ],
  ];
}

/** Rows 12: the full walk with the linked models. */
function linkedRows(linked: LinkedResult): string[][] {
  const walkRatio = median(linked.readyMs) / median(linked.bareMs);
  const requests = (spent: LinkedResult['walk']) =>
    `${f(spent.interviews)} interviews + ${['users', 'jobs', 'candidates', 'applications'].map((model) => `${f(spent.linked[model] ?? 0)} ${model}`).join(' + ')}`;
  return [
    [
      `12. Full walk with linked models at ${f(linked.interviews)} interviews: time to ready (requests)`,
      `${f(median(linked.readyMs))} ms (${requests(linked.walk)})`,
      `${f(median(linked.bareMs))} ms: bare fetch + JSON.parse of the interviews alone (${f(Math.ceil(linked.fake.listed / 250))} pages)`,
      ratio(walkRatio),
      'report',
      '—',
    ],
    [
      '12. Unchanged refresh with linked models: requests',
      `${requests(linked.unchanged)} in ${f(median(linked.unchangedMs), 1)} ms`,
      'one per model',
      '—',
      '≤ 5',
      met(linked.unchanged.interviews + Object.values(linked.unchanged.linked).reduce((a, b) => a + b, 0) <= 5),
    ],
  ];
}

/** Rows 8: many integrations in one process. */
function manyRows(many: ManyResult): string[][] {
  const n = many.integrations;
  const walkRatio = many.readyMs[0]! / median(many.bareMs);
  const mean = many.seconds.reduce((a, b) => a + b, 0) / many.seconds.length;
  const max = Math.max(...many.seconds);
  const min = Math.min(...many.seconds);
  return [
    [
      `8. ${f(n)} integrations × ${many.perIntegration} interviews: time until every one has a snapshot`,
      `${f(many.readyMs[0]!)} ms (${f(many.readyMs[1]!)} ms in the steady-state process)`,
      `${f(median(many.bareMs))} ms: bare fetch + JSON.parse of the same ${f(n)} pages and their linked records, ${many.concurrency} at a time (${many.bareMs.map((ms) => f(ms)).join(', ')})`,
      ratio(walkRatio),
      '≤ 2',
      met(walkRatio <= 2),
    ],
    [
      '8. Interview requests per integration (first walks)',
      `${f(many.interviewRequests)} for ${f(n)}`,
      '1 page each',
      ratio(many.interviewRequests / n),
      '1',
      met(many.interviewRequests <= n),
    ],
    [
      '8. `GET /integrations/{id}` requests per integration',
      `${f(many.describeRequests)} for ${f(n)}, all answered ${f(many.describedMs)} ms after start`,
      'one each, to name the organisation',
      ratio(many.describeRequests / n),
      '—',
      '—',
    ],
    [
      `8. Memory with ${f(n)} integrations loaded (after GC)`,
      `RSS ${f(many.memory.rssMb)} MB, heapUsed ${f(many.memory.heapUsedMb)} MB`,
      '400 MB',
      ratio(many.memory.rssMb / 400),
      '< 400 MB',
      met(many.memory.rssMb < 400),
    ],
    [
      `8. Steady state (SYNC_INTERVAL_SECONDS=${many.intervalSeconds}, ${many.seconds.length} s): busiest second`,
      `${f(max)} requests`,
      `${f(mean, 1)} requests/s: the mean`,
      ratio(max / mean),
      '≤ 1.5',
      met(max <= 1.5 * mean),
    ],
    [
      '8. Steady state: quietest second',
      `${f(min)} requests`,
      `${f(mean, 1)} requests/s: the mean`,
      ratio(min / mean),
      '≥ 0.67 (1 / 1.5)',
      met(min * 1.5 >= mean),
    ],
  ];
}

function table(main: ScaleResult, small: ScaleResult): string {
  const walk = main.walk!;
  const rows: string[][] = [];
  const walkRatio = median(walk.readyMs) / median(walk.bareMs);
  rows.push([
    '1. Full walk: requests',
    `${f(walk.requests)} (fake counted ${f(walk.fakeRequests)})`,
    `${f(walk.limitRequests)} = one per 250 of ${f(main.fake.listed)} listed`,
    ratio(walk.fakeRequests / walk.limitRequests),
    '≤ 1',
    met(walk.fakeRequests <= walk.limitRequests),
  ]);
  rows.push([
    '1. Full walk: time to ready',
    `${f(median(walk.readyMs))} ms (saved to disk at ${f(median(walk.doneMs))} ms)`,
    `${f(median(walk.bareMs))} ms: bare fetch + JSON.parse of the same ${f(main.fake.fullWalkBytes / 2 ** 20, 0)} MB of interviews and ${f(walk.bareLinkedRequests)} pages of their linked records`,
    ratio(walkRatio),
    '≤ 1.5 (aim 1.2)',
    met(walkRatio <= 1.5, walkRatio <= 1.2),
  ]);
  rows.push([
    '2. Unchanged refresh: requests',
    f(walk.unchangedRequests),
    '1',
    ratio(walk.unchangedRequests),
    '≤ 1',
    met(walk.unchangedRequests <= 1),
  ]);
  const unchangedRatio = median(walk.unchangedMs) / median(walk.bareUnchangedMs);
  rows.push([
    '2. Unchanged refresh: time',
    `${f(median(walk.unchangedMs), 1)} ms`,
    `${f(median(walk.bareUnchangedMs), 1)} ms: bare fetch + JSON.parse of the same page, and of each linked model's changes`,
    ratio(unchangedRatio),
    '—',
    '—',
  ]);
  const rss = median(walk.loaded.map((m) => m.rssMb));
  rows.push([
    `3. Memory with ${f(walk.snapshotInterviews)} live interviews loaded (after GC)`,
    `RSS ${f(rss)} MB, heapUsed ${f(median(walk.loaded.map((m) => m.heapUsedMb)))} MB`,
    `RSS ${f(median(walk.baseline.map((m) => m.rssMb)))} MB, heapUsed ${f(median(walk.baseline.map((m) => m.heapUsedMb)))} MB: same process before loading`,
    ratio(rss / median(walk.baseline.map((m) => m.rssMb))),
    '< 400 MB (aim 250)',
    met(rss < 400, rss <= 250),
  ]);
  const cold = median(main.cold.ms);
  rows.push([
    `4. Cold feed after a change (${f(median(main.cold.events))} events, median of ${main.cold.ms.length} people)`,
    `${f(cold, 1)} ms`,
    `${f(median(main.cold.warmMs), 1)} ms: the same request again, warm`,
    ratio(cold / median(main.cold.warmMs)),
    '< 100 ms (aim 30)',
    met(cold < 100, cold <= 30),
  ]);
  const warm = median(main.warm.service);
  const express = median(main.warm.express);
  rows.push([
    `5. Warm feed (${f(main.warm.bodyBytes)} B gzip), requests/s`,
    f(warm),
    `${f(express)}: one-route Express serving the same bytes`,
    ratio(warm / express),
    '≥ 0.8 (aim 0.95)',
    met(warm / express >= 0.8, warm / express >= 0.95),
  ]);
  const prototypes = median(main.warm['express-prototypes']);
  rows.push([
    '5. Warm feed, requests/s',
    f(warm),
    `${f(prototypes)}: the same one-route app on the service's own server (requests born on Express's prototypes)`,
    ratio(warm / prototypes),
    '—',
    '—',
  ]);
  rows.push(['5. Warm feed, requests/s', f(warm), `${f(median(main.warm.node))}: plain node:http serving the same bytes`, ratio(warm / median(main.warm.node)), '—', '—']);
  const warmCpu = median(main.warmCpu.service);
  const expressCpu = median(main.warmCpu.express);
  rows.push([
    '5. Warm feed, requests per server CPU-second (same runs)',
    f(warmCpu),
    `${f(expressCpu)}: one-route Express; ${f(median(main.warmCpu['express-prototypes']))}: on the service's server; ${f(median(main.warmCpu.node))}: node:http`,
    ratio(warmCpu / expressCpu),
    '≥ 0.8 (aim 0.95)',
    met(warmCpu / expressCpu >= 0.8, warmCpu / expressCpu >= 0.95),
  ]);
  const smallCold = median(small.cold.ms);
  rows.push([
    `6. Scaling: cold feed at ${f(main.interviews)} vs ${f(small.interviews)} interviews`,
    `${f(cold, 1)} ms (${f(median(main.cold.events))} events)`,
    `${f(smallCold, 1)} ms (${f(median(small.cold.events))} events)`,
    ratio(cold / smallCold),
    '≈ 1',
    '—',
  ]);
  const mainRel = warm / express;
  const smallRel = median(small.warm.service) / median(small.warm.express);
  rows.push([
    `6. Scaling: warm feed at ${f(main.interviews)} vs ${f(small.interviews)} interviews`,
    `${f(warm)}/s (${mainRel.toFixed(2)} of Express)`,
    `${f(median(small.warm.service))}/s (${smallRel.toFixed(2)} of Express)`,
    ratio(mainRel / smallRel),
    '≈ 1',
    '—',
  ]);
  return markdownTable(rows);
}

function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${f2(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}, ${process.platform} ${process.arch}`;
}
const f2 = (value: number) => value.toFixed(1);

// ---------------------------------------------------------------------------------------------------------------

const small = Math.max(500, Math.round(interviews / 10));
/** `--only feeds|light|many|replicas|history|million|linked`: one part of the run, printed only (for working on that part). */
const only = option('only');
const runs = (part: string) => only === undefined || only === part;
/** Rows 9 sit between these markers inside the bench block, so `--only replicas --write` can rewrite them alone. */
const REPLICAS_BEGIN = '<!-- bench:replicas:begin -->';
const REPLICAS_END = '<!-- bench:replicas:end -->';
try {
  const main = runs('feeds') ? await runScale(interviews, { walks: true, servers: ['service', 'express', 'express-prototypes', 'node'] }) : undefined;
  const smaller = runs('feeds') ? await runScale(small, { walks: false, servers: ['service', 'express'] }) : undefined;
  const light = runs('light') ? await runScale(interviews, { walks: true, servers: [], remoteData: false }) : undefined;
  const many = runs('many') ? await runMany(manyIntegrations, MANY_PER_INTEGRATION) : undefined;
  const linked = runs('linked') ? await runLinked(interviews) : undefined;
  const replicas = runs('replicas') ? await runReplicas(work, interviews, small) : undefined;
  const history = runs('history') ? await runHistory(work, historyInterviews) : undefined;
  const million = runs('million') ? await runMillion(work, millionRecords) : undefined;
  const seconds = (Date.now() - began) / 1000;
  const markdown = [
    main && smaller ? table(main, smaller) : '',
    light || many || linked ? markdownTable([...(light ? smallRecordRows(light) : []), ...(many ? manyRows(many) : []), ...(linked ? linkedRows(linked) : [])]) : '',
    history || million ? `${historyContext(history, million)}\n\n${markdownTable([...(history ? historyRows(history) : []), ...(million ? millionRows(million) : [])])}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const loadTool = WRK ? `wrk ${spawnSync(WRK, ['--version'], { encoding: 'utf8' }).stdout.split(' ')[1] ?? ''} -t1 -c${WARM_CONNECTIONS}` : `autocannon -c${WARM_CONNECTIONS}`;
  const pinning = TASKSET ? ` on core ${LOAD_CPU}, each server pinned to core ${SERVER_CPU}` : '';
  const context = [
    `Machine: ${machine()}.`,
    `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Whole run: ${seconds.toFixed(0)} s.`,
    ...(main && smaller
      ? [
          `Data: ${interviews.toLocaleString('en-US')} interviews for ${main.fake.interviewers} interviewers (scaling row: ${small.toLocaleString('en-US')} for ${smaller.fake.interviewers}); ${main.fake.listed.toLocaleString('en-US')} listed by a full walk (deleted ones are not), ${(main.fake.fullWalkBytes / 2 ** 20).toFixed(0)} MB of JSON.`,
          `Walk and memory: medians of ${WALK_PAIRS} fresh service processes, each alternated with a fresh bare walker. Warm: ${loadTool}${pinning}, ${WARM_UP_SECONDS} s warm-up each, then ${WARM_SECONDS} s per run, ${WARM_ROUNDS} interleaved rounds, medians. Service logs at info to a file.`,
        ]
      : []),
    ...(light ? [`Row 7: the same ${interviews.toLocaleString('en-US')} interviews without their \`remote_data\` blobs, ${(light.fake.fullWalkBytes / 2 ** 20).toFixed(0)} MB of JSON; medians of ${WALK_PAIRS} pairs as above.`] : []),
    ...(many
      ? [
          `Rows 8: ${many.integrations.toLocaleString('en-US')} integrations (KOMBO_INTEGRATION_IDS) of ${many.perIntegration} interviews each without \`remote_data\` (one page each, ${(many.fake.fullWalkBytes / 2 ** 20).toFixed(0)} MB of JSON in all), SYNC_CONCURRENCY=${many.concurrency}; one service process with SYNC_INTERVAL_SECONDS=86400 for the walk, requests and memory, a second with ${many.intervalSeconds} for the steady state, each after a fresh bare walker.`,
        ]
      : []),
  ];
  const replicaBlock = replicas
    ? `${REPLICAS_BEGIN}\n### Replicas on Redis\n\n${replicaContext(replicas, `${loadTool}${pinning}`)}\n\n${markdownTable(replicaRows(replicas))}\n${REPLICAS_END}\n`
    : '';
  const output = `${context.join('\n')}\n\n${markdown ? `${markdown}\n\n` : ''}${replicaBlock}`;
  process.stdout.write(`\n${output}`);
  const path = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  if (write && only === undefined) {
    const block = `${begin}\n${output}${end}`;
    const current = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
    const next = current.includes(begin) && current.includes(end) ? current.replace(new RegExp(`${begin}[\\s\\S]*${end}`), () => block) : `${current}\n${block}\n`;
    writeFileSync(path, next);
    log(`wrote ${path}`);
  } else if (only === 'replicas' && process.argv.includes('--write') && replicas) {
    // Rows 9 alone: every other section keeps the numbers of the last whole run.
    const current = readFileSync(path, 'utf8');
    if (!current.includes(begin) || !current.includes(end)) throw new Error(`${path} has no bench markers: run the whole bench once`);
    const next = current.includes(REPLICAS_BEGIN) && current.includes(REPLICAS_END)
      ? current.replace(new RegExp(`${REPLICAS_BEGIN}[\\s\\S]*${REPLICAS_END}\\n?`), () => replicaBlock)
      : current.replace(end, () => `\n${replicaBlock}${end}`);
    writeFileSync(path, next);
    log(`wrote rows 9 into ${path}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
