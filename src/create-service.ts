import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createDemoFetch } from './demo/demo-kombo.js';
import { createFeedService, type FeedService } from './feeds/feed-service.js';
import { createFeedTokens, type FeedTokens } from './feeds/feed-token.js';
import { createFileLinkFetchStore, createLinkFetches, type LinkFetches, type LinkFetchStore } from './feeds/link-fetches.js';
import { createFileLinkGenerationStore, createLinkGenerations, type LinkGenerations, type LinkGenerationStore } from './feeds/link-generations.js';
import { createApp } from './http/create-app.js';
import { createIntegrationRegistry, type IntegrationRegistry } from './integrations/integration-registry.js';
import { createFileRegistryStore, type IntegrationEntry, type RegistryStore } from './integrations/registry-store.js';
import { formerInterviewerRetentionMs } from './interviews/snapshot.js';
import { createFileSnapshotStore, type SnapshotStore } from './interviews/snapshot-store.js';
import { createKomboClient, sleep as realSleep, type KomboClient } from './kombo/create-kombo-client.js';
import { getIntegration } from './kombo/get-integration.js';
import type { RetryPolicy } from './kombo/retry-policy.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createSyncEngine } from './sync/sync-engine.js';
import { createSyncScheduler, INTEGRATION_STATUSES, type SyncScheduler } from './sync/sync-scheduler.js';
import { createWalkSlots, type WalkSlot } from './sync/walk-slots.js';
import { createRedisHub, type RedisHub } from './redis/create-redis-hub.js';
import { createRedisDocumentStore } from './redis/redis-document-store.js';
import { createRedisSnapshots } from './redis/redis-snapshots.js';
import { createRedisWebhookIds } from './redis/redis-webhook-ids.js';
import { RECENT_WEBHOOK_ID_TTL_MS } from './http/routes/webhook-routes.js';
import { createRedisLinkFetchStore } from './redis/redis-link-fetch-store.js';
import { linkGenerationDataSchema } from './feeds/link-generations.js';
import { registryDataSchema } from './integrations/registry-store.js';
import type { WalkCoordinator } from './sync/walk-coordinator.js';
import { createLocalWalkCoordinator } from './sync/local-walk-coordinator.js';

/** The wired service: what the server entry runs, and what end-to-end tests and the benchmark drive. */
export interface Service {
  config: Config;
  app: ReturnType<typeof createApp>;
  feeds: FeedService;
  /** Every integration's walks; with one integration, `sync.refresh()` needs no id. */
  sync: SyncScheduler;
  registry: IntegrationRegistry;
  tokens: FeedTokens;
  /** Each link's current generation (revocation); loaded by `sync.restore()`. */
  links: LinkGenerations;
  /** When each person's link was last fetched; loaded by `sync.restore()`, flushed by the server entry. */
  fetches: LinkFetches;
  metrics: Metrics;
  logger: Logger;
  /** Replica mode (REDIS_URL): the connection to the shared Redis; the server entry connects it before restoring. */
  hub: RedisHub | undefined;
}

/** What varies between production, tests and the benchmark. */
export interface ServiceOverrides {
  fetch?: typeof globalThis.fetch;
  store?: SnapshotStore;
  registryStore?: RegistryStore;
  linkGenerationStore?: LinkGenerationStore;
  linkFetchStore?: LinkFetchStore;
  now?: () => number;
  policy?: RetryPolicy;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  metrics?: Metrics;
  /** Per-attempt Kombo timeout in ms, finer than KOMBO_TIMEOUT_SECONDS allows (tests of hung responses). */
  timeoutMs?: number;
  /** Page cap of a walk (tests of the cap); the default allows 2.5 million interviews. */
  maxPages?: number;
  /** Byte bound of the rendered-feed cache, finer than FEED_CACHE_MAX_MB allows (tests of eviction). */
  feedCacheMaxBytes?: number;
}

/**
 * The calendar-name label of each integration: its organisation, once more than one integration is served or was
 * (`several`): a removal must not rename, and so change the bytes of, every other integration's calendars.
 */
function labelsOf(entries: readonly IntegrationEntry[], several: boolean): Map<string, string | null> {
  return new Map(entries.map((entry) => [entry.id, several ? entry.organization : null]));
}

/**
 * Wires config → registry → one Kombo client and sync engine per integration under one scheduler → feed service →
 * HTTP app. Starts nothing: no walk, no timer, no port (and reads nothing from disk until `sync.restore()`).
 */
