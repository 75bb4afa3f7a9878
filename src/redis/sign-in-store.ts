import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SignInStoreError } from '../storage/store-errors.js';

/** The Redis a replica shares its sign-in state through; `key` adds the deployment's prefix (REDIS_KEY_PREFIX). */
export interface SignInRedis {
  client: Redis;
  key: (name: string) => string;
}

/** One bounded list of entries: an index past `max` loses its oldest entries, values and all. */
export interface SignInIndex {
  name: string;
  max: number;
}

/** Values that expire, each listed in a few bounded indexes, in Redis; every failure is a {@link SignInStoreError}. */
export interface SignInStore {
  /** Stores `value` as entry `id` for `ttlMs` and lists it in `indexes`, each first trimmed of the expired, then of its oldest. */
  put(id: string, value: string, ttlMs: number, nowMs: number, indexes: readonly SignInIndex[]): Promise<void>;
  get(id: string): Promise<string | null>;
  /** Reads and deletes entry `id` at once (a second take gets null), and unlists it from `indexes`. */
  take(id: string, indexes: readonly string[]): Promise<string | null>;
}

/** The name of the entry a secret (a cookie value, an OIDC state) is stored under: its SHA-256, never itself. */
export const entryId = (secret: string) => hash('sha256', secret, 'hex');

// Each index is a sorted set of entry ids scored by expiry: creation order, as every entry of a kind lives as long,
// to the millisecond (Redis orders entries of one millisecond by id; no one signs in twice in a millisecond).
// One script, so no replica sees an entry stored and not yet listed, and no index outgrows its bound.
// KEYS: the entry, then its indexes; ARGV: value, ttl, now, entry id, the prefix of entry keys, one max per index.
const PUT = `
local value, ttl, now, id, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
for i = 2, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local over = redis.call('ZCARD', KEYS[i]) - tonumber(ARGV[4 + i]) + 1
  if over > 0 then
    for _, old in ipairs(redis.call('ZRANGE', KEYS[i], 0, over - 1)) do
      redis.call('DEL', prefix .. old)
      for j = 2, #KEYS do redis.call('ZREM', KEYS[j], old) end
    end
  end
end
redis.call('SET', KEYS[1], value, 'PX', ttl)
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, id)
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
`;

// KEYS: the entry, then its indexes; ARGV: the entry id.
const TAKE = `
local value = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return value
`;

/** Creates the store of one kind of entry (`kind`: sessions, OIDC sign-ins), keyed `{prefix}{kind}:{id}`. */
export function createSignInStore(redis: SignInRedis, kind: string): SignInStore {
  const entryKey = (id: string) => redis.key(`${kind}:${id}`);
  // The client is built with no offline queue and a command timeout, so an unreachable Redis fails here fast.
  const attempt = <T>(command: () => Promise<T>) =>
    command().catch((cause: unknown) => {
      throw new SignInStoreError({ cause });
    });

  return {
    async put(id, value, ttlMs, nowMs, indexes) {
      const keys = [entryKey(id), ...indexes.map((index) => redis.key(index.name))];
      // key() prepends the deployment's prefix, so the key of an entry the script drops is this prefix and its id.
      const args = [value, String(ttlMs), String(nowMs), id, entryKey(''), ...indexes.map((index) => String(index.max))];
      await attempt(() => redis.client.eval(PUT, keys.length, ...keys, ...args));
    },
    get: (id) => attempt(() => redis.client.get(entryKey(id))),
    take: (id, indexes) =>
      attempt(async () => {
        const keys = [entryKey(id), ...indexes.map((index) => redis.key(index))];
        return (await redis.client.eval(TAKE, keys.length, ...keys, id)) as string | null;
      }),
  };
}
