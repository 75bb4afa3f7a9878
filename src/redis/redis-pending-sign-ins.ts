import {
  OIDC_PENDING_LOGINS_MAX,
  OIDC_PENDING_LOGINS_PER_CLIENT,
  pendingSignInSchema,
  type PendingSignInBounds,
  type PendingSignIns,
} from '../state/pending-sign-ins.js';
import { SignInStoreError } from '../storage/store-errors.js';
import { entryId, type SignInRedis } from './sign-in-store.js';

/** Redis's list of the sign-ins in progress, oldest first: what holds them to `max`. */
const PENDING_INDEX = 'oidc-logins';

// The keys of one deployment's sign-ins in progress, beside each entry `oidc-login:{id}` (the SHA-256 of its state):
//   oidc-logins             sorted set: every entry id, scored by its expiry (so oldest first)
//   oidc-logins:owner       hash: entry id -> the client address that started it
//   oidc-logins:holders     sorted set: client address -> how many entries it holds
//   oidc-logins:by:{client} sorted set: that client's entry ids, scored by expiry
// Each step is one script, so no replica sees an entry half listed, and the bounds hold across replicas.
const DROP = `
local function drop(old)
  local owner = redis.call('HGET', KEYS[3], old)
  redis.call('DEL', ARGV[5] .. old)
  redis.call('ZREM', KEYS[2], old)
  redis.call('HDEL', KEYS[3], old)
  if owner then
    redis.call('ZREM', ARGV[6] .. owner, old)
    if tonumber(redis.call('ZINCRBY', KEYS[4], -1, owner)) <= 0 then redis.call('ZREM', KEYS[4], owner) end
  end
end
`;

// Holds one entry: the expired dropped first, then the client's own oldest past its bound, then, while every place is
// taken, the oldest of the client holding the most (this client's own when it holds as many), so no client pushes out
// the sign-ins of one holding fewer. An entry listed without an owner (written before owners were kept) goes oldest
// first. KEYS: the entry, the index, owners, holders; ARGV: value, ttl, now, id, entry prefix, client-index prefix,
// client, max, per-client max (0: none).
const HOLD = `${DROP}
local value, ttl, now, id, client = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[7]
local max, perClient = tonumber(ARGV[8]), tonumber(ARGV[9])
local mine = ARGV[6] .. client
drop(id)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do drop(old) end
if perClient > 0 then
  local over = redis.call('ZCARD', mine) - perClient + 1
  if over > 0 then for _, old in ipairs(redis.call('ZRANGE', mine, 0, over - 1)) do drop(old) end end
end
while redis.call('ZCARD', KEYS[2]) >= max do
  local victim = client
  local held = tonumber(redis.call('ZSCORE', KEYS[4], client) or '0')
  local top = redis.call('ZREVRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if top[1] and tonumber(top[2]) > held then victim = top[1] end
  local oldest = redis.call('ZRANGE', ARGV[6] .. victim, 0, 0)[1]
  if oldest then
    redis.call('ZREM', ARGV[6] .. victim, oldest)
  else
    redis.call('ZREM', KEYS[4], victim)
    oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  end
  drop(oldest)
end
redis.call('SET', KEYS[1], value, 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, id)
redis.call('HSET', KEYS[3], id, client)
redis.call('ZINCRBY', KEYS[4], 1, client)
redis.call('ZADD', mine, now + ttl, id)
for _, key in ipairs({KEYS[2], KEYS[3], KEYS[4], mine}) do
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
`;

// Reads and drops one entry at once: a second take finds nothing. KEYS: the entry, the index, owners, holders;
// ARGV: -, -, -, id, entry prefix, client-index prefix.
const TAKE = `${DROP}
local value = redis.call('GET', KEYS[1])
drop(ARGV[4])
return value
`;

/**
 * The sign-ins in progress in Redis, so one started on one replica finishes on any: one key per state (named by its
 * SHA-256), expiring with the sign-in, taken once; bounded per client address and in all as PendingSignIns says.
 */
export function createRedisPendingSignIns(options: { redis: SignInRedis } & PendingSignInBounds): PendingSignIns {
  const { redis } = options;
  const max = options.max ?? OIDC_PENDING_LOGINS_MAX;
  const perClient = options.perClient ?? OIDC_PENDING_LOGINS_PER_CLIENT;
  const keys = (id: string) => [redis.key(`oidc-login:${id}`), redis.key(PENDING_INDEX), redis.key(`${PENDING_INDEX}:owner`), redis.key(`${PENDING_INDEX}:holders`)];
  const prefixes = [redis.key('oidc-login:'), redis.key(`${PENDING_INDEX}:by:`)];
  // The client is built with no offline queue and a command timeout, so an unreachable Redis fails here fast.
  const run = (script: string, id: string, args: string[]) =>
    redis.client.eval(script, 4, ...keys(id), ...args).catch((cause: unknown) => {
      throw new SignInStoreError({ cause });
    });

  return {
    async hold(state, login, nowMs, client) {
      const id = entryId(state);
      // Without an address: one bucket of its own, bounded only in all (the empty name is no address).
      const args = [JSON.stringify(login), String(Math.max(1, login.expiresAtMs - nowMs)), String(nowMs), id, ...prefixes, client ?? '', String(max), client === undefined ? '0' : String(perClient)];
      await run(HOLD, id, args);
    },
    async take(state) {
      const id = entryId(state);
      const value = (await run(TAKE, id, ['', '', '', id, ...prefixes])) as string | null;
      if (value === null) return undefined;
      try {
        const parsed = pendingSignInSchema.safeParse(JSON.parse(value));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined; // not written by this code: no sign-in to finish
      }
    },
  };
}
