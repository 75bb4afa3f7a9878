import { promisify } from 'node:util';
import { constants, gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SnapshotData } from '../interviews/snapshot.js';
import { snapshotDataSchema, type SnapshotStore } from '../interviews/snapshot-store.js';
import { StaleLeaseError, type LeaseAnswer, type SharedSnapshot, type WalkCoordinator } from '../sync/walk-coordinator.js';
import { NOTICE_LUA, type RedisHub } from './create-redis-hub.js';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/**
 * Largest snapshot read back from Redis, decompressed: 50,000 interviews take about 20 MB of JSON, and a walk may read at
 * most KOMBO_WALK_MAX_RECORDS records. A larger or endless value is refused, never buffered whole.
 */
export const MAX_SNAPSHOT_JSON_BYTES = 1024 * 1024 * 1024;

/** The change-notice field of an integration's snapshot. */
export function snapshotField(integrationId: string): string {
  return `snap:${integrationId}`;
}

// KEYS[3] lease, KEYS[4] fence. ARGV[3] owner, ARGV[4] ttl ms. {token, Redis's time in ms}: token 0 while another
// holds the lease. Redis's clock, not a replica's, says whether a walk started after a refresh was asked for.
const ACQUIRE_LUA = `${NOTICE_LUA}
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if redis.call('EXISTS', KEYS[3]) == 1 then return {0, nowMs} end
local token = redis.call('INCR', KEYS[4])
redis.call('SET', KEYS[3], ARGV[3] .. ':' .. token, 'PX', ARGV[4])
return {token, nowMs}`;

// KEYS[3] lease. ARGV[3] the holder's value, ARGV[4] ttl ms. 1 renewed, 0 lost.
const RENEW_LUA = `${NOTICE_LUA}
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1`;

// KEYS[3] lease. ARGV[3] the holder's value.
const RELEASE_LUA = `${NOTICE_LUA}
if redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
return 1`;

// KEYS[3] snapshot, KEYS[4] fence, KEYS[5] lease. ARGV[3] token, ARGV[4] gzipped JSON, ARGV[5] syncedAtMs, ARGV[6]
// the lease's value, ARGV[7] when it was granted (Redis's clock). The fencing rule: refused (-1) unless the lease is
// still this one and no newer token was granted, whether or not its holder still believes it holds the lease (a
// lease that ran out, or a Redis that restarted empty and granted low tokens again, both refuse).
const PUBLISH_LUA = `${NOTICE_LUA}
local fence = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[3]) < fence or redis.call('GET', KEYS[5]) ~= ARGV[6] then return -1 end
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0') + 1
redis.call('HSET', KEYS[3], 'v', v, 'token', ARGV[3], 'data', ARGV[4], 'syncedAtMs', ARGV[5], 'walkedAtMs', ARGV[7])
notice(v)
return v`;

// KEYS[3] snapshot, KEYS[4] fence. ARGV[3] version, ARGV[4] gzipped JSON, ARGV[5] syncedAtMs, ARGV[6] token. Puts a
// snapshot back after Redis lost its data. The later walk wins, whichever replica holds it: what is there stays when it
// was walked no earlier (a walk since Redis came back), else this one is written. Either way the version ends above
// the one put back, so every replica (each holding a version up to it) takes the survivor in. The fence is raised to
// the token, so no lease granted before Redis lost its data can publish over it.
const PUT_BACK_LUA = `${NOTICE_LUA}
local fence = tonumber(redis.call('GET', KEYS[4]) or '0')
if fence < tonumber(ARGV[6]) then redis.call('SET', KEYS[4], ARGV[6]) end
local mine = tonumber(ARGV[3])
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0')
if v > 0 and tonumber(redis.call('HGET', KEYS[3], 'syncedAtMs') or '0') >= tonumber(ARGV[5]) then
  if v >= mine then return v end
  redis.call('HSET', KEYS[3], 'v', mine + 1)
  notice(mine + 1)
  return mine + 1
end
if v >= mine then mine = v + 1 end
redis.call('HSET', KEYS[3], 'v', mine, 'token', ARGV[6], 'data', ARGV[4], 'syncedAtMs', ARGV[5])
notice(mine)
return mine`;

// KEYS[3] snapshot, KEYS[4] fence, KEYS[5] lease. A removed integration's walk in flight anywhere is fenced off. Its
// version stays: added back, its next snapshot is numbered after every one a replica may still hold.
const DELETE_LUA = `${NOTICE_LUA}
redis.call('HDEL', KEYS[3], 'token', 'data', 'syncedAtMs', 'walkedAtMs')
redis.call('DEL', KEYS[5])
redis.call('INCR', KEYS[4])
redis.call('HDEL', KEYS[1], ARGV[2])
return 1`;

/** What {@link createRedisSnapshots} needs. */
export interface RedisSnapshotsOptions {
  hub: RedisHub;
  logger: Logger;
  leaseMs: number;
  /** Read when Redis has no snapshot of an integration yet (DATA_DIR of an embedded install moving to Redis). */
  seed?: SnapshotStore;
  /** Names this replica in the lease values (for an operator reading Redis). */
  owner?: string;
  /** Gzip level of stored snapshots (default 6). */
  level?: number;
}

