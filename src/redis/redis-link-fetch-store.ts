import type { LinkFetch, LinkFetchData, LinkFetchStore } from '../feeds/link-fetches.js';
import { NOTICE_LUA, type RedisHub } from './create-redis-hub.js';
import { ownTable } from '../storage/own-record.js';

// KEYS[3] the hash. ARGV[3...]: field, "atMs|client" pairs. A field is written only when newer than what is there, so
// replicas flushing at once keep each link's latest fetch whoever recorded it.
const SAVE_LUA = `${NOTICE_LUA}
for i = 3, #ARGV, 2 do
  local stored = redis.call('HGET', KEYS[3], ARGV[i])
  local storedAt = stored and tonumber(string.match(stored, '^(%d+)')) or -1
  local at = tonumber(string.match(ARGV[i + 1], '^(%d+)')) or 0
  if storedAt < at then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
return 1`;

/** Fields written per script call: bounded, so one flush of 200,000 links never blocks Redis for long. */
const BATCH = 1_000;
const CLIENTS = new Set(['google', 'outlook', 'apple', 'other']);

/**
 * Recorded link fetches in one Redis hash (`fetches`: integration "\n" email → "atMs|client"), shared by the replicas:
 * each writes only what changed since its last save, keeping the newest of each link's fetches, and reads everyone's.
 * A save never deletes (what one replica does not hold, another may have recorded); `forget` does, for a removed
 * integration.
 */
export function createRedisLinkFetchStore(hub: RedisHub): LinkFetchStore & { readonly shared: true } {
  const key = hub.key('fetches');
  /** What this replica last wrote or read, so a save sends only what changed. */
  let known = new Map<string, number>();
  return {
    shared: true,
    async load() {
      const all = await hub.run('read link fetches', () => hub.client.hgetall(key));
      const fetches = ownTable<Record<string, LinkFetch>>();
      const next = new Map<string, number>();
      for (const [field, value] of Object.entries(all)) {
        const split = field.indexOf('\n');
        const [at, client] = value.split('|');
        const atMs = Number(at);
        if (split <= 0 || !Number.isSafeInteger(atMs) || !CLIENTS.has(client ?? '')) continue;
        (fetches[field.slice(0, split)] ??= ownTable())[field.slice(split + 1)] = { atMs, client: client as LinkFetch['client'] };
        next.set(field, atMs);
      }
      known = next;
      return { format: 1, fetches };
    },
    async save(data: LinkFetchData) {
      const changed: string[] = [];
      for (const [integrationId, people] of Object.entries(data.fetches)) {
        for (const [email, fetch] of Object.entries(people)) {
          const field = `${integrationId}\n${email}`;
          if (known.get(field) !== fetch.atMs) changed.push(field, `${fetch.atMs}|${fetch.client}`);
        }
      }
      for (let at = 0; at < changed.length; at += 2 * BATCH) {
        const batch = changed.slice(at, at + 2 * BATCH);
        await hub.script('save link fetches', SAVE_LUA, 'fetches', [key], batch);
      }
      for (let at = 0; at < changed.length; at += 2) known.set(changed[at]!, Number(changed[at + 1]!.split('|')[0]));
    },
    async forget(integrationId) {
      const prefix = `${integrationId}\n`;
      let cursor = '0';
      do {
        // HSCAN's MATCH is a glob: the id is matched exactly, by prefix, here instead.
        const [next, flat] = await hub.run('find link fetches', () => hub.client.hscan(key, cursor, 'COUNT', BATCH));
        cursor = next;
        const fields = flat.filter((_, at) => at % 2 === 0).filter((field) => field.startsWith(prefix));
        if (fields.length > 0) await hub.run('drop link fetches', () => hub.client.hdel(key, ...fields));
      } while (cursor !== '0');
      for (const field of [...known.keys()]) if (field.startsWith(prefix)) known.delete(field);
    },
  };
}
