import { promisify } from 'node:util';
import { constants, gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Snapshot, type SnapshotData } from '../interviews/snapshot.js';
import { ownSnapshotData, snapshotDataSchema, snapshotDeltaSchema, type SnapshotStore } from '../interviews/snapshot-store.js';
import { StaleLeaseError, type LeaseAnswer, type SharedUpdate, type SharedVersion, type WalkCoordinator, type WalkLease } from '../sync/walk-coordinator.js';
import { NOTICE_LUA, WALKED_MESSAGE, type RedisHub, type WalkedNotice } from './create-redis-hub.js';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/**
 * Largest snapshot read back from Redis, decompressed: 50,000 interviews take about 20 MB of JSON, and a walk may read at
 * most KOMBO_WALK_MAX_RECORDS records. A larger or endless value is refused, never buffered whole.
 */
export const MAX_SNAPSHOT_JSON_BYTES = 1024 * 1024 * 1024;

/** The sum stored beside a snapshot: SHA-256 of its bytes as stored (gzipped). */
function checksum(stored: Buffer): string {
  return createHash('sha256').update(stored).digest('hex');
}

/** The change-notice field of an integration's snapshot. */
export function snapshotField(integrationId: string): string {
  return `snap:${integrationId}`;
}

// KEYS[3] lease, KEYS[4] fence, KEYS[5] snapshot. ARGV[3] owner, ARGV[4] ttl ms, ARGV[5] '1' when the caller waits
// for a held lease (it needs the time of its first ask). {token, Redis's time in ms, v, lineage, walkedAtMs,
// idleSyncedAtMs, idleWalkedAtMs}: token 0 while another holds the lease (then only the time, and only when asked for).
// Redis's clock, not a replica's, says whether a walk started after a refresh was asked for. The snapshot's version
// and times come with a lease granted, so a walk on a version already held reads nothing more before it walks.
const ACQUIRE_LUA = `${NOTICE_LUA}
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  if ARGV[5] == '1' then return {0, now()} end
  return {0, 0}
end
local nowMs = now()
local token = redis.call('INCR', KEYS[4])
redis.call('SET', KEYS[3], ARGV[3] .. ':' .. token, 'PX', ARGV[4])
local state = redis.call('HMGET', KEYS[5], 'v', 'lineage', 'walkedAtMs', 'idleSyncedAtMs', 'idleWalkedAtMs')
return {token, nowMs, state[1] or '0', state[2] or '', state[3] or '0', state[4] or '0', state[5] or '0'}`;

// KEYS[3] lease. ARGV[3] the holder's value, ARGV[4] ttl ms. 1 renewed, 0 lost.
const RENEW_LUA = `${NOTICE_LUA}
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1`;

// KEYS[3] lease, KEYS[4] snapshot. ARGV[3] the holder's value; with ARGV[4]: a walk under this lease changed nothing
// on version ARGV[4] of lineage ARGV[5]; ARGV[6] its syncedAtMs, ARGV[7] when its lease was granted. That is noted
// beside the snapshot, with no new version, no versioned notice and nothing for anybody to read: a replica that next
// reads the snapshot moves its sync time on, and the others hear it at once in one message on the change channel
// (WALKED_MESSAGE: version, lineage, syncedAtMs and granted time, then the field), so their periodic refreshes, due
// a little later, ask Redis nothing. A release before this one ignores that message (its last line is no version).
const RELEASE_LUA = `${NOTICE_LUA}
if redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
if ARGV[4] then
  local held = redis.call('HMGET', KEYS[4], 'v', 'lineage')
  if held[1] == ARGV[4] and held[2] == ARGV[5] then
    redis.call('HSET', KEYS[4], 'idleSyncedAtMs', ARGV[6], 'idleWalkedAtMs', ARGV[7])
    redis.call('PUBLISH', ARGV[1], '${WALKED_MESSAGE}\\n' .. ARGV[4] .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[7] .. '\\n' .. ARGV[2])
  end
end
return 1`;