export function createService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Service {
  const now = overrides.now ?? Date.now;
  const metrics = overrides.metrics ?? createMetrics({ now });
  const tokens = createFeedTokens(config.feedSecret);
  // Replica mode: the registry, snapshots and revocations live in Redis (seeded once from DATA_DIR, so an embedded
  // install moving to Redis keeps its removed integrations, revoked links and snapshots); the same code runs above.
  const hub = config.redis ? createRedisHub(config.redis, logger) : undefined;
  const shared = hub && config.redis
    ? {
        snapshots: createRedisSnapshots({ hub, logger, leaseMs: config.redis.leaseMs, seed: createFileSnapshotStore(config.dataDir) }),
        registry: createRedisDocumentStore(hub, 'registry', registryDataSchema, { seed: () => createFileRegistryStore(config.dataDir).load().catch(() => undefined) }),
        links: createRedisDocumentStore(hub, 'links', linkGenerationDataSchema, { seed: () => createFileLinkGenerationStore(config.dataDir).load() }),
      }
    : undefined;
  const store = overrides.store ?? shared?.snapshots.store ?? createFileSnapshotStore(config.dataDir);
  // One process alone: every lease is granted, and each walk's snapshot is saved to `store` for the next start.
  const coordinator: WalkCoordinator = shared?.snapshots.coordinator ?? createLocalWalkCoordinator({ store, logger });
  const fetch = overrides.fetch ?? (config.demo ? createDemoFetch(now) : globalThis.fetch);
  const feeds = createFeedService({
    feedPastDays: config.feedPastDays,
    defaultDurationMinutes: config.defaultDurationMinutes,
    refreshMinutes: config.feedRefreshMinutes,
    cacheMaxBytes: overrides.feedCacheMaxBytes ?? config.feedCacheMaxBytes,
    now,
    onRender: ({ durationMs }) => {
      metrics.feedRenders.inc();
      metrics.feedRenderDuration.observe(durationMs / 1000);
    },
    onCacheHit: () => metrics.feedCacheHits.inc(),
  });
  const registry = createIntegrationRegistry({
    store: overrides.registryStore ?? shared?.registry ?? createFileRegistryStore(config.dataDir),
    configured: config.kombo.integrationIds,
    configuredSource: config.demo ? 'demo' : 'config',
    logger,
    now,
    onChange: (entries) => {
      for (const [id, label] of labelsOf(entries, registry.servedSeveral())) feeds.setLabel(id, label);
    },
  });
  for (const [id, label] of labelsOf(registry.list(), registry.servedSeveral())) feeds.setLabel(id, label);

  function clientFor(integrationId: string, slot?: WalkSlot): KomboClient {
    return createKomboClient({
      baseUrl: config.kombo.baseUrl,
      apiKey: config.kombo.apiKey,
      integrationId,
      timeoutMs: overrides.timeoutMs ?? config.kombo.timeoutMs,
      maxResponseBytes: config.komboLimits.maxResponseBytes,
      fetch,
      now,
      ...(overrides.policy ? { policy: overrides.policy } : {}),
      // A backoff or Retry-After sleeps outside the walk's slot, so other integrations walk meanwhile.
      sleep: slot ? slot.sleep : (overrides.sleep ?? realSleep),
      onRetry: ({ error, attempt, delayMs }) => {
        metrics.komboRetries.inc({ reason: error.status ? String(error.status) : error.kind });
        logger.warn({ integration: integrationId, status: error.status, code: error.code, attempt, delayMs, reason: error.message }, 'retrying a Kombo request');
      },
    });
  }

  const links = createLinkGenerations(overrides.linkGenerationStore ?? shared?.links ?? createFileLinkGenerationStore(config.dataDir));
  const fetches = createLinkFetches({ store: overrides.linkFetchStore ?? (hub ? createRedisLinkFetchStore(hub) : createFileLinkFetchStore(config.dataDir)), now });

  const sync = createSyncScheduler({
    registry,
    slots: createWalkSlots(config.syncConcurrency),
    intervalMs: config.syncIntervalMs,
    logger,
    now,
    sleep: overrides.sleep ?? realSleep,
    createEngine: (integrationId, slot) =>
      createSyncEngine({
        client: clientFor(integrationId, slot),
        feeds: feeds.holder(integrationId),
        coordinator,
        walkSlot: slot,
        logger: logger.child({ integration: integrationId }),
        metrics,
        now,
        fullSyncIntervalMs: config.fullSyncIntervalMs,
        walkCeiling: { records: config.komboLimits.walkMaxRecords, bytes: config.komboLimits.walkMaxBytes },
        webhookIntervalMs: config.webhookWalkIntervalMs,
        formerInterviewerRetentionMs: formerInterviewerRetentionMs(config.feedPastDays),
        massRemovalHoldMs: config.massRemovalHoldMs,
        // Replicas share the schedule: a periodic refresh within half an interval of another replica's walk is skipped.
        ...(shared ? { periodicFreshMs: config.syncIntervalMs / 2 } : {}),
        ...(overrides.maxPages !== undefined ? { maxPages: overrides.maxPages } : {}),
      }),
    describe: (integrationId, slot) => slot.run(() => getIntegration(clientFor(integrationId, slot), integrationId)),
    async forget(integrationId) {
      feeds.remove(integrationId);
      await store.delete(integrationId);
      await links.forget(integrationId);
      await fetches.forget(integrationId);
    },
    forgetLocally: (integrationId) => {
      feeds.remove(integrationId);
      fetches.forgetLocally(integrationId);
    },
  });
  // Revocations load with the registry, before any feed is served: a revoked link must not work for a moment after
  // a restart. Recorded fetches are only informative: an unreadable file is logged and the record starts afresh.
  const restoreSync = sync.restore;
  sync.restore = async () => {
    await links.restore();
    await fetches.restore().catch((error: unknown) => logger.warn({ err: error }, 'cannot read the recorded link fetches; starting afresh'));
    return restoreSync();
  };

  if (hub && shared) {
    metrics.observeRedis(hub.up);
    // A notice that cannot be acted on now (a read failed) is asked for again at the next once-a-second check.
    const retry = (field: string, what: string) => (error: unknown) => {
      hub.retry(field);
      logger.warn({ err: error, field }, `could not ${what}; trying again within a second`);
    };
    hub.onNotice((notice) => {
      if (notice.field === shared.registry.field) {
        // Always followed: a save of this replica's own that met a conflict read the newer registry without following it.
        void sync.reconcile().catch(retry(notice.field, 'follow a change of the registry'));
      } else if (notice.field === shared.links.field) {
        if (notice.version !== shared.links.version()) void links.reload().catch(retry(notice.field, 'read revoked links'));
      } else if (notice.field.startsWith('snap:')) {
        const engine = sync.get(notice.field.slice('snap:'.length))?.engine;
        if (engine && notice.version > engine.version()) void engine.adopt().catch(retry(notice.field, 'take in a shared snapshot'));
      }
    });
    // Walks asked for while Redis was away run now.
    hub.onUp(() => {
      for (const integration of sync.list()) if (integration.engine.status().waitingForStore) sync.requestRefresh(integration.id);
    });
    // Redis came back without our data: put back the registry, the revocations and every snapshot held here.
    hub.onLost(async () => {
      await shared.registry.putBack();
      await shared.links.putBack();
      for (const integration of sync.list()) {
        const snapshot = feeds.snapshot(integration.id);
        const version = integration.engine.version();
        if (snapshot && version > 0) await shared.snapshots.coordinator.putBack(integration.id, { data: snapshot.data, version });
      }
    });
  }

  metrics.observeSnapshots(() => {
    let interviews = 0;
    let interviewers = 0;
    let oldestSyncedAtMs: number | undefined;
    for (const [, snapshot] of feeds.snapshots()) {
      interviews += snapshot.size;
      interviewers += snapshot.byEmail.size;
      oldestSyncedAtMs = Math.min(oldestSyncedAtMs ?? Infinity, snapshot.data.syncedAtMs);
    }
    const integrations = Object.fromEntries(INTEGRATION_STATUSES.map((status) => [status, 0]));
    for (const integration of sync.list()) integrations[integration.status()]!++;
    return { interviews, interviewers, oldestSyncedAtMs, integrations };
  });

  const app = createApp({
    feeds,
    sync,
    registry,
    tokens,
    links,
    fetches,
    logger,
    metrics,
    publicUrl: config.publicUrl,
    refreshMinutes: config.feedRefreshMinutes,
    defaultDetail: config.feedDefaultDetail,
    adminToken: config.adminToken,
    sessionMs: config.sessionMs,
    webhookSecret: config.kombo.webhookSecret,
    oidc: config.oidc,
    demo: config.demo,
    trustProxy: config.trustProxy,
    ...(hub
      ? { redisHealth: hub.health, redis: { client: hub.client, key: hub.key }, sharedWebhookIds: createRedisWebhookIds(hub, RECENT_WEBHOOK_ID_TTL_MS) }
      : {}),
    now,
  });
  return { config, app, feeds, sync, registry, tokens, links, fetches, metrics, logger, hub };
}
