import { createMemoryWebhookIds, RECENT_WEBHOOK_ID_TTL_MS, type WebhookIds } from '../state/webhook-ids.js';
import type { RedisHub } from './create-redis-hub.js';

/**
 * Webhook ids in Redis, one key each with the replay window as its life (`SET NX PX`). Redis unreachable, an id counts
 * as new: each replica's own memory of ids still drops a replay sent to it, so the cost is at most one walk more.
 */
export function createRedisWebhookIds(hub: RedisHub, ttlMs: number): WebhookIds {
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

/**
 * A replica's webhook ids: its own memory first (a replay sent to it again costs no Redis round trip), then every
 * replica's, so one event delivered to several replicas walks once.
 */
export function createReplicaWebhookIds(hub: RedisHub, options: { now: () => number }): WebhookIds {
  const local = createMemoryWebhookIds(options);
  const shared = createRedisWebhookIds(hub, RECENT_WEBHOOK_ID_TTL_MS);
  return {
    claim: async (id) => (await local.claim(id)) || shared.claim(id),
    async release(id) {
      await local.release(id);
      await shared.release(id);
    },
  };
}
