import type { ExpiringCounters } from '../../state/expiring-counters.js';

/**
 * At most `max` events per key in each fixed window of `windowMs`, the windows cut by the injected clock (so every
 * process, sharing counters, cuts them alike, and tests move time by moving the clock).
 */
export interface WindowLimit {
  /** Milliseconds until `key` may act again; 0 when it may now. */
  waitMs(key: string): Promise<number>;
  /** Counts one event of `key`: 0 when it was within the limit, else the milliseconds until the window ends. */
  count(key: string): Promise<number>;
}

/** What a window limit counts with and how much it allows. */
export interface WindowLimitOptions {
  /** Counters lasting at least two windows (a window's count outlives a clock a little ahead of this one's). */
  counters: ExpiringCounters;
  max: number;
  windowMs: number;
  now: () => number;
}

/** Creates a {@link WindowLimit}; each window's counts are keyed by the window's number, so they never carry over. */
export function createWindowLimit(options: WindowLimitOptions): WindowLimit {
  const { counters, max, windowMs } = options;
  function window() {
    const nowMs = options.now();
    const number = Math.floor(nowMs / windowMs);
    return { number, leftMs: (number + 1) * windowMs - nowMs };
  }
  return {
    async waitMs(key) {
      const { number, leftMs } = window();
      return (await counters.get(`${number}:${key}`)) >= max ? leftMs : 0;
    },
    async count(key) {
      const { number, leftMs } = window();
      return (await counters.add(`${number}:${key}`)) > max ? leftMs : 0;
    },
  };
}
