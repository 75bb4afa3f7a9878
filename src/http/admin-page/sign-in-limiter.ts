/** Wrong admin tokens one client may send per window before every sign-in from it is refused until the window ends. */
export const SIGN_IN_FAILURES_PER_WINDOW = 5;
/** The window of {@link SIGN_IN_FAILURES_PER_WINDOW}. */
export const SIGN_IN_WINDOW_MS = 60_000;
/**
 * Clients counted per window. Past it, further clients share one count, so a flood from many addresses costs
 * bounded memory (and at worst refuses sign-ins for the rest of the minute).
 */
export const SIGN_IN_LIMITER_MAX_CLIENTS = 10_000;

const SHARED = '*';

/** Counts wrong admin tokens per client address in fixed windows. */
export interface SignInLimiter {
  /** Milliseconds until `client` may try again, or 0 when it may now. */
  retryAfterMs(client: string): number;
  /** Counts one wrong token from `client`. */
  fail(client: string): void;
}

/** Creates a {@link SignInLimiter} on the injected clock. */
export function createSignInLimiter(options: { now: () => number }): SignInLimiter {
  let windowStart = 0;
  let failures = new Map<string, number>();

  function roll(): number {
    const nowMs = options.now();
    if (nowMs - windowStart >= SIGN_IN_WINDOW_MS) {
      windowStart = nowMs;
      failures = new Map(); // every count belongs to the window that just ended
    }
    return nowMs;
  }
  const keyOf = (client: string) => (failures.has(client) || failures.size < SIGN_IN_LIMITER_MAX_CLIENTS ? client : SHARED);

  return {
    retryAfterMs(client) {
      const nowMs = roll();
      return (failures.get(keyOf(client)) ?? 0) >= SIGN_IN_FAILURES_PER_WINDOW ? windowStart + SIGN_IN_WINDOW_MS - nowMs : 0;
    },
    fail(client) {
      roll();
      const key = keyOf(client);
      failures.set(key, (failures.get(key) ?? 0) + 1);
    },
  };
}
