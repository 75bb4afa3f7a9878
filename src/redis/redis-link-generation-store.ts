import {
  REVOCATIONS_CONFIRM_WINDOW_MS,
  applyGenerationChange,
  flattenGenerations,
  generationData,
  LinkGenerationError,
  type LinkGenerationChange,
  type LinkGenerationData,
  type LinkGenerationStore,
} from '../feeds/link-generations.js';
import { StoreConflictError } from '../storage/store-errors.js';
import { NOTICE_LUA, type RedisHub } from './create-redis-hub.js';

/**
 * Changes remembered for replicas that are behind: one a little behind reads the keys these changed, not the table;
 * one further behind (a long outage, a put-back) reads the table whole.
 */
export const LINK_CHANGE_LOG_LENGTH = 1_000;

// Replicas of two releases run side by side during a rolling deploy: these keys are new (the release before kept the
// revocations whole in `doc:links`, read here once as a seed), never a new reading of old ones.
// KEYS[3] the table: hash, field (the key, integration "\n" subject, as a JSON string, so any text round-trips) →
// generation. KEYS[4] the log: list, one entry per change, oldest first, the last for the current version; an entry
// is its fields, each as its length in bytes, ':', and the field. KEYS[5] the version: each change adds one.

// ARGV[3] the version the writer holds, ARGV[4...] field, generation ('' removes it) pairs. -1: another replica wrote
// first.
const WRITE_LUA = `${NOTICE_LUA}
local v = tonumber(redis.call('GET', KEYS[5]) or '0')
if v ~= tonumber(ARGV[3]) then return -1 end
local entry = {}
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[3], ARGV[i]) else redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
  entry[#entry + 1] = #ARGV[i] .. ':' .. ARGV[i]
end
v = v + 1
redis.call('SET', KEYS[5], v)
redis.call('RPUSH', KEYS[4], table.concat(entry))
redis.call('LTRIM', KEYS[4], -${LINK_CHANGE_LOG_LENGTH}, -1)
notice(v)
return v`;

// ARGV[3] the version the reader holds. {v}: nothing newer. {v, 1, field, generation or '', ...}: the fields changed
// since, with their generation now, when the log reaches back to the version held. {v, 0}: read the table whole.
const CHANGES_LUA = `${NOTICE_LUA}
local v = tonumber(redis.call('GET', KEYS[5]) or '0')
local held = tonumber(ARGV[3])
if v == held then return {v} end
local count = redis.call('LLEN', KEYS[4])
if held == 0 or v < held or v - held > count then return {v, 0} end
local reply = {v, 1}
local seen = {}
for _, entry in ipairs(redis.call('LRANGE', KEYS[4], count - (v - held), -1)) do
  local at = 1
  while at <= #entry do
    local colon = string.find(entry, ':', at, true)
    local length = tonumber(string.sub(entry, at, colon - 1))
    local field = string.sub(entry, colon + 1, colon + length)
    at = colon + length + 1
    if not seen[field] then
      seen[field] = true
      reply[#reply + 1] = field
      reply[#reply + 1] = redis.call('HGET', KEYS[3], field) or ''
    end
  end
end
return reply`;

// {v, {field, generation, ...}}: the table whole, with its version.
const LOAD_LUA = `${NOTICE_LUA}
return {tonumber(redis.call('GET', KEYS[5]) or '0'), redis.call('HGETALL', KEYS[3])}`;

