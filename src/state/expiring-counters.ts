import { RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * Counts per key, each ending `ttlMs` after its first count: what the service's rate limits count with, from the state
 * bundle (in this process's memory, or shared by every process). Keys are outside text (addresses, emails): they are
 * never an object's keys here, nor in rate-limiter-flexible's stores.
 */
export interface ExpiringCounters {
  /** Adds one to `key`'s count (starting it when none runs) and answers the count, this one included. */
  add(key: string): Promise<number>;
  /** Takes one from `key`'s count (an event counted that turned out not to count). */
  subtract(key: string): Promise<void>;
  /** `key`'s running count; 0 when none runs. */
  get(key: string): Promise<number>;
}

/** What a set of counters is made with: a name apart from every other set's, and how long each count lasts. */
export interface CounterOptions {
  readonly name: string;
  readonly ttlMs: number;
}

/** The options rate-limiter-flexible's limiters of one set of counters share (its `points` bound is never used). */
export function limiterOptions(options: CounterOptions, keyPrefix = options.name) {
  return { keyPrefix, points: Number.MAX_SAFE_INTEGER, duration: Math.max(1, Math.ceil(options.ttlMs / 1000)) };
}

/** Counts through any of rate-limiter-flexible's limiters: `penalty` and `reward` always count and never refuse. */
export function countersOf(limiter: Pick<RateLimiterMemory, 'penalty' | 'reward' | 'get'>): ExpiringCounters {
  return {
    add: async (key) => (await limiter.penalty(key, 1)).consumedPoints,
    subtract: async (key) => void (await limiter.reward(key, 1)),
    get: async (key) => (await limiter.get(key))?.consumedPoints ?? 0,
  };
}

/** Counters in this process's memory (rate-limiter-flexible's RateLimiterMemory: a Map, each count ended by its own timer). */
export function createMemoryCounters(options: CounterOptions): ExpiringCounters {
  return countersOf(new RateLimiterMemory(limiterOptions(options)));
}