// KEYS[3] snapshot. ARGV[3] the version a periodic walk made without a lease was made on, ARGV[4] its lineage, ARGV[5]
// its syncedAtMs. That walk changed nothing: noted as RELEASE_LUA notes one, and told in a WALKED_MESSAGE with no lease
// time (0: it tells a walk asked for nothing; its lease would have been granted after the walk began). 1 noted, 0 the
// snapshot is no longer that version (another walker published meanwhile).
const NOTE_UNCHANGED_LUA = `${NOTICE_LUA}
local held = redis.call('HMGET', KEYS[3], 'v', 'lineage', 'idleSyncedAtMs')
if held[1] ~= ARGV[3] or held[2] ~= ARGV[4] then return 0 end
if tonumber(held[3] or '0') < tonumber(ARGV[5]) then redis.call('HSET', KEYS[3], 'idleSyncedAtMs', ARGV[5]) end
redis.call('PUBLISH', ARGV[1], '${WALKED_MESSAGE}\\n' .. ARGV[3] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[5] .. '\\n0\\n' .. ARGV[2])
return 1`;

/**
 * Incremental walks are shared as deltas (a list beside the snapshot) while they are small and few; a full walk, or
 * a delta past these, is shared whole, which empties the list. A replica that holds the version before takes in only
 * the deltas after it; any other reads the whole snapshot and every delta.
 */
export const MAX_DELTAS = 50;
/** A delta that updates or removes more than this share of the interviews is shared whole instead. */
export const MAX_DELTA_SHARE = 0.1;

// Replicas of two releases run side by side during a rolling deploy: a change to what these keys hold must come under
// new key names (snap2:, say), never as a new reading of the old ones.
// The snapshot hash: v (version), lineage (a new random one at every whole write: deltas apply only within one),
// data (gzipped JSON, whole), sum (SHA-256 of `data` as stored: a reader whose sum matches knows the snapshot is ours
// and whole, and reads it without validating each record; earlier releases write no sum, and their data is validated),
// token, syncedAtMs, walkedAtMs (when the lease of its last walk was granted), idleSyncedAtMs and idleWalkedAtMs (the
// last walk on this version that changed nothing, see RELEASE_LUA). The list KEYS[deltas]: gzipped JSON deltas since
// `data`, oldest first, each one version.
//
// Deltas carry the side-table entries of the interviewers they touched only; a release before that (at 934562e) read a
// delta's tables as whole and would drop every other entry. So they go in a list of a new name (snapdeltas2:), and the
// list under the old name (KEYS[7], which only such a replica writes to) is told apart: every publish of ours empties
// it, so an earlier replica behind finds no delta of ours and reads `data` whole, without ours (behind, never wrong,
// until a whole publish or its own walk, which asks Kombo for everything since that data); a delta it appends in turn
// was made on that data, so while its list is not empty our deltas are passed over (`data` and its deltas are a
// whole snapshot, its walk having read everything since), and we publish whole, which empties both lists.

// KEYS[3] snapshot, KEYS[4] fence, KEYS[5] lease, KEYS[6] deltas, KEYS[7] earlier deltas. ARGV[3] token, ARGV[4] gzipped JSON, ARGV[5]
// syncedAtMs, ARGV[6] the lease's value, ARGV[7] when it was granted (Redis's clock), ARGV[8] a new lineage. The fencing
// rule: refused (-1) unless the lease is still this one and no newer token was granted, whether or not its holder
// still believes it holds the lease (a lease that ran out, or a Redis that restarted empty and granted low tokens
// again, both refuse).
const PUBLISH_LUA = `${NOTICE_LUA}
local fence = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[3]) < fence or redis.call('GET', KEYS[5]) ~= ARGV[6] then return -1 end
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0') + 1
redis.call('HSET', KEYS[3], 'v', v, 'lineage', ARGV[8], 'token', ARGV[3], 'data', ARGV[4], 'sum', ARGV[9], 'syncedAtMs', ARGV[5], 'walkedAtMs', ARGV[7])
redis.call('HDEL', KEYS[3], 'idleSyncedAtMs', 'idleWalkedAtMs')
redis.call('DEL', KEYS[6], KEYS[7])
notice(v)
return v`;

