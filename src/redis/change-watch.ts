import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** A versioned thing in Redis changed: `field` names it (`doc:registry`, `snap:<integration>`), `version` is its new one. */
export interface ChangeNotice {
  readonly field: string;
  readonly version: number;
}

/**
 * How a replica learns what changed in Redis and whether Redis lost its data: change notices from pub/sub, and a
 * check of the change counter (after a reconnect, a failed read, when asked for health, and every half minute) (and, when it moved, of every version) that heals a lost notice and
 * finds an emptied Redis by its incarnation key.
 */
export interface ChangeWatch {
  onNotice(listener: (notice: ChangeNotice) => void): void;
  onLost(listener: () => Promise<void>): void;
  /** A notice about `field` could not be acted on (a read failed): the next check gives it again. */
  retry(field: string): void;
  /** A message from the change channel: `field` "\n" `version`. */
  message(text: string): void;
  /** Reads the counter (and, when it moved, every version); puts data back when Redis lost it. */
  check(): Promise<void>;
  /** Notices may have been missed (a reconnect): the next check gives every field again. */
  forget(): void;
  /** Names the incarnation of Redis's data, or takes the one another replica named (start-up). */
  begin(run: <T>(what: string, command: () => Promise<T>) => Promise<T>): Promise<void>;
  /** False while the check finds Redis connected but not answering in time. */
  answering(): boolean;
  /** Waits for a put-back under way (shutdown). */
  settle(): Promise<void>;
}

/** What a {@link ChangeWatch} reads and whom it tells. */
export interface ChangeWatchOptions {
  client: Redis;
  versionsKey: string;
  epochKey: string;
  incarnationKey: string;
  log: Logger;
  /** Whether to check at all: connected and not closed. */
  live(): boolean;
  /** The check stopped getting answers (false), or gets them again (true). */
  onAnswering(answering: boolean): void;
}

/** Creates a {@link ChangeWatch}; nothing is read until `check`. */
export function createChangeWatch(options: ChangeWatchOptions): ChangeWatch {
  const { client, log } = options;
  const noticeListeners: Array<(notice: ChangeNotice) => void> = [];
  const lostListeners: Array<() => Promise<void>> = [];
  /** The incarnation of Redis's data this replica last saw: a different or missing one means Redis lost it. */
  let incarnation: string | undefined;
  let lastEpoch: string | null = null;
  let lastVersions = new Map<string, number>();
  let puttingBack: Promise<void> | undefined;
  /** The check failed: Redis is connected but does not answer in time (hung, overloaded, paused). */
  let unanswering = false;

  function dispatch(notice: ChangeNotice): void {
    for (const listener of noticeListeners) {
      try {
        listener(notice);
      } catch (error) {
        log.error({ err: error, field: notice.field }, 'a change notice failed');
      }
    }
  }

  function forget(): void {
    lastEpoch = null;
    lastVersions = new Map();
  }

  async function check(): Promise<void> {
    if (!options.live()) return;
    try {
      const [epoch = null, seen = null] = await client.mget(options.epochKey, options.incarnationKey);
      if (unanswering) {
        unanswering = false;
        log.info('Redis answers again');
        options.onAnswering(true);
      }
      if (incarnation !== undefined && seen !== incarnation) {
        await putBack(seen);
        return;
      }
      if (epoch === lastEpoch) return;
      lastEpoch = epoch;
      const versions = await client.hgetall(options.versionsKey);
      const next = new Map<string, number>();
      for (const [field, raw] of Object.entries(versions)) {
        const version = Number(raw);
        if (!Number.isSafeInteger(version)) continue;
        next.set(field, version);
        if (lastVersions.get(field) !== version) dispatch({ field, version });
      }
      lastVersions = next;
    } catch (error) {
      if (!unanswering && options.live()) {
        unanswering = true;
        log.error({ reason: error instanceof Error ? error.message : String(error) }, 'Redis does not answer: feeds serve on from memory, walks wait for it');
        options.onAnswering(false);
      }
    }
  }

  /** Redis lost our data (or another replica already began putting it back): put back what we hold. */
  function putBack(seen: string | null): Promise<void> {
    return (puttingBack ??= (async () => {
      log.warn({ hadIncarnation: incarnation, found: seen }, 'Redis lost the shared state (restarted empty?): putting back what this replica holds');
      try {
        // Whoever comes first names the new incarnation; the others adopt it and put back too (every put-back keeps the
        // newer of what is there and what it brings, so the order does not matter).
        await client.set(options.incarnationKey, randomBytes(8).toString('hex'), 'NX');
        for (const listener of lostListeners) await listener();
        incarnation = (await client.get(options.incarnationKey)) ?? undefined;
        forget();
        log.info('put back the shared state this replica holds');
      } catch (error) {
        log.error({ err: error }, 'could not put the shared state back; trying again shortly');
      }
    })().finally(() => (puttingBack = undefined)));
  }

  return {
    onNotice: (listener) => void noticeListeners.push(listener),
    onLost: (listener) => void lostListeners.push(listener),
    retry(field) {
      lastVersions.delete(field);
      lastEpoch = null;
    },
    message(text) {
      const split = text.lastIndexOf('\n');
      const version = Number(text.slice(split + 1));
      if (split <= 0 || !Number.isSafeInteger(version)) return;
      dispatch({ field: text.slice(0, split), version });
    },
    check,
    forget,
    async begin(run) {
      await run('incarnation', () => client.set(options.incarnationKey, randomBytes(8).toString('hex'), 'NX'));
      incarnation = (await run('incarnation', () => client.get(options.incarnationKey))) ?? undefined;
    },
    answering: () => !unanswering,
    settle: async () => void (await puttingBack?.catch(() => {})),
  };
}
