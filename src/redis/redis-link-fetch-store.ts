import type { LinkFetch, LinkFetchData, LinkFetchStore } from '../feeds/link-fetches.js';
import { NOTICE_LUA, type RedisHub } from './create-redis-hub.js';

// KEYS[3] the hash. ARGV[3...]: field, "atMs|client" pairs. A field is written only when newer than what is there, so
// replicas flushing at once keep each link's latest fetch whoever recorded it.
const SAVE_LUA = `${NOTICE_LUA}
for i = 3, #ARGV, 2 do
  local stored = redis.call('HGET', KEYS[3], ARGV[i])
  local at = tonumber(string.match(ARGV[i + 1], '^(%d+)'))
  if stored == false or tonumber(string.match(stored, '^(%d+)')) < at then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
return 1`;

/** Fields written per script call: bounded, so one flush of 200,000 links never blocks Redis for long. */
const BATCH = 1_000;
const CLIENTS = new Set(['google', 'outlook', 'apple', 'other']);

/**
 * Recorded link fetches in one Redis hash (`fetches`: integration "\n" email → "atMs|client"), shared by the replicas:
 * each writes only what changed since its last save, keeping the newest of each link's fetches, and reads everyone's.
 */
export function createRedisLinkFetchStore(hub: RedisHub): LinkFetchStore & { readonly shared: true } {
  const key = hub.key('fetches');
  /** What this replica last wrote or read, so a save sends only what changed and deletes only what it dropped. */
  let known = new Map<string, number>();
  return {
    shared: true,
    async load() {
      const all = await hub.run('read link fetches', () => hub.client.hgetall(key));
      const fetches: Record<string, Record<string, LinkFetch>> = {};
      const next = new Map<string, number>();
      for (const [field, value] of Object.entries(all)) {
        const split = field.indexOf('\n');
        const [at, client] = value.split('|');
        const atMs = Number(at);
        if (split <= 0 || !Number.isSafeInteger(atMs) || !CLIENTS.has(client ?? '')) continue;
        (fetches[field.slice(0, split)] ??= {})[field.slice(split + 1)] = { atMs, client: client as LinkFetch['client'] };
        next.set(field, atMs);
      }
      known = next;
      return { format: 1, fetches };
    },
    async save(data: LinkFetchData) {
      const changed: string[] = [];
      const present = new Set<string>();
      for (const [integrationId, people] of Object.entries(data.fetches)) {
        for (const [email, fetch] of Object.entries(people)) {
          const field = `${integrationId}\n${email}`;
          present.add(field);
          if (known.get(field) !== fetch.atMs) changed.push(field, `${fetch.atMs}|${fetch.client}`);
        }
      }
      // Dropped here (a removed integration's): gone for every replica.
      const dropped = [...known.keys()].filter((field) => !present.has(field));
      for (let at = 0; at < changed.length; at += 2 * BATCH) {
        const batch = changed.slice(at, at + 2 * BATCH);
        await hub.script('save link fetches', SAVE_LUA, 'fetches', [key], batch);
      }
      for (let at = 0; at < dropped.length; at += BATCH) {
        const batch = dropped.slice(at, at + BATCH);
        await hub.run('drop link fetches', () => hub.client.hdel(key, ...batch));
      }
      for (let at = 0; at < changed.length; at += 2) known.set(changed[at]!, Number(changed[at + 1]!.split('|')[0]));
      for (const field of dropped) known.delete(field);
    },
  };
}