// As PUBLISH_LUA, for a delta: ARGV[4] the gzipped delta, ARGV[8] the version it was made on, ARGV[9] its lineage.
// -2 when the stored snapshot is not that one, or its list is full: the caller shares the snapshot whole.
const PUBLISH_DELTA_LUA = `${NOTICE_LUA}
local fence = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[3]) < fence or redis.call('GET', KEYS[5]) ~= ARGV[6] then return -1 end
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0')
if v ~= tonumber(ARGV[8]) or redis.call('HGET', KEYS[3], 'lineage') ~= ARGV[9] or redis.call('LLEN', KEYS[6]) >= ${MAX_DELTAS} then return -2 end
if redis.call('LLEN', KEYS[7]) > 0 then return -2 end
v = v + 1
redis.call('RPUSH', KEYS[6], ARGV[4])
redis.call('HSET', KEYS[3], 'v', v, 'token', ARGV[3], 'syncedAtMs', ARGV[5], 'walkedAtMs', ARGV[7])
redis.call('HDEL', KEYS[3], 'idleSyncedAtMs', 'idleWalkedAtMs')
notice(v)
return v`;

// KEYS[3] snapshot, KEYS[6] deltas, KEYS[7] earlier deltas (KEYS[4], KEYS[5] unused). ARGV[3] the version held, ARGV[4] its lineage.
// {v, lineage, walkedAtMs, idleSyncedAtMs, idleWalkedAtMs, data or false, sum or false, deltas...}: only {v, idle
// times} when nothing is newer; the deltas after the held version alone when they reach back to it within its
// lineage, else the whole snapshot and every delta.
const READ_LUA = `${NOTICE_LUA}
local state = redis.call('HMGET', KEYS[3], 'v', 'lineage', 'walkedAtMs', 'idleSyncedAtMs', 'idleWalkedAtMs')
local v = tonumber(state[1] or '0')
local held = tonumber(ARGV[3])
local idleSynced = state[4] or '0'
local idleWalked = state[5] or '0'
if v <= held then return {v, idleSynced, idleWalked, state[2] or ''} end
local lineage = state[2] or ''
local walkedAt = state[3] or '0'
local count = redis.call('LLEN', KEYS[6])
local earlier = redis.call('LLEN', KEYS[7])
local reply = {v, lineage, walkedAt, idleSynced, idleWalked}
if held > 0 and lineage == ARGV[4] and v - held <= count and earlier == 0 then
  reply[6] = false
  reply[7] = false
  for _, delta in ipairs(redis.call('LRANGE', KEYS[6], count - (v - held), -1)) do reply[#reply + 1] = delta end
  return reply
end
local stored = redis.call('HMGET', KEYS[3], 'data', 'sum')
reply[6] = stored[1]
reply[7] = stored[2]
for _, delta in ipairs(redis.call('LRANGE', earlier > 0 and KEYS[7] or KEYS[6], 0, -1)) do reply[#reply + 1] = delta end
return reply`;

// KEYS[3] snapshot, KEYS[4] fence, KEYS[6] deltas, KEYS[7] earlier deltas. ARGV[3] version, ARGV[4] gzipped JSON, ARGV[5] syncedAtMs, ARGV[6]
// token, ARGV[7] a new lineage, ARGV[8] the sum of ARGV[4]. Puts a snapshot back after Redis lost its data. The later walk wins, whichever replica
// holds it: what is there stays when it was walked no earlier (a walk since Redis came back), else this one is written
// whole. Either way the version ends above the one put back and the lineage is new, so every replica (each holding a
// version up to it) reads the survivor whole. The fence is raised to the token, so no lease granted before Redis lost
// its data can publish over it.
const PUT_BACK_LUA = `${NOTICE_LUA}
local fence = tonumber(redis.call('GET', KEYS[4]) or '0')
if fence < tonumber(ARGV[6]) then redis.call('SET', KEYS[4], ARGV[6]) end
local mine = tonumber(ARGV[3])
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0')
local stored = redis.call('HGET', KEYS[3], 'data')
local storedSynced = tonumber(redis.call('HGET', KEYS[3], 'syncedAtMs') or '0')
if stored and storedSynced >= tonumber(ARGV[5]) then
  -- The same walk put back already (same version, same time): nothing to do. A later one, or a version at or below
  -- this one: numbered above it, so its holder reads the survivor too.
  if v > mine or (v == mine and storedSynced == tonumber(ARGV[5])) then return v end
  redis.call('HSET', KEYS[3], 'v', mine + 1, 'lineage', ARGV[7])
  notice(mine + 1)
  return mine + 1
end
if v >= mine then mine = v + 1 end
redis.call('HSET', KEYS[3], 'v', mine, 'lineage', ARGV[7], 'token', ARGV[6], 'data', ARGV[4], 'sum', ARGV[8], 'syncedAtMs', ARGV[5], 'walkedAtMs', '0')
redis.call('HDEL', KEYS[3], 'idleSyncedAtMs', 'idleWalkedAtMs')
redis.call('DEL', KEYS[6], KEYS[7])
notice(mine)
return mine`;

