import { mkdtempSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterEach, beforeEach } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { start, type RunningService } from '../../src/server.js';
import { startFakeKombo, type FakeKombo } from './fake-kombo.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { buildService, testEnv, type CapturedLogs } from './test-service.js';

/** A replica of the service in this process: the real server entry on a loopback port, sharing `redisUrl`. */
export type InProcessReplica = RunningService & { logs: CapturedLogs; dataDir: string };

const dirs: string[] = [];
const inspectors: Redis[] = [];

/**
 * A connection of the test's own to the Redis `replica` uses, to read what the replicas wrote there; `key` adds the
 * deployment's prefix. Closed after the test ({@link useReplicaCluster}).
 */
export function inspectRedis(replica: InProcessReplica): { client: Redis; key(name: string): string } {
  const redis = replica.config.redis!;
  const client = new Redis(redis.url);
  inspectors.push(client);
  return { client, key: (name) => `${redis.keyPrefix}${name}` };
}

/**
 * Starts the real service (server entry, timers and all) with REDIS_URL, against `fake`, on 127.0.0.1 and a free
 * port, with the fake's clock as `now` (or the real one: schedules that must move), zero retry delays and its own empty DATA_DIR.
 */
export async function startInProcessReplica(
  fake: FakeKombo,
  redisUrl: string,
  env: Record<string, string> = {},
  options: { realClock?: boolean } = {},
): Promise<InProcessReplica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'replica-'));
  dirs.push(dataDir);
  const config = loadConfig(
    testEnv(fake, {
      REDIS_URL: redisUrl,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      SYNC_INTERVAL_SECONDS: '3600',
      SYNC_LEASE_SECONDS: '3',
      REDIS_TIMEOUT_SECONDS: '1',
      WEBHOOK_WALK_INTERVAL_SECONDS: '1',
      ...env,
    }),
  );
  const { logs, ...service } = buildService(config, { now: options.realClock ? Date.now : () => fake.clock, timeoutMs: 2_000 });
  const running = await start(config, service.logger, service, { sleep: async () => {} });
  return { ...running, logs, dataDir };
}

/** Removes the replicas' data directories (call after stopping them). */
export function removeReplicaDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Raw bytes, status and ETag of a GET on a replica, whatever the status. */
export async function replicaGet(replica: InProcessReplica, path: string): Promise<{ status: number; body: Buffer; etag: string | undefined }> {
  const res = await request(replica.server).get(path).buffer(true).parse((r, done) => {
    const chunks: Buffer[] = [];
    r.on('data', (chunk: Buffer) => chunks.push(chunk));
    r.on('end', () => done(null, Buffer.concat(chunks)));
  });
  return { status: res.status, body: res.body as Buffer, etag: res.headers.etag as string | undefined };
}

/** What {@link useReplicaCluster} sets up before each test: a redis-server, a fake Kombo, and the replicas started. */
export interface ReplicaCluster {
  readonly redis: RedisServer;
  readonly fake: FakeKombo;
  /** Stopped after each test. */
  readonly replicas: InProcessReplica[];
}

/**
 * Before each test of the describe block: a redis-server of its own and a fake Kombo holding `records()`; after it,
 * every replica in `replicas` stopped, Kombo and Redis too, and the replicas' data directories removed.
 */
export function useReplicaCluster(records: () => Record<string, unknown>[]): ReplicaCluster {
  let redis: RedisServer | undefined;
  let fake: FakeKombo | undefined;
  const replicas: InProcessReplica[] = [];
  beforeEach(async () => {
    redis = await startRedis();
    fake = await startFakeKombo();
    fake.setRecords(records());
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.stop()));
    for (const client of inspectors.splice(0)) client.disconnect();
    await fake?.close();
    await redis?.stop();
    removeReplicaDirs();
  });
  return {
    get redis() {
      return redis!;
    },
    get fake() {
      return fake!;
    },
    replicas,
  };
}
