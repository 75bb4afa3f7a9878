/*
 * Replicas on Redis (`npm run bench -- --only replicas`): what replica mode costs, side by side with embedded mode in
 * the same run. It starts a redis-server of its own (no persistence; killed at the end, even on failure), then:
 *
 *   small organisation (a tenth of --interviews): an embedded service and three replicas on that Redis, each in a
 *   process of its own; the warm feed of a replica that did not walk against the embedded service's, the cold feed
 *   of such a replica after it took in a change against the embedded service's, and how long a change told to one
 *   replica by a signed webhook takes to reach the feeds of all three (and what it cost in Kombo requests);
 *
 *   large organisation (--interviews): one replica walks it and publishes the snapshot; its size in Redis, a second
 *   replica ready from Redis, the gzip level's effect on size and publish time, how long that replica takes to take
 *   the snapshot in after the change notice, and a few webhook changes across it and a third one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import pino from 'pino';
import { signWebhook } from '../src/http/routes/webhook-routes.js';
import { createRedisHub } from '../src/redis/create-redis-hub.js';
import { createRedisSnapshots } from '../src/redis/redis-snapshots.js';
import { type FakeReady, BENCH_INTEGRATION_ID, BENCH_WEBHOOK_SECRET, benchServiceEnv, call, startChild, stopChild } from './ipc.js';
import { get, getJson, load, log, median, pinToServerCore, unpin, type Fetched } from './measure.js';

/** The replicas sharing one Redis in the small organisation's run. */
export const REPLICAS = 3;
/**
 * Warm feed: uncounted warm-up per server, then this many interleaved rounds of this many seconds each. Short rounds,
 * many of them: on a machine shared with other work, the two servers then meet its busy spells alike.
 */