// KEYS[3] snapshot, KEYS[4] fence, KEYS[5] lease, KEYS[6] deltas, KEYS[7] earlier deltas. A removed integration's walk in flight anywhere is
// fenced off. Its version stays: added back, its next snapshot is numbered after every one a replica may still hold.
const DELETE_LUA = `${NOTICE_LUA}
redis.call('HDEL', KEYS[3], 'lineage', 'token', 'data', 'sum', 'syncedAtMs', 'walkedAtMs', 'idleSyncedAtMs', 'idleWalkedAtMs')
redis.call('DEL', KEYS[5], KEYS[6], KEYS[7])
redis.call('INCR', KEYS[4])
redis.call('HDEL', KEYS[1], ARGV[2])
return 1`;

/** Walks that changed nothing heard of and not yet taken in, remembered at most (see `heard`). */
const MAX_TOLD = 10_000;

/** How long the snapshot's state read with a lease grant stands for the catch-up read that follows it. */
const GRANTED_STATE_MS = 2_000;

/** A snapshot's version and times, as read with a lease grant (see ACQUIRE_LUA). */
interface GrantedState {
  atMs: number;
  version: number;
  lineage: string;
  walkedAtMs: number;
  idleSyncedAtMs: number;
  idleWalkedAtMs: number;
}

/**
 * What a read of the snapshot would answer a reader holding `held`, from the state read with a lease grant when it
 * is recent and nothing is newer than `held` (as READ_LUA answers then); 'read' when only a read can say.
 */
function answerFromGrant(known: GrantedState | undefined, held: SharedVersion): SharedUpdate | undefined | 'read' {
  if (known === undefined || Date.now() - known.atMs >= GRANTED_STATE_MS || known.version === 0 || known.version > held.version) return 'read';
  if (known.version !== held.version || known.idleSyncedAtMs === 0 || known.lineage !== held.lineage) return undefined;
  return { kind: 'deltas', deltas: [], version: known.version, lineage: held.lineage, walkedAtMs: known.idleWalkedAtMs, syncedAtMs: known.idleSyncedAtMs };
}

async function json(buffer: Buffer): Promise<unknown> {
  return JSON.parse((await gunzip(buffer, { maxOutputLength: MAX_SNAPSHOT_JSON_BYTES })).toString('utf8'));
}

/**
 * A stored snapshot: read as written when its sum says this release wrote it whole, else (an earlier release wrote
 * it, or it is damaged) validated record by record; what fails either way is thrown, and the caller walks instead.
 */
async function decode(id: string, buffer: Buffer, sum: Buffer | null | undefined): Promise<SnapshotData> {
  if (sum !== null && sum !== undefined && sum.toString('latin1') === checksum(buffer)) {
    return ownSnapshotData(await json(buffer), id, (message) => new Error(`the snapshot stored for ${id} ${message}`));
  }
  const data = snapshotDataSchema.parse(await json(buffer));
  if (data.integrationId !== id) throw new Error(`the snapshot stored for ${id} belongs to ${data.integrationId}`);
  return data;
}

/**
 * Keeps a {@link WalkedNotice} about `snap:<id>` in `told` for the catch-up it brings about (which takes and deletes
 * it); the integration id, or undefined for another field. One about an integration not served here stays until a
 * later one replaces it; past {@link MAX_TOLD}, the oldest go (a read answers for them).
 */
