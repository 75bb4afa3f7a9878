import { OIDC_PENDING_LOGINS_MAX, pendingSignInSchema, type PendingSignIns } from '../state/pending-sign-ins.js';
import { createSignInStore, entryId, type SignInRedis } from './sign-in-store.js';

/** Redis's list of the sign-ins in progress, oldest first: what holds them to `max`. */
const PENDING_INDEX = 'oidc-logins';

/**
 * The sign-ins in progress in Redis, so one started on one replica finishes on any: one key per state (named by its
 * SHA-256), expiring with the sign-in, taken once; at most `max` at once, the oldest dropped.
 */
export function createRedisPendingSignIns(options: { redis: SignInRedis; max?: number }): PendingSignIns {
  const store = createSignInStore(options.redis, 'oidc-login');
  const max = options.max ?? OIDC_PENDING_LOGINS_MAX;
  return {
    hold: (state, login, nowMs) => store.put(entryId(state), JSON.stringify(login), login.expiresAtMs - nowMs, nowMs, [{ name: PENDING_INDEX, max }]),
    async take(state) {
      const value = await store.take(entryId(state), [PENDING_INDEX]);
      if (value === null) return undefined;
      try {
        const parsed = pendingSignInSchema.safeParse(JSON.parse(value));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined; // not written by this code: no sign-in to finish
      }
    },
  };
}