export const REPLICA_WARM_UP_SECONDS = 2;
export const REPLICA_WARM_ROUNDS = 6;
export const REPLICA_WARM_SECONDS = 1;
/** Cold feeds measured on a replica that did not walk (one change each, to a different interviewer). */
export const REPLICA_COLD_SAMPLES = 7;
/** Webhook changes timed across the small organisation's three replicas, and across two replicas of the large one. */
export const PROPAGATION_CHANGES = 20;
export const LARGE_PROPAGATION_CHANGES = 4;
/** WEBHOOK_WALK_INTERVAL_SECONDS of every replica; changes are made a little over it apart. */
export const WEBHOOK_INTERVAL_SECONDS = 1;
export const CHANGE_SPACING_MS = WEBHOOK_INTERVAL_SECONDS * 1_000 + 200;
/** How often every replica's feed is asked whether it shows the change yet. */
export const POLL_MS = 10;
/** A change that has not reached every replica by then fails the run (the target is 3 s). */
export const PROPAGATION_TIMEOUT_MS = 30_000;
/** The target for a change to reach every replica's feeds. */
export const PROPAGATION_TARGET_MS = 3_000;
/** The warm feed of a replica is "the same" as embedded mode's when at least this share of it (runs on a shared machine vary this much). */
export const WARM_RATIO_FLOOR = 0.9;
/** The target for a cold feed on a replica that did not walk. */
export const REPLICA_COLD_TARGET_MS = 30;
/** Gzip levels compared for the large snapshot: the fastest, and the snapshot store's default. */
export const GZIP_LEVELS = [1, 6] as const;
/** REDIS_KEY_PREFIX's default, so the keys read are the ones a deployment has. */
export const KEY_PREFIX = 'interview-feeds:';
const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path)) ?? 'redis-server';
const REDIS_START_TIMEOUT_MS = 10_000;
const GZIP = { 'Accept-Encoding': 'gzip' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const epochMs = () => performance.timeOrigin + performance.now();
const mb = (bytes: number) => bytes / 2 ** 20;

interface Replica {
  label: string;
  child: ChildProcess;
  url: string;
  readyMs: number;
  walked: boolean;
}

/** A change made to a feed and timed until every replica serves it. */
interface Propagation {
  /** Webhook answered 200 → every replica serves the new bytes. */
  allMs: number[];
  /** Webhook answered 200 → the replica that got it (and walked) serves them. */
  walkerMs: number[];
  interviewRequests: number;
  /** Times two replicas served different bytes for one feed once all had taken in a change (should be 0). */
  mismatches: number;
}

/** What the replicas part measured. */
export interface ReplicasResult {
  redisVersion: string;
  small: {
    interviews: number;
    interviewers: number;
    replicaReadyMs: number[];
    firstWalkMs: number;
    newReplicaRequests: number;
    events: number;
    sameBytes: boolean;
    bodyBytes: number;
    warm: { replica: number[]; embedded: number[]; replicaCpu: number[]; embeddedCpu: number[] };
    cold: { replicaMs: number[]; embeddedMs: number[]; warmMs: number[]; events: number[] };
    propagation: Propagation;
  };
  large: {
    interviews: number;
    listed: number;
    walkMs: number;
    walkRequests: number;
    /** The second replica's (started once the first had walked) and the third's (after the gzip measurements). */
    newReplicaMs: number[];
    newReplicaRequests: number;
    jsonBytes: number;
    memoryUsage: number;
    /** Redis's memory before the walk, right after it, and at the end of the part. */
    memoryBefore: RedisMemory;
    memoryAfter: RedisMemory;
    memorySettled: RedisMemory;
    bareDecodeMs: number[];
    levels: { level: number; bytes: number; memoryUsage: number; publishMs: number; adoptMs: number }[];
    propagation: Propagation;
  };
  seconds: number;
}

// ---------------------------------------------------------------------------------------------------------------
// redis-server

/** A port nothing listens on right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts redis-server on a free loopback port without persistence; resolves once it answers PING. */
export async function startRedis(dir: string): Promise<{ url: string; child: ChildProcess; admin: Redis }> {
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The net under the caller's finally: this process exiting, or stopped by a signal, leaves no redis-server behind.
  const kill = () => child.kill('SIGKILL');
  const killAndExit = (signal: NodeJS.Signals) => {
    kill();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('exit', kill);
  process.once('SIGINT', killAndExit);
  process.once('SIGTERM', killAndExit);
  child.once('exit', () => {
    process.off('exit', kill);
    process.off('SIGINT', killAndExit);
    process.off('SIGTERM', killAndExit);
  });
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  admin.on('error', () => {}); // refused while redis-server starts: the loop below retries, and reports what lasts
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${REDIS_SERVER} exited (${child.exitCode}) before answering PING`);
    try {
      await admin.connect();
      await admin.ping();
      return { url, child, admin };
    } catch (error) {
      admin.disconnect();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${REDIS_SERVER} did not answer PING within ${REDIS_START_TIMEOUT_MS} ms: ${String(error)}`);
      }
      await sleep(20);
    }
  }
}

/** Stops a redis-server started by {@link startRedis}. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * From INFO memory: what Redis's allocator holds, and Lua's heap, which used_memory leaves out (a script keeps its
 * last arguments, a whole gzipped snapshot for the publish script, until Lua collects them).
 */
export interface RedisMemory {
  usedMemory: number;
  lua: number;
}

