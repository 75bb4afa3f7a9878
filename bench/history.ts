/*
 * History (`npm run bench -- --only history`, and `--only million`): what an ATS's years of history cost the service.
 *
 *   history: one organisation of --interviews (100,000 by default here) of which 90 % ended months to years ago (H),
 *   against its in-window records alone (W), each served by a fake Kombo of its own, in alternating rounds: heap
 *   after GC, DATA_DIR bytes, restore from DATA_DIR, Redis used_memory above an empty server (a replica walking it),
 *   the interviewers listed, and the feeds of people with interviews in the window (the same bytes in both).
 *
 *   million: a fake Kombo that generates a million records of history page by page (it holds none), walked by the
 *   service with default settings: whether the first walk succeeds, how long it took, the service's peak RSS.
 */
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createFeedTokens } from '../src/feeds/feed-token.js';
import { type FakeReady, BENCH_FEED_SECRET, BENCH_INTEGRATION_ID, benchServiceEnv, call, startChild, stopChild } from './ipc.js';
import { get, getJson, log, median } from './measure.js';
import { KEY_PREFIX, redisMemory, startRedis, stopRedis } from './replicas.js';

/** The share of history, and of interviewers still interviewing (the rest only have history). */
export const HISTORY_SHARE = 0.9;
export const ACTIVE_SHARE = 0.5;
/** Alternating rounds of H and W. */
export const HISTORY_ROUNDS = 3;
/** Feeds of people with interviews in the window compared between H and W. */
export const COMPARED_FEEDS = 40;
/** The million-record row. */
export const MILLION = 1_000_000;
/** Done-when targets: H / W at most these. */
export const TARGETS = { heap: 1.5, dataDir: 1.3, redis: 1.3, restore: 1.5 } as const;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const mb = (bytes: number) => bytes / 2 ** 20;

interface Summary {
  interviews: number;
  interviewers: number;
}

/** What one variant (H or W) measured, one value per round. */
interface Variant {
  listed: number;
  held: number[];
  emptyHeapMb: number[];
  heapMb: number[];
  rssMb: number[];
  walkMs: number[];
  dataDirBytes: number[];
  restoreMs: number[];
  restoredHeapMb: number[];
  redisBytes: number[];
  interviewers: number;
  /** Each compared feed's SHA-256 and size. */
  feeds: Map<string, { hash: string; bytes: number }>;
  /** A person with history alone: their feed's status and events. */
  former: { status: number; events: number };
}

/** What the history part measured. */
export interface HistoryResult {
  interviews: number;
  rounds: number;
  H: Variant;
  W: Variant;
  compared: number;
  identical: number;
  comparedBytes: number;
}

/** What the million-record row measured. */
export interface MillionResult {
  records: number;
  ok: boolean;
  ms: number;
  maxRssMb: number;
  held: number | null;
  error: string | null;
}

function directoryBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    const stat = statSync(path);
    total += stat.isDirectory() ? directoryBytes(path) : stat.size;
  }
  return total;
}

async function startService(work: string, label: string, fake: FakeReady, dataDir: string, extra: NodeJS.ProcessEnv = {}, script = './service-child.ts'): Promise<ChildProcess> {
  const fd = openSync(join(work, `history-${label}.log`), 'a');
  const { child } = await startChild<{ type: string }>(script, [], { stdout: fd, env: benchServiceEnv(fake.baseUrl, dataDir, { ADMIN_TOKEN, ...extra }) });
  closeSync(fd);
  return child;
}

const eventsIn = (body: Buffer) => body.toString('utf8').split('BEGIN:VEVENT').length - 1;

