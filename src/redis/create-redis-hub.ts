import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config.js';
import { redactRedisUrl } from '../config.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { createChangeWatch, type ChangeNotice, type ChangeWatch } from './change-watch.js';

/**
 * How often each replica reads the change counter when nothing else asks it to: a safety net only. Notices travel by
 * pub/sub, which loses a message only with the connection; a reconnect of either connection, and a notice that could
 * not be acted on, make a check at once (or within {@link RETRY_CHECK_MS}), so an idle replica costs Redis one read
 * every half minute, not one a second.
 */
export const CHANGE_POLL_INTERVAL_MS = 30_000;
/** A notice that could not be acted on (a read failed) is given again this soon. */
export const RETRY_CHECK_MS = 1_000;
/** How often the tick listeners run (each decides whether it has anything to ask Redis). */
export const TICK_INTERVAL_MS = 1_000;
/** Reconnect backoff: the first retry after 50 ms, doubling to this. */
export const RECONNECT_MAX_DELAY_MS = 2_000;

/**
 * The first line of a message on the change channel that tells of a walk that changed nothing (see RELEASE_LUA in
 * redis-snapshots.ts): no version moved, so it is no {@link ChangeNotice} and nobody reads anything for it.
 */
export const WALKED_MESSAGE = 'walked';

/** A walker walked the snapshot of `field` at `version` (of `lineage`) and found nothing new. */
export interface WalkedNotice {
  readonly field: string;
  readonly version: number;
  readonly lineage: string;
  readonly syncedAtMs: number;
  /** When its lease was granted, by Redis's clock. */
  readonly walkedAtMs: number;
}

/** A {@link WALKED_MESSAGE} read back; undefined when it is not one (or not whole). */
export function parseWalkedMessage(text: string): WalkedNotice | undefined {
  const lines = text.split('\n');
  if (lines.length < 6 || lines[0] !== WALKED_MESSAGE) return undefined;
  const [version, syncedAtMs, walkedAtMs] = [Number(lines[1]), Number(lines[3]), Number(lines[4])];
  if (![version, syncedAtMs, walkedAtMs].every(Number.isSafeInteger)) return undefined;
  // The field last: whatever it holds (an integration id may hold a line break) is kept whole.
  return { version, lineage: lines[2]!, syncedAtMs, walkedAtMs, field: lines.slice(5).join('\n') };
}

/** Where Redis stands, as /healthz shows it. */
export interface RedisHealth {
  readonly status: 'up' | 'down';
  /** When it last changed state (ISO 8601). */
  readonly since: string;
}

/**
 * One Redis for the replicas: a command connection, a subscriber for change notices, and the watch that heals what a
 * notice missed. Every versioned write (see `noticeScript`) bumps a per-field version in one hash, a counter, and
 * publishes; a replica reads the counter (and, when it moved, every version) after either connection reconnects, a
 * second after a notice it could not act on, and every half minute besides, so a lost message costs a stale feed
 * for at most that long, and an idle replica next to nothing.
 */