// ARGV[3] the version, ARGV[4] 1 to write over any version (a whole save) or 0 to write only over an older one (a
// put-back after Redis lost its data, or a seed), ARGV[5] the version the writer holds (a whole save: -1 when another
// wrote first), ARGV[6...] key, generation pairs. The log empties: every replica reads the table whole. Returns the
// version now stored.
const REPLACE_LUA = `${NOTICE_LUA}
local v = tonumber(redis.call('GET', KEYS[5]) or '0')
local version = tonumber(ARGV[3])
if ARGV[4] == '1' then
  if v ~= tonumber(ARGV[5]) then return -1 end
  version = v + 1
elseif v >= version then
  return v
end
redis.call('DEL', KEYS[3], KEYS[4])
local batch = {}
for i = 6, #ARGV do
  batch[#batch + 1] = ARGV[i]
  if #batch == 1000 then
    redis.call('HSET', KEYS[3], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('HSET', KEYS[3], unpack(batch)) end
redis.call('SET', KEYS[5], version)
notice(version)
return version`;

/** A Redis store of link generations, with what the watch needs to follow it and put it back. */
export interface RedisLinkGenerationStore extends LinkGenerationStore {
  /** The field change notices about it carry. */
  readonly field: string;
  /** The version last read or written here (0: none). */
  version(): number;
  /** Writes back what this replica holds, unless Redis has a newer version (Redis lost its data). */
  putBack(): Promise<void>;
  confirmedAtMs(): number;
  confirm(): Promise<void>;
}

/** A key as a hash field: JSON, so every string comes back as it went in (a lone surrogate is not valid UTF-8). */
const fieldOf = (key: string) => JSON.stringify(key);

function pairs(table: ReadonlyMap<string, number>): string[] {
  const flat: string[] = [];
  for (const [key, generation] of table) flat.push(fieldOf(key), String(generation));
  return flat;
}

/** A field and its value read back: the key and its generation (undefined: removed), or an error naming what is wrong. */
function entryOf(field: string, raw: string): [string, number | null] {
  let key: unknown;
  try {
    key = JSON.parse(field);
  } catch {
    key = undefined;
  }
  const generation = raw === '' ? null : Number(raw);
  if (typeof key !== 'string' || !key.includes('\n') || (generation !== null && (!Number.isSafeInteger(generation) || generation < 1))) {
    throw new LinkGenerationError(`a revoked link stored in Redis is not one (field ${JSON.stringify(field.slice(0, 200))})`);
  }
  return [key, generation];
}

/**
 * Link generations in Redis, one hash field per (integration, subject), shared by the replicas: a revocation writes its
 * one field (compare-and-set on the table's version, so two replicas changing it at once lose neither change), and a
 * replica told of it reads the fields that changed, not the table. Seeded once from `seed` (the document the release
 * before kept, or DATA_DIR). Every second the version is read, so the replica knows its revocations are all there
 * (`confirmedAtMs`), and one that fell behind without a notice catches up.
 */