/** One round of one variant: an embedded walk, a restore from its DATA_DIR, and a replica's walk on an empty Redis. */
async function round(work: string, name: 'H' | 'W', n: number, fake: FakeReady, variant: Variant, people: { active: string[]; former: string }, redis: Awaited<ReturnType<typeof startRedis>>): Promise<void> {
  const dataDir = join(work, `data-history-${name}-${n}`);
  const tokens = createFeedTokens(BENCH_FEED_SECRET);
  const path = (email: string) => `/feeds/${tokens.encode({ integrationId: BENCH_INTEGRATION_ID, email })}.ics`;

  // Embedded: walk, memory, what DATA_DIR holds, who is listed, the feeds.
  let service = await startService(work, `${name}-${n}`, fake, dataDir);
  variant.emptyHeapMb.push((await call<{ heapUsedMb: number }>(service, 'baseline')).heapUsedMb);
  const started = await call<{ url: string; readyMs: number; summary: Summary }>(service, 'start');
  variant.walkMs.push(started.readyMs);
  variant.held.push(started.summary.interviews);
  const memory = await call<{ heapUsedMb: number; rssMb: number }>(service, 'memory');
  variant.heapMb.push(memory.heapUsedMb);
  variant.rssMb.push(memory.rssMb);
  if (n === 0) {
    const listed = await get(`${started.url}/admin/integrations/${encodeURIComponent(BENCH_INTEGRATION_ID)}/interviewers`, { Authorization: `Bearer ${ADMIN_TOKEN}` });
    if (listed.status !== 200) throw new Error(`the interviewers list answered ${listed.status}`);
    variant.interviewers = (JSON.parse(listed.body.toString('utf8')) as { interviewers: unknown[] }).interviewers.length;
    for (const email of people.active) {
      const feed = await get(started.url + path(email));
      if (feed.status !== 200) throw new Error(`${name}: the feed of ${email} answered ${feed.status}`);
      variant.feeds.set(email, { hash: createHash('sha256').update(feed.body).digest('hex'), bytes: feed.body.length });
    }
    const former = await get(started.url + path(people.former));
    variant.former = { status: former.status, events: former.status === 200 ? eventsIn(former.body) : 0 };
  }
  await call(service, 'stop');
  await stopChild(service);
  variant.dataDirBytes.push(directoryBytes(dataDir));

  // Restore from that DATA_DIR in a fresh process, without a walk.
  service = await startService(work, `${name}-${n}-restore`, fake, dataDir);
  const restored = await call<{ restored: boolean; ms: number; memory: { heapUsedMb: number } }>(service, 'restore');
  if (!restored.restored) throw new Error(`${name}: nothing was restored from ${dataDir}`);
  variant.restoreMs.push(restored.ms);
  variant.restoredHeapMb.push(restored.memory.heapUsedMb);
  await stopChild(service);

  // Replica mode: one replica walks the organisation on an empty Redis.
  await redis.admin.flushall();
  const before = await redisMemory(redis.admin);
  service = await startService(work, `${name}-${n}-replica`, fake, join(work, `data-history-replica-${name}-${n}`), { REDIS_URL: redis.url, REDIS_KEY_PREFIX: KEY_PREFIX }, './replica-child.ts');
  await call(service, 'start');
  await new Promise((resolve) => setTimeout(resolve, 500)); // a delta or notice still landing
  const after = await redisMemory(redis.admin);
  variant.redisBytes.push(after.usedMemory - before.usedMemory);
  await call(service, 'stop');
  await stopChild(service);
  log(
    `  ${name} round ${n + 1}: ${variant.held.at(-1)} held, heap ${variant.heapMb.at(-1)!.toFixed(1)} MB, DATA_DIR ${mb(variant.dataDirBytes.at(-1)!).toFixed(1)} MB, ` +
      `restore ${restored.ms.toFixed(0)} ms, Redis +${mb(variant.redisBytes.at(-1)!).toFixed(1)} MB`,
  );
}

const emptyVariant = (listed: number): Variant => ({
  listed,
  held: [],
  emptyHeapMb: [],
  heapMb: [],
  rssMb: [],
  walkMs: [],
  dataDirBytes: [],
  restoreMs: [],
  restoredHeapMb: [],
  redisBytes: [],
  interviewers: 0,
  feeds: new Map(),
  former: { status: 0, events: 0 },
});

