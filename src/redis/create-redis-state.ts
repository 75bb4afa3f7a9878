import type { Logger } from 'pino';
import type { RedisConfig } from '../config.js';
import { createFileLinkGenerationStore, linkGenerationDataSchema } from '../feeds/link-generations.js';
import { createFileRegistryStore, registryDataSchema } from '../integrations/registry-store.js';
import { createFileSnapshotStore } from '../interviews/snapshot-store.js';
import type { Metrics } from '../metrics.js';
import type { StateBundle } from '../state/state-bundle.js';
import { createRedisHub } from './create-redis-hub.js';
import { createRedisAdminSessions } from './redis-admin-sessions.js';
import { createRedisCounters } from './redis-counters.js';
import { createRedisDocumentStore } from './redis-document-store.js';
import { createRedisLinkFetchStore } from './redis-link-fetch-store.js';
import { createRedisLinkGenerationStore } from './redis-link-generation-store.js';
import { createRedisPendingSignIns } from './redis-pending-sign-ins.js';
import { createRedisSnapshots } from './redis-snapshots.js';
import { createReplicaWebhookIds } from './redis-webhook-ids.js';
import type { SignInRedis } from './sign-in-store.js';
import { watchSharedChanges } from './watch-shared-changes.js';

/** What the Redis bundle is built from. */
export interface RedisStateOptions {
  redis: RedisConfig;
  /** DATA_DIR: what an embedded install kept there seeds what Redis does not hold yet. */
  dataDir: string;
  logger: Logger;
  /** Fed whether Redis answers (`interview_feeds_redis_up`). */
  metrics: Metrics;
}

/**
 * The bundle of replica mode (REDIS_URL): the registry, snapshots with walk leases, revocations, link fetches, page
 * sessions, sign-ins in progress, webhook ids and rate-limit counts in one Redis every replica shares, with change
 * notices so each follows the others. The registry, revocations and snapshots are seeded once from DATA_DIR, so an
 * embedded install moving to Redis keeps its removed integrations, revoked links and snapshots. Nothing connects
 * until `connect`.
 */
export function createRedisState(options: RedisStateOptions): StateBundle {
  const { redis: config, dataDir, logger } = options;
  const hub = createRedisHub(config, logger);
  const snapshots = createRedisSnapshots({ hub, logger, leaseMs: config.leaseMs, seed: createFileSnapshotStore(dataDir) });
  const registry = createRedisDocumentStore(hub, 'registry', registryDataSchema, { seed: () => createFileRegistryStore(dataDir).load().catch(() => undefined) });
  // Seeded from what the release before kept (one document, read once), else from DATA_DIR.
  const links = createRedisLinkGenerationStore(hub, {
    seed: async () => (await createRedisDocumentStore(hub, 'links', linkGenerationDataSchema).load()) ?? createFileLinkGenerationStore(dataDir).load(),
  });
  const signIns: SignInRedis = { client: hub.client, key: hub.key };
  options.metrics.observeRedis(hub.up);
  return {
    registry,
    snapshots: snapshots.store,
    coordinator: () => snapshots.coordinator,
    links,
    fetches: createRedisLinkFetchStore(hub),
    sessions: ({ ttlMs, now }) => createRedisAdminSessions({ redis: signIns, ttlMs, now }),
    pendingSignIns: (bounds) => createRedisPendingSignIns({ redis: signIns, ...bounds }),
    webhookIds: (ids) => createReplicaWebhookIds(hub, ids),
    // Shared, so a client spreading guesses over the replicas gets no more than from one.
    counters: (counters) => createRedisCounters(hub, counters),
    health: { name: 'redis', health: hub.health },
    connect: (timeoutMs) => hub.connect(timeoutMs),
    close: () => hub.close(),
    watch: (listeners) => watchSharedChanges(hub, { registry, links, coordinator: snapshots.coordinator, heard: snapshots.heard }, listeners, logger),
  };
}
