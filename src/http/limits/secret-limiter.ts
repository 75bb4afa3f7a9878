import type { CounterOptions, ExpiringCounters } from '../../state/expiring-counters.js';
import { secureEqual } from '../secure-equal.js';
import { createWindowLimit } from './window-limit.js';

/** Wrong secrets one client address may present per window, at any door, before every door refuses it until the window ends. */
export const SECRET_FAILURES_PER_WINDOW = 5;
/**
 * Wrong secrets from all addresses together per window. Past it, only an address that presented the right secret
 * within {@link SECRET_TRUST_MS} may try until the window ends: guesses spread over many addresses stay bounded, and
 * the operators and the metrics scraper already signed in keep working.
 */
export const SECRET_FAILURES_GLOBAL_PER_WINDOW = 100;
/** The window of both bounds. */
export const SECRET_WINDOW_MS = 60_000;
/** How long an address that presented the right secret passes the global bound (its own bound still holds). */
export const SECRET_TRUST_MS = 3_600_000;

const EVERYONE = 'all';

/** What a door learns of a secret presented to it. */
export type SecretCheck = { readonly result: 'right' } | { readonly result: 'wrong' } | { readonly result: 'refused'; readonly retryAfterMs: number };

/**
 * The one limiter of every door that checks a secret (the admin page's sign-in, every Bearer route, /metrics, the
 * admin detail of /healthz): wrong secrets counted per client address and globally, in the state bundle's counters.
 */
export interface SecretLimiter {
  /**
   * Checks `given` against `expected` (undefined: no secret opens this door) for `client`. A client over a bound is
   * refused before any comparison, the right secret included: a lock-out that still answered "right" would let a
   * guesser go on at full speed and only look for the answer that differs.
   */
  check(client: string, given: string, expected: string | undefined): Promise<SecretCheck>;
}

/** Creates the {@link SecretLimiter} over counters made by `counters` (the state bundle's), windows cut by `now`. */
export function createSecretLimiter(options: { counters: (options: CounterOptions) => ExpiringCounters; now: () => number }): SecretLimiter {
  const { now } = options;
  const counters = (name: string) => options.counters({ name, ttlMs: 2 * SECRET_WINDOW_MS });
  const perClient = createWindowLimit({ counters: counters('secret-failures'), max: SECRET_FAILURES_PER_WINDOW, windowMs: SECRET_WINDOW_MS, now });
  const everyone = createWindowLimit({ counters: counters('secret-failures-all'), max: SECRET_FAILURES_GLOBAL_PER_WINDOW, windowMs: SECRET_WINDOW_MS, now });
  const trusted = options.counters({ name: 'secret-trusted', ttlMs: SECRET_TRUST_MS });

  const refused = (retryAfterMs: number): SecretCheck => ({ result: 'refused', retryAfterMs });

  return {
    async check(client, given, expected) {
      // Past the bound of all, a client not trusted is refused before anything is written: a flood from many
      // addresses then costs no memory per address.
      const [allWaitMs, trust] = await Promise.all([everyone.waitMs(EVERYONE), trusted.get(client)]);
      if (allWaitMs > 0 && trust === 0) return refused(allWaitMs);
      // Counted before the comparison, and given back when the secret is right: parallel guesses cannot all pass a
      // check made before any of them was counted.
      const mine = await perClient.count(client);
      if (mine.waitMs > 0) return refused(mine.waitMs);
      // Counted in all only once the client is under its own bound: one client hammering while refused never trips
      // the bound of all, which would lock everyone else out.
      const all = await everyone.count(EVERYONE);
      if (all.waitMs > 0 && trust === 0) {
        await mine.undo(); // refused unseen: no guess of this client's
        return refused(all.waitMs);
      }
      if (expected === undefined || !secureEqual(given, expected)) return { result: 'wrong' };
      await Promise.all([mine.undo(), all.undo(), trust === 0 ? trusted.add(client) : undefined]);
      return { result: 'right' };
    },
  };
}

/** Retry-After in whole seconds (at least 1) for a wait of `ms`. */
export const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