function remember(told: Map<string, GrantedState>, notice: WalkedNotice): string | undefined {
  if (!notice.field.startsWith('snap:')) return undefined;
  const id = notice.field.slice('snap:'.length);
  if (told.size >= MAX_TOLD) for (const [key, state] of told) if (Date.now() - state.atMs >= GRANTED_STATE_MS) told.delete(key);
  if (told.size >= MAX_TOLD) told.clear();
  told.set(id, { atMs: Date.now(), version: notice.version, lineage: notice.lineage, walkedAtMs: notice.walkedAtMs, idleSyncedAtMs: notice.syncedAtMs, idleWalkedAtMs: notice.walkedAtMs });
  return id;
}

/** The integrations with a snapshot in Redis (a removed one keeps only its version, and is not listed) or in `seed`. */
async function listSnapshots(hub: RedisHub, seed: SnapshotStore | undefined): Promise<string[]> {
  const prefix = hub.key('snap:');
  // SCAN's MATCH is a glob: the deployment's prefix is matched literally.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const found = new Set(await (seed?.list?.() ?? Promise.resolve([])));
  let cursor = '0';
  do {
    const [next, names] = await hub.run('find snapshots', () => hub.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000));
    cursor = next;
    // A removed integration keeps its version (and no data): only those with data are held.
    const held = await Promise.all(names.map((name) => hub.run('find snapshots', () => hub.client.hexists(name, 'data'))));
    names.forEach((name, at) => held[at] === 1 && found.add(name.slice(prefix.length)));
  } while (cursor !== '0');
  return [...found];
}

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

/** What a lease's holder writes with: the hub, the integration's keys, and how snapshots are encoded. */
interface LeaseContext {
  hub: RedisHub;
  keys: { snap: string; fence: string; lease: string; deltas: string; earlierDeltas: string };
  leaseMs: number;
  encode(value: unknown): Promise<Buffer>;
  newLineage(): string;
}

/**
 * The lease `token` on `id`, granted at `nowMs` (Redis's clock) and held under `value`: renewed every third of its
 * life until released or lost; its walk publishes through it, whole or as a delta.
 */
function holdLease(context: LeaseContext, id: string, value: string, token: number, nowMs: number): WalkLease {
  const { hub, leaseMs, encode, newLineage } = context;
  const { snap, fence, lease, deltas, earlierDeltas } = context.keys;
  const lost = new AbortController();
  let renewedAtMs = Date.now();
  let released = false;
  /** A walk under this lease that changed nothing, noted when the lease is given back. */
  let idle: { on: SharedVersion; syncedAtMs: number } | undefined;
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

  async function publishWhole(data: SnapshotData): Promise<SharedVersion> {
    const lineage = newLineage();
    const encoded = await encode(data);
    const version = Number(
      await hub.script('publish a snapshot', PUBLISH_LUA, snapshotField(id), [snap, fence, lease, deltas, earlierDeltas], [
        token,
        encoded,
        data.syncedAtMs,
        value,
        nowMs,
        lineage,
        checksum(encoded),
      ]),
    );
    if (version < 0) throw new StaleLeaseError(id, token);
    return { version, lineage };
  }

  return {
    token,
    grantedAtMs: nowMs,
    signal: lost.signal,
    async publish(data, walk) {
      // Nothing changed but the time: no write, no notice (the time is noted at release, for the next reader).
      if (walk !== undefined && !walk.full && walk.changes === 0 && walk.change !== undefined && walk.change.on.version > 0) {
        idle = { on: walk.change.on, syncedAtMs: data.syncedAtMs };
        return { version: walk.change.on.version, lineage: walk.change.on.lineage };
      }
      idle = undefined;
      const change = walk?.change && { on: walk.change.on, delta: walk.change.delta(), size: walk.change.size };
      const small = change && change.delta.updated.length + change.delta.removed.length <= Math.max(100, change.size * MAX_DELTA_SHARE);
      if (!change || !small || change.on.version === 0) return publishWhole(data);
      const encoded = await encode(change.delta);
      const version = Number(
        await hub.script('publish a delta', PUBLISH_DELTA_LUA, snapshotField(id), [snap, fence, lease, deltas, earlierDeltas], [
          token,
          encoded,
          data.syncedAtMs,
          value,
          nowMs,
          change.on.version,
          change.on.lineage,
        ]),
      );
      if (version === -1) throw new StaleLeaseError(id, token);
      if (version === -2) return publishWhole(data);
      return { version, lineage: change.on.lineage };
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(renewal);
      const noted = idle === undefined ? [] : [idle.on.version, idle.on.lineage, idle.syncedAtMs, nowMs];
      await hub.script('release a walk lease', RELEASE_LUA, snapshotField(id), [lease, snap], [value, ...noted]).catch(() => {});
    },
  };
}