/** Redis's memory now (INFO memory). */
export async function redisMemory(admin: Redis): Promise<RedisMemory> {
  const info = `\n${await admin.info('memory')}`;
  const field = (name: string) => Number(new RegExp(`\\n${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN);
  return { usedMemory: field('used_memory'), lua: field('used_memory_lua') };
}

// ---------------------------------------------------------------------------------------------------------------
// The service's processes, the fake Kombo and the requests made to them

/** A service process, its modules loaded, not started yet. */
interface Spawned {
  label: string;
  child: ChildProcess;
}

/**
 * Forks the service (a replica when `redisUrl` is given, else embedded) and waits until it has loaded; {@link startReplica}
 * then starts it. Apart, so several load at once and only their starts are timed, one at a time.
 */
async function spawnReplica(work: string, label: string, fake: FakeReady, redisUrl: string | undefined, children: ChildProcess[]): Promise<Spawned> {
  const fd = openSync(join(work, `replica-${label}.log`), 'a');
  const { child } = await startChild<{ type: string }>('./replica-child.ts', [], {
    stdout: fd,
    env: benchServiceEnv(fake.baseUrl, join(work, `data-replica-${label}`), {
      KOMBO_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
      WEBHOOK_WALK_INTERVAL_SECONDS: String(WEBHOOK_INTERVAL_SECONDS),
      ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: KEY_PREFIX } : {}),
    }),
  });
  closeSync(fd);
  children.push(child);
  return { label, child };
}

/** Starts a spawned service and waits until it serves the integration (walked, or taken in from Redis). */
async function startReplica(spawned: Spawned): Promise<Replica> {
  const started = await call<{ url: string; readyMs: number; walked: boolean }>(spawned.child, 'start');
  return { ...spawned, ...started };
}

async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(replicas.map(async (replica) => {
    await call(replica.child, 'stop');
    await stopChild(replica.child);
  }));
}

const interviewRequests = async (fake: FakeReady) => (await getJson<{ interviewRequests: number }>(`${fake.controlUrl}/stats`)).interviewRequests;
const changeInterview = (fake: FakeReady, email: string) => getJson(`${fake.controlUrl}/change?email=${encodeURIComponent(email)}`);
const eventsIn = (gzipped: Buffer) => gunzipSync(gzipped).toString('utf8').split('BEGIN:VEVENT').length - 1;

/** Posts a signed `data-changed` webhook about the interviews to `replica`, as Kombo sends it; resolves with the status. */
function postWebhook(replica: Replica): Promise<number> {
  const body = JSON.stringify({
    id: `bench-${randomUUID()}`,
    type: 'data-changed',
    data: { integration_id: BENCH_INTEGRATION_ID, changed_models: [{ name: 'ats_interviews' }] },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      `${replica.url}/webhooks/kombo`,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Kombo-Signature': signWebhook(body, BENCH_WEBHOOK_SECRET) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * `changes` changes, each to the next interviewer of `people`: the fake Kombo moves one of their interviews, and a
 * signed webhook tells the next replica in turn; from the webhook's 200, every replica's feed of that interviewer is
 * asked every POLL_MS (If-None-Match: the ETag all served before) until each serves new bytes. Changes are at least
 * CHANGE_SPACING_MS apart. Kombo's interview requests are counted from before the first change until a spacing after
 * the last, so a walk a change caused late is counted too.
 */
async function propagate(fake: FakeReady, replicas: readonly Replica[], people: readonly { email: string; path: string }[], changes: number): Promise<Propagation> {
  const result: Propagation = { allMs: [], walkerMs: [], interviewRequests: 0, mismatches: 0 };
  const before = await interviewRequests(fake);
  let lastSentAt = -Infinity;
  for (let k = 0; k < changes; k++) {
    const person = people[k % people.length]!;
    const current = await Promise.all(replicas.map((replica) => get(replica.url + person.path, GZIP)));
    const etag = current[0]!.headers.etag;
    if (current.some((res) => res.status !== 200)) throw new Error(`a replica answered ${current.map((res) => res.status).join(', ')} for a feed`);
    if (etag === undefined || current.some((res) => res.headers.etag !== etag)) result.mismatches++;
    await sleep(lastSentAt + CHANGE_SPACING_MS - performance.now());
    await changeInterview(fake, person.email);
    const walker = k % replicas.length;
    const status = await postWebhook(replicas[walker]!);
    const sentAt = performance.now();
    lastSentAt = sentAt;
    if (status !== 200) throw new Error(`the webhook to replica ${replicas[walker]!.label} answered ${status}`);
    const seenAt: (number | undefined)[] = replicas.map(() => undefined);
    const seenEtag: (string | undefined)[] = replicas.map(() => undefined);
    while (seenAt.includes(undefined)) {
      if (performance.now() - sentAt > PROPAGATION_TIMEOUT_MS) {
        const missing = replicas.filter((_, i) => seenAt[i] === undefined).map((replica) => replica.label);
        throw new Error(`change ${k + 1} did not reach replica(s) ${missing.join(', ')} within ${PROPAGATION_TIMEOUT_MS} ms`);
      }
      await Promise.all(
        replicas.map(async (replica, i) => {
          if (seenAt[i] !== undefined) return;
          const res: Fetched = await get(replica.url + person.path, { ...GZIP, 'If-None-Match': etag ?? '' });
          if (res.status === 200 && res.headers.etag !== etag) {
            seenAt[i] = performance.now();
            seenEtag[i] = res.headers.etag;
          } else if (res.status !== 304 && res.status !== 200) {
            throw new Error(`replica ${replica.label} answered ${res.status} while a change spread`);
          }
        }),
      );
      if (seenAt.includes(undefined)) await sleep(POLL_MS);
    }
    if (seenEtag.some((tag) => tag !== seenEtag[0])) result.mismatches++;
    result.allMs.push(Math.max(...(seenAt as number[])) - sentAt);
    result.walkerMs.push(seenAt[walker]! - sentAt);
  }
  await sleep(lastSentAt + CHANGE_SPACING_MS - performance.now());
  result.interviewRequests = (await interviewRequests(fake)) - before;
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The run

/** Interviewers spread over the organisation, each with a feed path (the same on every replica: one FEED_SECRET). */
async function spreadPeople(fake: FakeReady, replica: Replica, count: number): Promise<{ email: string; path: string }[]> {
  const people = await getJson<{ email: string }[]>(`${fake.controlUrl}/interviewers`);
  const chosen = Array.from({ length: count }, (_, i) => people[Math.floor((i * people.length) / count)]!.email);
  const paths = await call<string[]>(replica.child, 'paths', { emails: chosen });
  return chosen.map((email, i) => ({ email, path: paths[i]! }));
}

async function runSmall(work: string, redisUrl: string, interviews: number, children: ChildProcess[]): Promise<ReplicasResult['small']> {
  log(`replicas: ${interviews} interviews, an embedded service and ${REPLICAS} replicas on one Redis`);
  const { child: fakeChild, ready: fake } = await startChild<FakeReady>('./fake-kombo-child.ts', [String(interviews), JSON.stringify({ remoteData: false })]);
  children.push(fakeChild);
  const spawned = await Promise.all([
    spawnReplica(work, 'embedded', fake, undefined, children),
    ...Array.from({ length: REPLICAS }, (_, i) => spawnReplica(work, `r${i + 1}`, fake, redisUrl, children)),
  ]);
  const embedded = await startReplica(spawned[0]!);
  const first = await startReplica(spawned[1]!);
  if (!first.walked) throw new Error('the first replica did not walk');
  const beforeOthers = await interviewRequests(fake);
  const others: Replica[] = [];
  for (const next of spawned.slice(2)) others.push(await startReplica(next));
  const newReplicaRequests = (await interviewRequests(fake)) - beforeOthers;
  if (others.some((replica) => replica.walked)) throw new Error('a replica started after the first one walked');
  const replicas = [first, ...others];
  const target = others[0]!; // a replica that did not walk
  log(`  first replica walked in ${first.readyMs.toFixed(0)} ms; the others ready from Redis in ${others.map((r) => r.readyMs.toFixed(0)).join(', ')} ms`);

  // 1. Warm feed: the same interviewer's feed from a replica that did not walk and from the embedded service.
  const people = await spreadPeople(fake, target, Math.max(REPLICA_COLD_SAMPLES, PROPAGATION_CHANGES));
  const warmPath = people[0]!.path;
  const fromReplica = await get(target.url + warmPath, GZIP);
  const fromEmbedded = await get(embedded.url + warmPath, GZIP);
  if (fromReplica.status !== 200 || fromEmbedded.status !== 200) throw new Error(`warm feed answered ${fromReplica.status} / ${fromEmbedded.status}`);
  const warm = { replica: [] as number[], embedded: [] as number[], replicaCpu: [] as number[], embeddedCpu: [] as number[] };
  const servers = [
    { url: target.url + warmPath, pid: target.child.pid, rps: warm.replica, cpu: warm.replicaCpu },
    { url: embedded.url + warmPath, pid: embedded.child.pid, rps: warm.embedded, cpu: warm.embeddedCpu },
  ];
  for (const server of servers) pinToServerCore(server.pid);
  for (const server of servers) await load(server.url, REPLICA_WARM_UP_SECONDS);
  for (let round = 0; round < REPLICA_WARM_ROUNDS; round++) {
    for (const server of servers) {
      const measured = await load(server.url, REPLICA_WARM_SECONDS, server.pid);
      server.rps.push(measured.rps);
      server.cpu.push(measured.perCpuSecond);
    }
  }
  for (const server of servers) unpin(server.pid);
  log(`  warm feed: replica ${median(warm.replica).toFixed(0)}/s, embedded ${median(warm.embedded).toFixed(0)}/s`);

  // 2. Cold feed: a change walked by the first replica and taken in by the others, and walked by the embedded service
  // too; then the two cold feeds back to back, so both meet the machine in the same state.
  const cold = { replicaMs: [] as number[], embeddedMs: [] as number[], warmMs: [] as number[], events: [] as number[] };
  for (const person of people.slice(0, REPLICA_COLD_SAMPLES)) {
    await changeInterview(fake, person.email);
    const swaps = await Promise.all(others.map((replica) => call<number>(replica.child, 'swaps')));
    const walked = await call<{ summary: { changedFeeds: number; walkedElsewhere?: boolean } }>(first.child, 'refresh');
    if (walked.summary.walkedElsewhere || walked.summary.changedFeeds < 1) throw new Error('the change reached no feed of the walking replica');
    await Promise.all(others.map((replica, i) => call(replica.child, 'swapAfter', { count: swaps[i] })));
    await call(embedded.child, 'refresh');
    const coldReplica = await get(target.url + person.path, GZIP);
    const coldEmbedded = await get(embedded.url + person.path, GZIP);
    const warmReplica = await get(target.url + person.path, GZIP);
    if (coldReplica.status !== 200 || coldEmbedded.status !== 200) throw new Error(`cold feed answered ${coldReplica.status} / ${coldEmbedded.status}`);
    cold.replicaMs.push(coldReplica.ms);
    cold.warmMs.push(warmReplica.ms);
    cold.embeddedMs.push(coldEmbedded.ms);
    cold.events.push(eventsIn(coldReplica.body));
  }
  log(`  cold feed on a replica that did not walk: median ${median(cold.replicaMs).toFixed(1)} ms (embedded ${median(cold.embeddedMs).toFixed(1)} ms)`);

  // 3. Propagation.
  const propagation = await propagate(fake, replicas, people, PROPAGATION_CHANGES);
  log(`  propagation: median ${median(propagation.allMs).toFixed(0)} ms, worst ${Math.max(...propagation.allMs).toFixed(0)} ms, ${propagation.interviewRequests} Kombo requests`);

  await stopReplicas([embedded, ...replicas]);
  await stopChild(fakeChild);
  return {
    interviews,
    interviewers: fake.interviewers,
    replicaReadyMs: others.map((replica) => replica.readyMs),
    firstWalkMs: first.readyMs,
    newReplicaRequests,
    events: eventsIn(fromReplica.body),
    sameBytes: fromReplica.body.equals(fromEmbedded.body) && fromReplica.headers.etag === fromEmbedded.headers.etag,
    bodyBytes: fromReplica.body.length,
    warm,
    cold,
    propagation,
  };
}

async function runLarge(work: string, redis: { url: string; admin: Redis }, interviews: number, children: ChildProcess[]): Promise<ReplicasResult['large']> {
  log(`replicas: ${interviews} interviews, one replica walks and publishes, others take it in`);
  const { admin } = redis;
  await admin.flushall();
  const memoryBefore = await redisMemory(admin);
  const { child: fakeChild, ready: fake } = await startChild<FakeReady>('./fake-kombo-child.ts', [String(interviews), JSON.stringify({ remoteData: false })]);
  children.push(fakeChild);
  const spawned = await Promise.all(['large-a', 'large-b', 'large-c'].map((label) => spawnReplica(work, label, fake, redis.url, children)));
  const walker = await startReplica(spawned[0]!);
  const walkRequests = await interviewRequests(fake);
  const key = `${KEY_PREFIX}snap:${BENCH_INTEGRATION_ID}`;
  const memoryAfter = await redisMemory(admin);
  const memoryUsage = Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  const second = await startReplica(spawned[1]!);
  if (second.walked) throw new Error('the second replica walked');
  log(`  walked and published in ${walker.readyMs.toFixed(0)} ms (${mb(memoryUsage).toFixed(1)} MB in Redis); a second replica ready from Redis in ${second.readyMs.toFixed(0)} ms`);
  // From here one replica takes in each snapshot published, alone, as it would on a machine of its own.
  await stopReplicas([walker]);

  // The limit for taking a snapshot in: gunzip and JSON.parse of the very bytes Redis holds, nothing else.
  const stored = await admin.hgetBuffer(key, 'data');
  if (stored === null) throw new Error(`${key} holds no snapshot`);
  const bareDecodeMs: number[] = [];
  let jsonBytes = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const json = gunzipSync(stored);
    JSON.parse(json.toString('utf8'));
    bareDecodeMs.push(performance.now() - started);
    jsonBytes = json.length;
  }

  // Publish the same snapshot at each gzip level through the snapshot store's own code, as a walk's lease does; the
  // second replica takes each in after its change notice.
  const silent = pino({ level: 'silent' });
  const hub = createRedisHub({ url: redis.url, keyPrefix: KEY_PREFIX, timeoutMs: 10_000, leaseMs: 30_000 }, silent);
  const levels: ReplicasResult['large']['levels'] = [];
  try {
    await hub.connect(10_000);
    const shared = await createRedisSnapshots({ hub, logger: silent, leaseMs: 30_000 }).coordinator.newer(BENCH_INTEGRATION_ID, { version: 0, lineage: '' });
    if (shared?.kind !== 'whole') throw new Error('no shared snapshot to publish again');
    // Untimed: the first JSON.stringify and gzip in a process cost several times the next ones (JIT, zlib's set-up),
    // which would be charged to whichever level comes first.
    for (const level of GZIP_LEVELS) gzipSync(JSON.stringify(shared.data), { level });
    for (const level of GZIP_LEVELS) {
      const { coordinator } = createRedisSnapshots({ hub, logger: silent, leaseMs: 30_000, level, owner: 'bench' });
      const swaps = await call<number>(second.child, 'swaps');
      const { lease } = await coordinator.acquire(BENCH_INTEGRATION_ID);
      if (!lease) throw new Error('a replica holds the walk lease');
      const started = performance.now();
      await lease.publish(shared.data);
      const publishMs = performance.now() - started;
      const publishedAt = epochMs();
      await lease.release();
      const adoptedAt = await call<number>(second.child, 'swapAfter', { count: swaps });
      levels.push({
        level,
        bytes: Number(await admin.hstrlen(key, 'data')),
        memoryUsage: Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')),
        publishMs,
        adoptMs: adoptedAt - publishedAt,
      });
      log(`  gzip level ${level}: ${mb(levels.at(-1)!.bytes).toFixed(1)} MB, published in ${publishMs.toFixed(0)} ms, taken in ${levels.at(-1)!.adoptMs.toFixed(0)} ms after`);
    }
  } finally {
    await hub.close();
  }

  // A third replica, ready from Redis; then changes told by webhook to one of the two, in turn.
  const third = await startReplica(spawned[2]!);
  if (third.walked) throw new Error('the third replica walked');
  const newReplicaRequests = (await interviewRequests(fake)) - walkRequests;
  const people = await spreadPeople(fake, second, LARGE_PROPAGATION_CHANGES);
  const propagation = await propagate(fake, [second, third], people, LARGE_PROPAGATION_CHANGES);
  log(`  propagation: median ${median(propagation.allMs).toFixed(0)} ms, worst ${Math.max(...propagation.allMs).toFixed(0)} ms, ${propagation.interviewRequests} Kombo requests`);
  const memorySettled = await redisMemory(admin);

  await stopReplicas([second, third]);
  await stopChild(fakeChild);
  return {
    interviews,
    listed: fake.listed,
    walkMs: walker.readyMs,
    walkRequests,
    newReplicaMs: [second.readyMs, third.readyMs],
    newReplicaRequests,
    jsonBytes,
    memoryUsage,
    memoryBefore,
    memoryAfter,
    memorySettled,
    bareDecodeMs,
    levels,
    propagation,
  };
}

/** The whole replicas part: `interviews` for the large organisation, `small` for the other measurements. */
export async function runReplicas(work: string, interviews: number, small: number): Promise<ReplicasResult> {
  const began = performance.now();
  const children: ChildProcess[] = [];
  const redis = await startRedis(work);
  try {
    const redisVersion = String(/redis_version:(\S+)/.exec(await redis.admin.info('server'))?.[1] ?? '?');
    const smallResult = await runSmall(work, redis.url, small, children);
    await redis.admin.flushall();
    const largeResult = await runLarge(work, redis, interviews, children);
    return { redisVersion, small: smallResult, large: largeResult, seconds: (performance.now() - began) / 1000 };
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    redis.admin.disconnect();
    await stopRedis(redis.child);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const f = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (value: number) => `**${value.toFixed(2)}**`;
const met = (ok: boolean) => (ok ? 'yes' : '**no**');

/** Rows 9 of the table: replicas on Redis. */
export function replicaRows(result: ReplicasResult): string[][] {
  const { small, large } = result;
  const warm = median(small.warm.replica);
  const embedded = median(small.warm.embedded);
  const warmCpu = median(small.warm.replicaCpu);
  const embeddedCpu = median(small.warm.embeddedCpu);
  const cold = median(small.cold.replicaMs);
  const p = small.propagation;
  const lp = large.propagation;
  const worst = Math.max(...p.allMs);
  const largeWorst = Math.max(...lp.allMs);
  const level = (n: number) => large.levels.find((entry) => entry.level === n)!;
  const [fast, standard] = [level(GZIP_LEVELS[0]), level(GZIP_LEVELS[1])];
  return [
    [
      `9. Warm feed on a replica that did not walk (${f(small.bodyBytes)} B gzip, ${small.events} events), requests/s`,
      f(warm),
      `${f(embedded)}: the same feed from a service without REDIS_URL${small.sameBytes ? ' (same bytes and ETag)' : ' (**different bytes**)'}`,
      ratio(warm / embedded),
      `≈ 1 (≥ ${WARM_RATIO_FLOOR})`,
      met(warm / embedded >= WARM_RATIO_FLOOR),
    ],
    [
      '9. Warm feed on that replica, requests per server CPU-second (same runs)',
      f(warmCpu),
      `${f(embeddedCpu)}: the service without REDIS_URL`,
      ratio(warmCpu / embeddedCpu),
      `≈ 1 (≥ ${WARM_RATIO_FLOOR})`,
      met(warmCpu / embeddedCpu >= WARM_RATIO_FLOOR),
    ],
    [
      `9. Cold feed on a replica that did not walk, after it took in a change (${f(median(small.cold.events))} events, median of ${small.cold.replicaMs.length} people)`,
      `${f(cold, 1)} ms`,
      `${f(median(small.cold.embeddedMs), 1)} ms: the same change's cold feed on the service without REDIS_URL (warm again on the replica: ${f(median(small.cold.warmMs), 1)} ms)`,
      ratio(cold / median(small.cold.embeddedMs)),
      `< ${REPLICA_COLD_TARGET_MS} ms`,
      met(cold < REPLICA_COLD_TARGET_MS),
    ],
    [
      `9. A webhook change reaches all ${REPLICAS} replicas' feeds (${f(small.interviews)} interviews, ${p.allMs.length} changes): median, worst`,
      `${f(median(p.allMs))} ms, ${f(worst)} ms`,
      `${f(median(p.walkerMs))} ms, ${f(Math.max(...p.walkerMs))} ms: the replica that got the webhook and walked`,
      ratio(median(p.allMs) / median(p.walkerMs)),
      `< ${f(PROPAGATION_TARGET_MS)} ms`,
      met(worst < PROPAGATION_TARGET_MS),
    ],
    [
      `9. Kombo interview requests for those ${p.allMs.length} changes`,
      `${f(p.interviewRequests)}${p.mismatches ? ` (**${p.mismatches} times replicas served different bytes**)` : ''}`,
      `${p.allMs.length}: one walk per change`,
      ratio(p.interviewRequests / p.allMs.length),
      '≤ 1',
      met(p.interviewRequests <= p.allMs.length),
    ],
    [
      `9. A replica started after another walked (${f(small.interviews)} / ${f(large.interviews)} interviews): ready, Kombo requests`,
      `${small.replicaReadyMs.map((ms) => f(ms)).join(', ')} / ${large.newReplicaMs.map((ms) => f(ms)).join(', ')} ms, ${small.newReplicaRequests + large.newReplicaRequests} requests`,
      `${f(small.firstWalkMs)} / ${f(large.walkMs)} ms: the first replica, which walked (${f(large.walkRequests)} requests for ${f(large.interviews)})`,
      ratio(median(large.newReplicaMs) / large.walkMs),
      '0 requests',
      met(small.newReplicaRequests + large.newReplicaRequests === 0),
    ],
    [
      `9. Redis memory for ${f(large.interviews)} interviews (${f(large.listed)} listed): \`MEMORY USAGE\` of the snapshot`,
      `${f(mb(large.memoryUsage), 1)} MB (used_memory ${f(mb(large.memoryBefore.usedMemory), 1)} → ${f(mb(large.memoryAfter.usedMemory), 1)} MB right after the walk's publish, ${f(mb(large.memorySettled.usedMemory), 1)} MB at the end; Lua's heap, outside it, ${f(mb(large.memorySettled.lua), 1)} MB)`,
      `${f(mb(large.jsonBytes), 1)} MB: the snapshot's JSON before gzip`,
      ratio(large.memoryUsage / large.jsonBytes),
      '—',
      '—',
    ],
    [
      `9. That snapshot at gzip level ${standard.level} (the default) vs ${fast.level}: size in Redis`,
      `${f(mb(standard.bytes), 1)} MB`,
      `${f(mb(fast.bytes), 1)} MB at level ${fast.level}`,
      ratio(standard.bytes / fast.bytes),
      '—',
      '—',
    ],
    [
      `9. That snapshot at gzip level ${standard.level} vs ${fast.level}: publish (JSON, gzip, one script)`,
      `${f(standard.publishMs)} ms`,
      `${f(fast.publishMs)} ms at level ${fast.level}`,
      ratio(standard.publishMs / fast.publishMs),
      '—',
      '—',
    ],
    [
      `9. A replica that did not walk takes in the ${f(large.interviews)}-interview snapshot after the change notice (level ${standard.level}; level ${fast.level}: ${f(fast.adoptMs)} ms)`,
      `${f(standard.adoptMs)} ms`,
      `${f(median(large.bareDecodeMs))} ms: bare gunzip + JSON.parse of the same bytes`,
      ratio(standard.adoptMs / median(large.bareDecodeMs)),
      '—',
      '—',
    ],
    [
      `9. A webhook change reaches both replicas' feeds (${f(large.interviews)} interviews, ${lp.allMs.length} changes): median, worst`,
      `${f(median(lp.allMs))} ms, ${f(largeWorst)} ms (${f(lp.interviewRequests)} Kombo requests${lp.mismatches ? `, **${lp.mismatches} mismatches**` : ''})`,
      `${f(median(lp.walkerMs))} ms, ${f(Math.max(...lp.walkerMs))} ms: the replica that got the webhook and walked`,
      ratio(median(lp.allMs) / median(lp.walkerMs)),
      `< ${f(PROPAGATION_TARGET_MS)} ms`,
      met(largeWorst < PROPAGATION_TARGET_MS),
    ],
  ];
}

/** The lines that say how rows 9 were measured in this run. */
export function replicaContext(result: ReplicasResult, loadTool: string): string {
  return [
    `Rows 9, run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${result.seconds.toFixed(0)} s: redis-server ${result.redisVersion} of the run's own (no persistence), REDIS_KEY_PREFIX=${KEY_PREFIX}, WEBHOOK_WALK_INTERVAL_SECONDS=${WEBHOOK_INTERVAL_SECONDS}; ${f(result.small.interviews)} interviews for ${result.small.interviewers} interviewers (without \`remote_data\`) for the warm, cold and first propagation rows, ${f(result.large.interviews)} for the rest; each service process on its own.`,
    `Warm: ${loadTool}, ${REPLICA_WARM_UP_SECONDS} s warm-up each, then ${REPLICA_WARM_ROUNDS} interleaved rounds of ${REPLICA_WARM_SECONDS} s, medians. Changes at least ${CHANGE_SPACING_MS} ms apart, each feed polled every ${POLL_MS} ms.`,
  ].join('\n');
}
