import type { z } from 'zod';
import { StoreConflictError } from '../storage/store-errors.js';
import { NOTICE_LUA, type RedisHub } from './create-redis-hub.js';

/** Largest document accepted from Redis (the registry, revocations): a few MB at their bounds. */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

/**
 * A small JSON document every replica reads and writes whole (the registry of integrations, the revoked links), kept
 * in one Redis hash {v, data}. Writes are compare-and-set on the version this replica last read or wrote, so two
 * replicas changing it at once never lose one change: the second gets {@link StoreConflictError}, reads again and
 * makes its change on what it finds. Each write publishes a change notice, so every replica reads the new version.
 */
export interface RedisDocumentStore<T> {
  /**
   * The document, or undefined when none was ever saved (then `seed`'s, if it has one: the files of an embedded
   * install moving to Redis). When Redis lost a document this replica read before, what this replica holds is put
   * back and returned: a restarted Redis never empties the registry or brings a revoked link back.
   */
  load(): Promise<T | undefined>;
  /** Saves `data` over the version last read or written here; throws {@link StoreConflictError} when another replaced it. */
  save(data: T): Promise<void>;
  /** Writes back what this replica holds, unless Redis has a newer version (Redis lost its data). */
  putBack(): Promise<void>;
  /** The version last read or written here (0: none). */
  version(): number;
  /** The field change notices about this document carry. */
  readonly field: string;
}

// KEYS[3] the document hash. ARGV[3] the version the writer read, ARGV[4] the JSON. -1: someone else wrote first.
const SAVE_LUA = `${NOTICE_LUA}
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0')
if v ~= tonumber(ARGV[3]) then return -1 end
v = v + 1
redis.call('HSET', KEYS[3], 'v', v, 'data', ARGV[4])
notice(v)
return v`;

// Puts a document back after Redis lost it: written only when absent or older. Returns the version now stored.
const PUT_BACK_LUA = `${NOTICE_LUA}
local v = tonumber(redis.call('HGET', KEYS[3], 'v') or '0')
if v >= tonumber(ARGV[3]) then return v end
redis.call('HSET', KEYS[3], 'v', ARGV[3], 'data', ARGV[4])
notice(ARGV[3])
return tonumber(ARGV[3])`;

/** A document in Redis that is there but cannot be used: start-up stops, a change is refused. */
export class RedisDocumentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisDocumentError';
  }
}

/** Creates the {@link RedisDocumentStore} `name` (its key: `doc:<name>` under the prefix). */
export function createRedisDocumentStore<T>(
  hub: RedisHub,
  name: string,
  schema: z.ZodType<T>,
  options: { seed?: () => Promise<T | undefined> } = {},
): RedisDocumentStore<T> {
  const key = hub.key(`doc:${name}`);
  const field = `doc:${name}`;
  let version = 0;
  let held: { data: T; json: string } | undefined;

  function parse(json: string): T {
    if (Buffer.byteLength(json) > MAX_DOCUMENT_BYTES) throw new RedisDocumentError(`${key} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (error) {
      throw new RedisDocumentError(`${key} is not JSON`, { cause: error });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new RedisDocumentError(`${key} is not a valid ${name} document: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  async function putBackHeld(): Promise<void> {
    if (!held || version === 0) return;
    const stored = Number(await hub.script(`put back ${name}`, PUT_BACK_LUA, field, [key], [version, held.json]));
    // Another replica put back a newer one first: read it on the next load.
    if (stored !== version) version = 0;
  }

  async function load(attempt: number): Promise<T | undefined> {
    const [v = null, json = null] = await hub.run(`read ${name}`, () => hub.client.hmget(key, 'v', 'data'));
    if (v === null || json === null) {
      if (held && version > 0 && attempt < 3) {
        await putBackHeld();
        return load(attempt + 1);
      }
      const seeded = await options.seed?.();
      if (seeded !== undefined) {
        const seedJson = JSON.stringify(seeded);
        const stored = Number(await hub.script(`seed ${name}`, PUT_BACK_LUA, field, [key], [1, seedJson]));
        if (stored !== 1) return load(attempt + 1);
        version = 1;
        held = { data: seeded, json: seedJson };
        return seeded;
      }
      version = 0;
      held = undefined;
      return undefined;
    }
    const data = parse(json);
    version = Number(v);
    held = { data, json };
    return data;
  }

  const store: RedisDocumentStore<T> = {
    field,
    version: () => version,
    load: () => load(0),
    async save(data) {
      const json = JSON.stringify(data);
      const stored = Number(await hub.script(`save ${name}`, SAVE_LUA, field, [key], [version, json]));
      if (stored < 0) throw new StoreConflictError(`${name} was changed by another replica`);
      version = stored;
      held = { data, json };
    },
    putBack: putBackHeld,
  };
  return store;
}
