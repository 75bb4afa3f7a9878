import type { RedisHub } from './create-redis-hub.js';

/** Webhook ids every replica has seen: the same event delivered to two replicas is acted on once. */
export interface SharedWebhookIds {
  /** Claims `id` for this replica; true when another replica (or an earlier delivery) claimed it first. */
  claim(id: string): Promise<boolean>;
  /** Gives `id` up (its event failed on our side, so Kombo's retry of it must be handled, not dropped). */
  release(id: string): Promise<void>;
}

/**
 * Webhook ids in Redis, one key each with the replay window as its life (`SET NX PX`). Redis unreachable, an id counts
 * as new: each replica's own memory of ids still drops a replay sent to it, so the cost is at most one walk more.
 */
export function createRedisWebhookIds(hub: RedisHub, ttlMs: number): SharedWebhookIds {
  const key = (id: string) => hub.key(`webhook:${id}`);
  return {
    async claim(id) {
      try {
        return (await hub.run('claim a webhook id', () => hub.client.set(key(id), '1', 'PX', ttlMs, 'NX'))) === null;
      } catch {
        return false;
      }
    },
    async release(id) {
      await hub.run('release a webhook id', () => hub.client.del(key(id))).catch(() => {});
    },
  };
}