export interface RedisHub {
  readonly client: Redis;
  /** `name` under the deployment's REDIS_KEY_PREFIX. */
  key(name: string): string;
  /** The channel change notices go out on. */
  readonly channel: string;
  /** The key of the hash of every field's version. */
  readonly versionsKey: string;
  /** The key of the counter every versioned write bumps. */
  readonly epochKey: string;
  /** Whether the command connection is ready now. */
  up(): boolean;
  health(): RedisHealth;
  /** Waits until Redis answers (start-up); throws {@link StoreUnavailableError} after `timeoutMs`. */
  connect(timeoutMs: number): Promise<void>;
  /** Called with every change notice, from pub/sub or from a check (so possibly twice). */
  onNotice(listener: (notice: ChangeNotice) => void): void;
  /** Called with every {@link WalkedNotice}, from pub/sub only (a lost one costs a read or a walk later, nothing else). */
  onWalked(listener: (notice: WalkedNotice) => void): void;
  /** A notice about `field` could not be acted on (a read failed): a check within {@link RETRY_CHECK_MS} gives it again. */
  retry(field: string): void;
  /** Called when Redis answers again after it did not. */
  onUp(listener: () => void): void;
  /** Called every {@link TICK_INTERVAL_MS} once connected, until closed. */
  onTick(listener: () => void): void;
  /**
   * Called when Redis is found to have lost what the replicas wrote (restarted without persistence): each listener
   * puts back what this replica holds. Listeners run one after another, and never twice at once.
   */
  onLost(listener: () => Promise<void>): void;
  /** Runs a command, turning a connection failure or a timeout into {@link StoreUnavailableError}. */
  run<T>(what: string, command: () => Promise<T>): Promise<T>;
  /**
   * Runs a Lua script that starts with {@link NOTICE_LUA} about `field`: `keys` become KEYS[3...], `args` ARGV[3...].
   */
  script(what: string, lua: string, field: string, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown>;
  close(): Promise<void>;
}

/** The options both connections share: fail fast while disconnected, reconnect with backoff, bound every command. */
function clientOptions(config: RedisConfig, name: string) {
  return {
    lazyConnect: true,
    connectionName: name,
    // A command issued while disconnected fails at once instead of queueing: a walk or a revocation learns that Redis
    // is away now, not after an unbounded queue drains.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.timeoutMs,
    connectTimeout: Math.max(config.timeoutMs, 1_000),
    retryStrategy: (times: number) => Math.min(RECONNECT_MAX_DELAY_MS, 50 * 2 ** Math.min(times - 1, 6)),
  };
}

/**
 * The checks a replica makes besides the half-minute one: `soon`, one within {@link RETRY_CHECK_MS} however often
 * asked meanwhile (a notice not acted on, a resubscribe); `asked`, when somebody wants to know whether Redis answers
 * (/healthz, a metrics scrape), at most once a second, rather than every second whether anybody asks or not.
 */
function scheduleChecks(watch: ChangeWatch, live: () => boolean): { soon(): void; asked(): void; stop(): void } {
  let pending: NodeJS.Timeout | undefined;
  let askedAtMs = 0;
  let stopped = false;
  return {
    soon() {
      if (pending !== undefined || stopped) return;
      pending = setTimeout(() => {
        pending = undefined;
        void watch.check();
      }, RETRY_CHECK_MS);
      pending.unref();
    },
    asked() {
      if (!live() || stopped || Date.now() - askedAtMs < TICK_INTERVAL_MS) return;
      askedAtMs = Date.now();
      void watch.check();
    },
    stop() {
      stopped = true;
      clearTimeout(pending);
    },
  };
}

/** A message on the change channel: a walk that changed nothing goes to `walked`, anything else to the watch. */
function routeMessage(message: string, watch: ChangeWatch, walked: ReadonlyArray<(notice: WalkedNotice) => void>, log: Logger): void {
  const notice = message.startsWith(`${WALKED_MESSAGE}\n`) ? parseWalkedMessage(message) : undefined;
  if (notice === undefined) return watch.message(message);
  for (const listener of walked) {
    try {
      listener(notice);
    } catch (error) {
      log.error({ err: error, field: notice.field }, 'a walked notice failed');
    }
  }
}

/** Creates a {@link RedisHub}; nothing connects until `connect`. */
export function createRedisHub(config: RedisConfig, logger: Logger): RedisHub {
  const prefix = config.keyPrefix;
  const key = (name: string) => `${prefix}${name}`;
  const channel = key('changes');
  const versionsKey = key('versions');
  const epochKey = key('epoch');
  const log = logger.child({ redis: redactRedisUrl(config.url) });
  const client = new Redis(config.url, clientOptions(config, 'interview-feeds'));
  const subscriber = new Redis(config.url, clientOptions(config, 'interview-feeds-subscriber'));
  const upListeners: Array<() => void> = [];
  const tickListeners: Array<() => void> = [];
  const walkedListeners: Array<(notice: WalkedNotice) => void> = [];
  let isUp = false;
  let sinceMs = Date.now();
  let everUp = false;
  let closed = false;
  let [poll, tick]: Array<NodeJS.Timeout | undefined> = [];
  let lastError = '';
  const watch = createChangeWatch({
    client,
    versionsKey,
    epochKey,
    incarnationKey: key('incarnation'),
    log,
    live: () => isUp && !closed,
    onAnswering(answering) {
      sinceMs = Date.now();
      if (answering) for (const listener of upListeners) listener();
    },
  });
  const checks = scheduleChecks(watch, () => isUp && !closed);

  // ioredis emits 'error' on every failed connection attempt: without a listener each would be an uncaught exception.
  // One line per outage and per distinct error, not one per retry.
  for (const [connection, role] of [[client, 'commands'], [subscriber, 'notices']] as const) {
    connection.on('error', (error: Error) => {
      if (closed || error.message === lastError) return;
      lastError = error.message;
      log.warn({ connection: role, reason: error.message }, 'Redis error; reconnecting with backoff');
    });
  }
  client.on('ready', () => {
    lastError = '';
    if (isUp) return;
    isUp = true;
    // Notices may have been missed while away: the next check gives every field again.
    watch.forget();
    sinceMs = Date.now();
    if (everUp) {
      log.info('Redis is back');
      for (const listener of upListeners) listener();
      void watch.check();
    }
    everUp = true;
  });
  client.on('close', () => {
    if (!isUp || closed) return;
    isUp = false;
    sinceMs = Date.now();
    log.error('Redis is unreachable: feeds serve on from memory, walks wait for it');
  });
  subscriber.on('message', (_channel: string, message: string) => routeMessage(message, watch, walkedListeners, log));
  // Notices published while the subscriber was away are lost: read what they would have said once it is back.
  let subscribedOnce = false;
  subscriber.on('ready', () => {
    if (!subscribedOnce || closed) return;
    watch.forget();
    void watch.check();
    // Once more after the channel is subscribed again (ioredis does that after 'ready'): nothing falls in between.
    checks.soon();
  });

  async function run<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      // A Lua error or a wrong reply is a bug of ours, not an outage: it stays what it is.
      if (error instanceof Error && /^(ERR|WRONGTYPE|NOSCRIPT)/.test(error.message)) throw error;
      throw new StoreUnavailableError(`Redis unavailable (${what}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async function connect(timeoutMs: number): Promise<void> {
    const ready = (connection: Redis) =>
      connection.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => connection.once('ready', () => resolve()));
    // The first attempt may fail (Redis starting alongside us): ioredis keeps retrying with backoff until the deadline.
    client.connect().catch(() => {});
    subscriber.connect().catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`cannot reach Redis at ${redactRedisUrl(config.url)} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all([ready(client), ready(subscriber)]), timeout]);
      await run('subscribe', () => subscriber.subscribe(channel));
      subscribedOnce = true;
      await watch.begin(run);
    } finally {
      clearTimeout(timer);
    }
    isUp = true;
    everUp = true;
    sinceMs = Date.now();
    log.info({ keyPrefix: prefix }, 'connected to Redis');
    poll = setInterval(() => void watch.check(), CHANGE_POLL_INTERVAL_MS);
    poll.unref();
    tick = setInterval(() => {
      for (const listener of tickListeners) listener();
    }, TICK_INTERVAL_MS);
    tick.unref();
  }

  return {
    client,
    key,
    channel,
    versionsKey,
    epochKey,
    up() {
      checks.asked();
      return isUp && watch.answering();
    },
    health() {
      checks.asked();
      return { status: isUp && watch.answering() ? 'up' : 'down', since: new Date(sinceMs).toISOString() };
    },
    connect,
    onNotice: watch.onNotice,
    onWalked: (listener) => void walkedListeners.push(listener),
    retry(field) {
      watch.retry(field);
      checks.soon();
    },
    onUp: (listener) => void upListeners.push(listener),
    onTick: (listener) => void tickListeners.push(listener),
    onLost: watch.onLost,
    run,
    script: (what, lua, field, keys, args) =>
      run(what, () => client.eval(lua, 2 + keys.length, versionsKey, epochKey, ...keys, channel, field, ...args)),
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(tick);
      checks.stop();
      await watch.settle();
      client.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * Lua every versioned write includes: `notice(version)` records the version of ARGV[2] (the field) in KEYS[1] (the
 * versions hash), bumps KEYS[2] (the counter) and publishes on ARGV[1] (the channel). Scripts run through
 * {@link RedisHub.script}, which places those; their own keys start at KEYS[3], their own arguments at ARGV[3].
 */
export const NOTICE_LUA = `
local function notice(version)
  redis.call('HSET', KEYS[1], ARGV[2], version)
  redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. '\\n' .. version)
end
`;
