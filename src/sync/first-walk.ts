import type { Logger } from 'pino';
import { KomboError } from '../kombo/kombo-error.js';

/** First wait between tries of an integration's first walk, while it has no snapshot; it doubles after each failure... */
export const FIRST_WALK_BASE_DELAY_MS = 1_000;
/** ...up to this. */
export const FIRST_WALK_MAX_DELAY_MS = 30_000;
/**
 * Failed first walks after which an integration without a snapshot counts as settled (failing) for /readyz: with the
 * backoff above, about three minutes. Long enough that a Kombo hiccup at start-up keeps a one-integration service
 * unready as it always was (its feeds could only answer 503), short enough that one broken customer never holds a
 * thousand others' readiness. An answer no retry can fix (a 4xx other than 408 and 429) settles it at once.
 */
export const FIRST_WALK_TRIES_BEFORE_SETTLED = 10;

/** What {@link tryFirstWalk} needs. */
export interface FirstWalkOptions {
  /** The integration, for the log. */
  integrationId: string;
  walk(): Promise<unknown>;
  /** Whether a first walk is still needed: no snapshot yet, and not paused. */
  needed(): boolean;
  /** Whether Kombo says the integration is still being set up: the periodic schedule asks again, in minutes. */
  pending(): boolean;
  /** The first walk will not be tried again by this loop (too many tries, or refused outright). */
  onGaveUp(): void;
  /** Stops the tries (the integration removed, or shutdown). */
  signal: AbortSignal;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
  logger: Logger;
}

/** Whether Kombo refused in a way no retry can fix: a 4xx other than 408 and 429. */
function refusedOutright(error: unknown): boolean {
  return error instanceof KomboError && error.kind === 'http' && error.status !== undefined && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/**
 * Tries the first walk of an integration without a snapshot, backing off (jittered, doubling up to
 * {@link FIRST_WALK_MAX_DELAY_MS}), until it succeeds, is no longer needed, or settles: pending, refused outright, or
 * given up after {@link FIRST_WALK_TRIES_BEFORE_SETTLED} tries (it goes on trying then, but no longer holds /readyz).
 */
export async function tryFirstWalk(options: FirstWalkOptions): Promise<void> {
  const { signal } = options;
  let delay = FIRST_WALK_BASE_DELAY_MS;
  for (let tries = 1; !signal.aborted && options.needed(); tries++) {
    try {
      await options.walk();
      return;
    } catch (error) {
      if (signal.aborted) return;
      const fatal = refusedOutright(error);
      if (tries >= FIRST_WALK_TRIES_BEFORE_SETTLED || fatal) options.onGaveUp();
      // Pending or refused outright: the periodic schedule asks again, in minutes, not in a tight loop.
      if (options.pending() || fatal) return;
      const wait = Math.round(delay / 2 + (options.random() * delay) / 2);
      options.logger.warn({ integration: options.integrationId, retryInMs: wait }, 'no snapshot yet; retrying the first walk');
      await options.sleep(wait, signal).catch(() => {});
      delay = Math.min(FIRST_WALK_MAX_DELAY_MS, delay * 2);
    }
  }
}
