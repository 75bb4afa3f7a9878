import type { CounterOptions, ExpiringCounters } from '../../state/expiring-counters.js';
import { createWindowLimit, type WindowLimit } from './window-limit.js';

/** "Reset my link" one person (verified email) may use per window, in every integration together. */
export const LINK_RESETS_PER_WINDOW = 5;
/** The window of {@link LINK_RESETS_PER_WINDOW}: an hour. */
export const LINK_RESET_WINDOW_MS = 3_600_000;

/**
 * The limit of "Reset my link", per person: a reset changes what every process serves, so one person in a loop would
 * cost them all; a few an hour is more than a leaked link needs.
 */
export function createResetLimit(options: { counters: (options: CounterOptions) => ExpiringCounters; now: () => number }): WindowLimit {
  return createWindowLimit({
    counters: options.counters({ name: 'link-resets', ttlMs: 2 * LINK_RESET_WINDOW_MS }),
    max: LINK_RESETS_PER_WINDOW,
    windowMs: LINK_RESET_WINDOW_MS,
    now: options.now,
  });
}
