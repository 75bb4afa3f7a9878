import type { ExpiringCounters } from '../../state/expiring-counters.js';

/** One event counted by a {@link WindowLimit}. */
export interface CountedEvent {
  /** 0 when the event was within the limit; else the milliseconds until its window ends. */
  readonly waitMs: number;
  /** Takes the event back (it turned out not to count), from the window it was counted in. */
  undo(): Promise<void>;
}

/**
 * At most `max` events per key in each fixed window of `windowMs`, the windows cut by the injected clock (so every
 * process, sharing counters, cuts them alike, and tests move time by moving the clock). An event is counted before
 * it is judged, in one atomic step of the counters: requests racing each other, on any process, never all slip in
 * under the limit together.
 */
export interface WindowLimit {
  /** Counts one event of `key`. */
  count(key: string): Promise<CountedEvent>;
  /** Milliseconds until the window ends when `key` has reached the limit in it; else 0. Reads only. */
  waitMs(key: string): Promise<number>;
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
    async count(key) {
      const { number, leftMs } = window();
      const counted = `${number}:${key}`;
      const total = await counters.add(counted);
      return { waitMs: total > max ? leftMs : 0, undo: () => counters.subtract(counted) };
    },
    async waitMs(key) {
      const { number, leftMs } = window();
      return (await counters.get(`${number}:${key}`)) >= max ? leftMs : 0;
    },
  };
}