export function createRedisLinkGenerationStore(hub: RedisHub, options: { seed?: () => Promise<LinkGenerationData | undefined> } = {}): RedisLinkGenerationStore {
  const keys = [hub.key('links:gen'), hub.key('links:log'), hub.key('links:v')];
  const field = 'links';
  let version = 0;
  /** What this replica holds, as last read or written: put back when Redis lost it. */
  let held: Map<string, number> | undefined;
  let confirmedAtMs = 0;

  const script = (what: string, lua: string, args: ReadonlyArray<string | number>) => hub.script(what, lua, field, keys, args);

  async function replace(table: ReadonlyMap<string, number>, at: number, mode: 'save' | 'put back'): Promise<number> {
    return Number(await script(`${mode} revoked links`, REPLACE_LUA, [at, mode === 'save' ? 1 : 0, version, ...pairs(table)]));
  }

  async function putBack(): Promise<void> {
    if (!held || version === 0) return;
    // Usually another replica put it back first: then the table need not be sent at all.
    if (Number((await hub.run('read the revoked links version', () => hub.client.get(keys[2]!))) ?? 0) >= version) return;
    const stored = await replace(held, version, 'put back');
    // Another replica put back a newer one first: read it whole next time.
    if (stored !== version) version = 0;
  }

  async function loadTable(attempt = 0): Promise<Map<string, number> | undefined> {
    const sentAtMs = Date.now();
    const [stored, flat] = (await script('read revoked links', LOAD_LUA, [])) as [number, string[]];
    if (stored === 0) {
      // Redis lost what it held: put back what this replica holds.
      if (held && version > 0 && attempt < 3) {
        await putBack();
        return loadTable(attempt + 1);
      }
      const seeded = await options.seed?.();
      if (seeded !== undefined && attempt < 3) {
        await replace(flattenGenerations(seeded), 1, 'put back');
        return loadTable(attempt + 1);
      }
    }
    const table = new Map<string, number>();
    for (let at = 0; at < flat.length; at += 2) {
      const [key, generation] = entryOf(flat[at]!, flat[at + 1]!);
      if (generation !== null) table.set(key, generation);
    }
    version = Number(stored);
    held = table;
    confirmedAtMs = sentAtMs;
    return stored === 0 ? undefined : new Map(table);
  }

  async function changes(): Promise<LinkGenerationChange | undefined> {
    const sentAtMs = Date.now();
    const reply = (await script('read revoked links changed', CHANGES_LUA, [version])) as Array<string | number>;
    const stored = Number(reply[0]);
    if (stored < version && held) {
      // Redis lost what it held (or a put-back is under way): what this replica holds goes back first.
      await putBack();
      return undefined;
    }
    if (reply.length === 1) {
      confirmedAtMs = sentAtMs;
      return new Map();
    }
    if (Number(reply[1]) !== 1 || !held) return undefined;
    const change = new Map<string, number | null>();
    for (let at = 2; at < reply.length; at += 2) change.set(...entryOf(String(reply[at]), String(reply[at + 1])));
    applyGenerationChange(held, change);
    version = stored;
    confirmedAtMs = sentAtMs;
    return change;
  }

  // Is the version held here the one in Redis? Then every revocation made anywhere before that read is held here. If
  // not, a notice was lost or is on its way: the watch's next check hands it over again. Asked every second while feeds
  // are asked for (each asks whether the revocations are confirmed), and not at all while none is: an idle replica
  // costs Redis nothing for it, and the first feed after a quiet spell waits for one read (see `confirm`).
  let probing: Promise<void> | undefined;
  let wantedAtMs = 0;
  function probe(): Promise<void> {
    if (held === undefined) return Promise.resolve();
    const sentAtMs = Date.now();
    return (probing ??= hub
      .run('read the revoked links version', () => hub.client.get(keys[2]!))
      .then((stored) => {
        if (Number(stored ?? 0) === version) confirmedAtMs = Math.max(confirmedAtMs, sentAtMs);
        else hub.retry(field);
      })
      .catch(() => {}) // Redis away: not confirmed, which is the point
      .finally(() => (probing = undefined)));
  }
  hub.onTick(() => {
    if (Date.now() - wantedAtMs < REVOCATIONS_CONFIRM_WINDOW_MS) void probe();
  });

  return {
    field,
    version: () => version,
    confirmedAtMs() {
      wantedAtMs = Date.now();
      return confirmedAtMs;
    },
    confirm: probe,
    putBack,
    async load() {
      const table = await loadTable();
      return table === undefined ? undefined : generationData(table);
    },
    loadTable: () => loadTable(),
    changes,
    async save(data) {
      const table = flattenGenerations(data);
      const stored = await replace(table, 0, 'save');
      if (stored < 0) throw new StoreConflictError('revoked links were changed by another replica');
      version = stored;
      held = table;
    },
    async write(change) {
      const table = held ?? (await loadTable(), held!);
      const flat: string[] = [];
      for (const [key, generation] of change) flat.push(fieldOf(key), generation === null ? '' : String(generation));
      const sentAtMs = Date.now();
      const stored = Number(await script('revoke a link', WRITE_LUA, [version, ...flat]));
      if (stored < 0) throw new StoreConflictError('revoked links were changed by another replica');
      applyGenerationChange(table, change);
      version = stored;
      confirmedAtMs = sentAtMs;
    },
  };
}