/** Snapshots and walk leases in Redis: the {@link SnapshotStore} and {@link WalkCoordinator} of replica mode. */
export function createRedisSnapshots(options: RedisSnapshotsOptions): { store: SnapshotStore; coordinator: WalkCoordinator } {
  const { hub, leaseMs } = options;
  const owner = options.owner ?? randomBytes(6).toString('hex');
  const keys = (id: string) => ({ snap: hub.key(`snap:${id}`), fence: hub.key(`fence:${id}`), lease: hub.key(`lease:${id}`) });
  const encode = (data: SnapshotData) => gzip(JSON.stringify(data), { level: options.level ?? constants.Z_DEFAULT_COMPRESSION });

  async function decode(id: string, buffer: Buffer): Promise<SnapshotData> {
    const json = await gunzip(buffer, { maxOutputLength: MAX_SNAPSHOT_JSON_BYTES });
    const data = snapshotDataSchema.parse(JSON.parse(json.toString('utf8')));
    if (data.integrationId !== id) throw new Error(`the snapshot stored for ${id} belongs to ${data.integrationId}`);
    return data;
  }

  async function newer(id: string, version: number): Promise<SharedSnapshot | undefined> {
    const { snap } = keys(id);
    const stored = Number((await hub.run('read a snapshot version', () => hub.client.hget(snap, 'v'))) ?? 0);
    if (stored === 0 && version === 0 && options.seed) return seeded(id);
    if (stored <= version) return undefined;
    const [v = null, data = null, walkedAt = null] = await hub.run('read a snapshot', () => hub.client.hmgetBuffer(snap, 'v', 'data', 'walkedAtMs'));
    if (v === null || data === null) return undefined;
    return { data: await decode(id, data), version: Number(v.toString()), walkedAtMs: walkedAt === null ? 0 : Number(walkedAt.toString()) };
  }

  /** An embedded install's snapshot, written to Redis as version 1 (unless a replica was first). */
  async function seeded(id: string): Promise<SharedSnapshot | undefined> {
    const data = await options.seed!.load(id).catch(() => undefined);
    if (data === undefined) return undefined;
    await putBack(id, { data, version: 1 }, 0);
    return newer(id, 0.5);
  }

  async function putBack(id: string, snapshot: SharedSnapshot, token: number): Promise<void> {
    const { snap, fence } = keys(id);
    const data = await encode(snapshot.data);
    await hub.script('put back a snapshot', PUT_BACK_LUA, snapshotField(id), [snap, fence], [snapshot.version, data, snapshot.data.syncedAtMs, token]);
  }

  async function acquire(id: string): Promise<LeaseAnswer> {
    const { snap, fence, lease } = keys(id);
    const [granted, nowMs] = (await hub.script('take a walk lease', ACQUIRE_LUA, snapshotField(id), [lease, fence], [owner, leaseMs])) as [number, number];
    const token = Number(granted);
    if (token === 0) return { lease: undefined, nowMs: Number(nowMs) };
    const value = `${owner}:${token}`;
    const lost = new AbortController();
    let renewedAtMs = Date.now();
    let released = false;
    const renewal = setInterval(async () => {
      try {
        const renewed = Number(await hub.script('renew a walk lease', RENEW_LUA, snapshotField(id), [lease], [value, leaseMs]));
        if (renewed === 1) renewedAtMs = Date.now();
        else lost.abort(new StaleLeaseError(id, token));
      } catch {
        // Redis away: the lease runs out on its own; once it may have, this walk must not go on as if it held it.
        if (Date.now() - renewedAtMs >= leaseMs) lost.abort(new StaleLeaseError(id, token));
      }
      if (lost.signal.aborted) clearInterval(renewal);
    }, Math.max(100, Math.floor(leaseMs / 3)));
    renewal.unref();
    return { lease: {
      token,
      grantedAtMs: Number(nowMs),
      signal: lost.signal,
      async publish(data) {
        const encoded = await encode(data);
        const version = Number(await hub.script('publish a snapshot', PUBLISH_LUA, snapshotField(id), [snap, fence, lease], [token, encoded, data.syncedAtMs, value, nowMs]));
        if (version < 0) throw new StaleLeaseError(id, token);
        return version;
      },
      async release() {
        if (released) return;
        released = true;
        clearInterval(renewal);
        await hub.script('release a walk lease', RELEASE_LUA, snapshotField(id), [lease], [value]).catch(() => {});
      },
    }, nowMs: Number(nowMs) };
  }

  const store: SnapshotStore = {
    async load(id) {
      return (await newer(id, 0))?.data;
    },
    async save(data) {
      // Outside a lease (tools): a snapshot of its own, versioned after whatever is there.
      const id = data.integrationId;
      const { snap, fence } = keys(id);
      const current = Number((await hub.run('read a snapshot version', () => hub.client.hget(snap, 'v'))) ?? 0);
      const token = Number((await hub.run('read a fence', () => hub.client.get(fence))) ?? 0);
      await putBack(id, { data, version: current + 1 }, token);
    },
    async delete(id) {
      const { snap, fence, lease } = keys(id);
      await hub.script('delete a snapshot', DELETE_LUA, snapshotField(id), [snap, fence, lease], []);
    },
  };

  return {
    store,
    coordinator: {
      leaseMs,
      acquire,
      newer,
      putBack: (id, snapshot) => putBack(id, snapshot, 0),
    },
  };
}