/** The history part: H and W served side by side, measured in alternating rounds. */
export async function runHistory(work: string, interviews: number): Promise<HistoryResult> {
  log(`history: ${interviews} interviews, ${HISTORY_SHARE * 100} % history (H), against its in-window records alone (W)`);
  const children: ChildProcess[] = [];
  const redis = await startRedis(work);
  try {
    const options = { remoteData: false, nowMs: Date.now(), history: { share: HISTORY_SHARE, activeShare: ACTIVE_SHARE } };
    const h = await startChild<FakeReady>('./fake-kombo-child.ts', [String(interviews), JSON.stringify(options)]);
    children.push(h.child);
    const w = await startChild<FakeReady>('./fake-kombo-child.ts', [String(interviews), JSON.stringify({ ...options, windowOnly: true })]);
    children.push(w.child);
    // People with interviews in the window (W lists them), spread over the list; and one who only has history.
    const inWindow = (await getJson<{ email: string; live: number }[]>(`${w.ready.controlUrl}/interviewers`)).filter((person) => person.live > 0);
    const active = Array.from({ length: Math.min(COMPARED_FEEDS, inWindow.length) }, (_, i) => inWindow[Math.floor((i * inWindow.length) / Math.min(COMPARED_FEEDS, inWindow.length))]!.email);
    const everyone = await getJson<{ email: string; live: number }[]>(`${h.ready.controlUrl}/interviewers`);
    const windowed = new Set(inWindow.map((person) => person.email));
    const former = everyone.find((person) => person.live > 0 && !windowed.has(person.email))?.email ?? everyone.at(-1)!.email;
    const result: HistoryResult = { interviews, rounds: HISTORY_ROUNDS, H: emptyVariant(h.ready.listed), W: emptyVariant(w.ready.listed), compared: 0, identical: 0, comparedBytes: 0 };
    for (let n = 0; n < HISTORY_ROUNDS; n++) {
      await round(work, 'H', n, h.ready, result.H, { active, former }, redis);
      await round(work, 'W', n, w.ready, result.W, { active, former }, redis);
    }
    for (const [email, feed] of result.H.feeds) {
      result.compared++;
      result.comparedBytes += feed.bytes;
      if (result.W.feeds.get(email)?.hash === feed.hash) result.identical++;
    }
    return result;
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    redis.admin.disconnect();
    await stopRedis(redis.child);
  }
}

