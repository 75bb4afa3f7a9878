import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { countersOf, limiterOptions, type CounterOptions, type ExpiringCounters } from '../state/expiring-counters.js';
import type { RedisHub } from './create-redis-hub.js';

/**
 * Counters every replica shares, in Redis (rate-limiter-flexible's RateLimiterRedis: one key per count under
 * `{REDIS_KEY_PREFIX}limits:{name}:`, each count one atomic script, expiring with it). While Redis does not answer,
 * each replica counts in its own memory (the library's insurance limiter), so a limit still holds per replica rather
 * than failing open or refusing everyone.
 */
export function createRedisCounters(hub: Pick<RedisHub, 'client' | 'key'>, options: CounterOptions): ExpiringCounters {
  const shared = limiterOptions(options, hub.key(`limits:${options.name}`));
  return countersOf(
    new RateLimiterRedis({
      ...shared,
      storeClient: hub.client,
      // Not ready (reconnecting): straight to the insurance, instead of a command that fails after its timeout.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(limiterOptions(options)),
    }),
  );
}