/** The keys of one integration's shared snapshot, its fencing counter, lease and delta lists. */
function snapshotKeys(hub: RedisSnapshotsOptions['hub'], id: string) {
  return {
    snap: hub.key(`snap:${id}`),
    fence: hub.key(`fence:${id}`),
    lease: hub.key(`lease:${id}`),
    deltas: hub.key(`snapdeltas2:${id}`),
    // Written by releases whose deltas carried whole side tables (see READ_LUA): read, and emptied by every publish.
    earlierDeltas: hub.key(`snapdeltas:${id}`),
  };
}

/** Snapshots and walk leases in Redis: the {@link SnapshotStore} and {@link WalkCoordinator} of replica mode. */
export function createRedisSnapshots(options: RedisSnapshotsOptions): {
  store: SnapshotStore;
  coordinator: WalkCoordinator;
  /** A {@link WalkedNotice} about `snap:<id>` heard: the integration id, for the follower to catch up (no read). */
  heard(notice: WalkedNotice): string | undefined;
} {
  const { hub, leaseMs } = options;
  const owner = options.owner ?? randomBytes(6).toString('hex');
  const keys = (id: string) => snapshotKeys(hub, id);
  const level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
  const encode = (value: unknown) => gzip(JSON.stringify(value), { level });
  const newLineage = () => randomBytes(8).toString('hex');

  /**
   * The snapshot's version and times as read with a lease just granted here. While this replica holds the lease nobody
   * else publishes, so the read that follows a grant (the walk's catch-up) is answered from it when nothing is newer
   * than the version held; once, and only for {@link GRANTED_STATE_MS}.
   */
  const granted = new Map<string, GrantedState>();

  /**
   * What another replica's walk that changed nothing told (a {@link WalkedNotice}): the read its notice brings about
   * is answered from it the same way, when it is about the version held.
   */
  const told = new Map<string, GrantedState>();

  async function newer(id: string, held: SharedVersion): Promise<SharedUpdate | undefined> {
    for (const known of [granted, told]) {
      const state = known.get(id);
      known.delete(id);
      const answered = answerFromGrant(state, held);
      if (answered !== 'read') return answered;
    }
    const { snap, fence, lease, deltas, earlierDeltas } = keys(id);
    const reply = (await hub.run('read a snapshot', () =>
      hub.client.callBuffer('EVAL', READ_LUA, 7, hub.versionsKey, hub.epochKey, snap, fence, lease, deltas, earlierDeltas, hub.channel, snapshotField(id), held.version, held.lineage),
    )) as Array<Buffer | number | null>;
    const version = Number(reply[0]);
    if (version === 0 && held.version === 0 && options.seed) return seeded(id);
    if (version <= held.version) {
      // A walk on the version held that changed nothing: its time, so this replica need not walk again soon.
      const syncedAtMs = Number(String(reply[1] ?? '0'));
      if (version !== held.version || syncedAtMs === 0 || String(reply[3] ?? '') !== held.lineage) return undefined;
      return { kind: 'deltas', deltas: [], version, lineage: held.lineage, walkedAtMs: Number(String(reply[2])), syncedAtMs };
    }
    if (reply.length < 7) return undefined;
    const lineage = String(reply[1]);
    const walkedAtMs = Number(String(reply[2]));
    const idleSyncedAtMs = Number(String(reply[3]));
    const idle = idleSyncedAtMs > 0 ? { syncedAtMs: idleSyncedAtMs, walkedAtMs: Math.max(walkedAtMs, Number(String(reply[4]))) } : { walkedAtMs };
    const whole = reply[5];
    const sum = reply[6];
    const parsed = await Promise.all(reply.slice(7).map(async (raw) => snapshotDeltaSchema.parse(await json(raw as Buffer))));
    if (whole === null || whole === undefined || typeof whole === 'number') {
      if (held.version === 0) return undefined; // removed: no data, only its version stays
      return { kind: 'deltas', deltas: parsed, version, lineage, ...idle };
    }
    let data: SnapshotData;
    try {
      data = await decode(id, whole, sum as Buffer | null);
    } catch (error) {
      // Not whole, or not a snapshot this service wrote: as if there were none. The walk that follows publishes over
      // it; a replica serving a snapshot keeps serving it meanwhile, and one without serves 503, never an empty feed.
      options.logger.warn({ integration: id, err: error }, 'ignored an unreadable shared snapshot; walking instead');
      return undefined;
    }
    return { kind: 'whole', data, deltas: parsed, version, lineage, ...idle };
  }

  /** An embedded install's snapshot, written to Redis as version 1 (unless a replica was first). */
  async function seeded(id: string): Promise<SharedUpdate | undefined> {
    const data = await options.seed!.load(id).catch(() => undefined);
    if (data === undefined) return undefined;
    await putBack(id, { data, version: 1 }, 0);
    return newer(id, { version: 0.5, lineage: '' });
  }

  async function putBack(id: string, snapshot: { data: SnapshotData; version: number }, token: number): Promise<void> {
    const { snap, fence, lease, deltas, earlierDeltas } = keys(id);
    const data = await encode(snapshot.data);
    await hub.script('put back a snapshot', PUT_BACK_LUA, snapshotField(id), [snap, fence, lease, deltas, earlierDeltas], [
      snapshot.version,
      data,
      snapshot.data.syncedAtMs,
      token,
      newLineage(),
      checksum(data),
    ]);
  }

  async function acquire(id: string, ask: { wait?: boolean } = {}): Promise<LeaseAnswer> {
    const { lease, fence, snap } = keys(id);
    const reply = (await hub.script('take a walk lease', ACQUIRE_LUA, snapshotField(id), [lease, fence, snap], [owner, leaseMs, ask.wait ? 1 : 0])) as Array<
      number | string
    >;
    const token = Number(reply[0]);
    const nowMs = Number(reply[1]);
    if (token === 0) return { lease: undefined, nowMs };
    granted.set(id, {
      atMs: Date.now(),
      version: Number(reply[2]),
      lineage: String(reply[3]),
      walkedAtMs: Number(reply[4]),
      idleSyncedAtMs: Number(reply[5]),
      idleWalkedAtMs: Number(reply[6]),
    });
    return { lease: holdLease({ hub, keys: keys(id), leaseMs, encode, newLineage }, id, `${owner}:${token}`, token, nowMs), nowMs };
  }

  const store: SnapshotStore = {
    async load(id) {
      const update = await newer(id, { version: 0, lineage: '' });
      if (update?.kind !== 'whole') return undefined;
      return update.deltas.reduce((snapshot, delta) => Snapshot.patched(snapshot, delta), Snapshot.fromData(update.data)).data;
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
      const { snap, fence, lease, deltas, earlierDeltas } = keys(id);
      await hub.script('delete a snapshot', DELETE_LUA, snapshotField(id), [snap, fence, lease, deltas, earlierDeltas], []);
      // What an embedded install left under DATA_DIR goes too: it would only ever seed this integration again.
      await options.seed?.delete(id);
    },
    list: () => listSnapshots(hub, options.seed),
  };

  return {
    store,
    coordinator: {
      leaseMs,
      acquire,
      newer,
      putBack: (id, snapshot) => putBack(id, snapshot, 0),
      async noteUnchanged(id, on, syncedAtMs) {
        const { snap } = keys(id);
        return Number(await hub.script('note a walk that changed nothing', NOTE_UNCHANGED_LUA, snapshotField(id), [snap], [on.version, on.lineage, syncedAtMs])) === 1;
      },
      shared: true,
    },
    heard: (notice) => remember(told, notice),
  };
}