/** The million-record row: a first walk of a million records of history with default settings. */
export async function runMillion(work: string, records = MILLION): Promise<MillionResult> {
  log(`million: ${records} records of history, generated page by page, walked with default settings`);
  const { child: fakeChild, ready: fake } = await startChild<FakeReady>('./fake-kombo-child.ts', [String(records), JSON.stringify({ lazy: true, history: { share: 0.99 } })]);
  try {
    const service = await startService(work, 'million', fake, join(work, 'data-million'));
    try {
      const walked = await call<{ ok: boolean; ms: number; maxRssMb: number; summary?: Summary; error?: string }>(service, 'walkOnce');
      log(`  ${walked.ok ? 'walked' : 'failed'} in ${walked.ms.toFixed(0)} ms, peak RSS ${walked.maxRssMb.toFixed(0)} MB${walked.error ? `: ${walked.error}` : ''}`);
      await call(service, 'stop').catch(() => {});
      return { records, ok: walked.ok, ms: walked.ms, maxRssMb: walked.maxRssMb, held: walked.summary?.interviews ?? null, error: walked.error ?? null };
    } catch (error) {
      // The service process itself died (out of memory, say): that is the row's answer, not the bench's end.
      return { records, ok: false, ms: Number.NaN, maxRssMb: Number.NaN, held: null, error: `the service process failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
    } finally {
      await stopChild(service);
    }
  } finally {
    await stopChild(fakeChild);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The rows

const f = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (value: number) => `**${value.toFixed(2)}**`;
const met = (ok: boolean) => (ok ? 'yes' : '**no**');

/** Rows 10: history against the in-window records alone. */
export function historyRows(result: HistoryResult): string[][] {
  const { H, W } = result;
  const m = (values: number[]) => median(values);
  const heap = m(H.heapMb) / m(W.heapMb);
  const dataDir = m(H.dataDirBytes) / m(W.dataDirBytes);
  const redis = m(H.redisBytes) / m(W.redisBytes);
  const restore = m(H.restoreMs) / m(W.restoreMs);
  const label = `${f(result.interviews)} interviews, ${HISTORY_SHARE * 100} % history (H) vs its in-window records alone (W)`;
  return [
    [`10. ${label}: interviews held`, f(m(H.held)), `${f(m(W.held))} (W)`, ratio(m(H.held) / m(W.held)), '—', '—'],
    [
      '10. Heap used after a forced GC',
      `${f(m(H.heapMb), 1)} MB`,
      `${f(m(W.heapMb), 1)} MB (empty service: ${f(m([...H.emptyHeapMb, ...W.emptyHeapMb]), 1)} MB)`,
      ratio(heap),
      `≤ ${TARGETS.heap}`,
      met(heap <= TARGETS.heap),
    ],
    ['10. Snapshot files under `DATA_DIR`', `${f(mb(m(H.dataDirBytes)), 1)} MB`, `${f(mb(m(W.dataDirBytes)), 1)} MB`, ratio(dataDir), `≤ ${TARGETS.dataDir}`, met(dataDir <= TARGETS.dataDir)],
    [
      '10. Redis `used_memory` above an empty server (one replica walked it)',
      `${f(mb(m(H.redisBytes)), 1)} MB`,
      `${f(mb(m(W.redisBytes)), 1)} MB`,
      ratio(redis),
      `≤ ${TARGETS.redis}`,
      met(redis <= TARGETS.redis),
    ],
    [
      '10. Restore from `DATA_DIR` (a fresh process, no walk)',
      `${f(m(H.restoreMs))} ms (heap after ${f(m(H.restoredHeapMb), 1)} MB)`,
      `${f(m(W.restoreMs))} ms (heap after ${f(m(W.restoredHeapMb), 1)} MB)`,
      ratio(restore),
      `≤ ${TARGETS.restore}`,
      met(restore <= TARGETS.restore),
    ],
    ['10. First walk, start to ready', `${f(m(H.walkMs))} ms (${f(H.listed)} listed)`, `${f(m(W.walkMs))} ms (${f(W.listed)} listed)`, ratio(m(H.walkMs) / m(W.walkMs)), '—', '—'],
    [
      '10. Interviewers listed (admin API, as links.csv and the admin page)',
      f(H.interviewers),
      `${f(W.interviewers)}; a person with history alone: H answers ${H.former.status} (${H.former.events} events), W ${W.former.status}`,
      ratio(H.interviewers / W.interviewers),
      '—',
      '—',
    ],
    [
      `10. Feeds of ${result.compared} people with interviews in the window`,
      `${result.identical} of ${result.compared} identical`,
      `${f(result.comparedBytes)} B in all`,
      ratio(result.compared === 0 ? Number.NaN : result.identical / result.compared),
      '1 (identical bytes)',
      met(result.compared > 0 && result.identical === result.compared),
    ],
  ];
}

/** Row 11: a million records of history. */
export function millionRows(result: MillionResult): string[][] {
  return [
    [
      `11. First walk of ${f(result.records)} records (99 % history), default settings`,
      result.ok ? `succeeded in ${f(result.ms / 1000, 1)} s, ${f(result.held ?? 0)} held` : `**failed** after ${Number.isNaN(result.ms) ? '?' : f(result.ms / 1000, 1)} s: ${(result.error ?? '').replace(/\|/g, '\\|').slice(0, 200)}`,
      `peak RSS ${Number.isNaN(result.maxRssMb) ? '?' : f(result.maxRssMb)} MB`,
      '—',
      'succeeds, no setting',
      met(result.ok),
    ],
  ];
}

/** The lines that say how rows 10 and 11 were measured. */
export function historyContext(history: HistoryResult | undefined, million: MillionResult | undefined): string {
  return [
    ...(history
      ? [
          `Rows 10: one organisation of ${history.interviews.toLocaleString('en-US')} interviews without \`remote_data\`, ${HISTORY_SHARE * 100} % of them ended 120 days to 5 years ago, spread over every interviewer, while the in-window ones belong to ${ACTIVE_SHARE * 100} % of them (H: ${history.H.listed.toLocaleString('en-US')} listed), against the same organisation's in-window records alone (W: ${history.W.listed.toLocaleString('en-US')}), each from a fake Kombo of its own; ${history.rounds} alternating rounds, medians. Each round: an embedded service walks, a fresh process restores its DATA_DIR, a replica walks on an emptied redis-server of the run's own.`,
        ]
      : []),
    ...(million ? [`Row 11: a fake Kombo that generates each page when asked (it holds no record), ${million.records.toLocaleString('en-US')} records without \`remote_data\`; the service with default walk limits.`] : []),
  ].join('\n');
}
