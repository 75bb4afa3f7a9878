import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createDemoFetch } from './demo/demo-kombo.js';
import { createFeedService, type FeedService } from './feeds/feed-service.js';
import { createFeedTokens, type FeedTokens } from './feeds/feed-token.js';
import { createLinkFetches, type LinkFetches } from './feeds/link-fetches.js';
import { createLinkGenerations, type LinkGenerations } from './feeds/link-generations.js';
import { followSharedChanges } from './follow-shared-changes.js';
import { createApp } from './http/create-app.js';
import { createIntegrationRegistry, type IntegrationRegistry } from './integrations/integration-registry.js';
import type { IntegrationEntry } from './integrations/registry-store.js';
import { formerInterviewerRetentionMs } from './interviews/snapshot.js';
import { createKomboClient, sleep as realSleep, type KomboClient } from './kombo/create-kombo-client.js';
import { getIntegration } from './kombo/get-integration.js';
import type { RetryPolicy } from './kombo/retry-policy.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRedisState } from './redis/create-redis-state.js';
import { createEmbeddedState } from './state/create-embedded-state.js';
import type { StateBundle } from './state/state-bundle.js';
import { createSyncEngine } from './sync/sync-engine.js';
import { createSyncScheduler, INTEGRATION_STATUSES, type SyncScheduler } from './sync/sync-scheduler.js';
import { createWalkSlots, type WalkSlot } from './sync/walk-slots.js';

/** The wired service: what the server entry runs, and what end-to-end tests and the benchmark drive. */
export interface Service {
  config: Config;
  app: ReturnType<typeof createApp>;
  feeds: FeedService;
  /** Every integration's walks; with one integration, `sync.refresh()` needs no id. */
  sync: SyncScheduler;
  registry: IntegrationRegistry;
  tokens: FeedTokens;
  /** Each link's current generation (revocation); loaded by `restore()`. */
  links: LinkGenerations;
  /** When each person's link was last fetched; loaded by `restore()`, flushed by the server entry. */
  fetches: LinkFetches;
  metrics: Metrics;
  logger: Logger;
  /** Every store the service keeps state in; the server entry connects it before `restore()` and closes it last. */
  state: StateBundle;
  /**
   * Reads what was kept: the revocations and recorded link fetches, then every integration's snapshot. Resolves with
   * what `sync.restore()` does (whether a snapshot was found).
   */
  restore(): Promise<boolean>;
}

/** What varies between production, tests and the benchmark. */
export interface ServiceOverrides {
  fetch?: typeof globalThis.fetch;
  /** The stores, instead of those the configuration chooses (tests: `createMemoryState()`). */
  state?: StateBundle;
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

/** The state bundle the configuration asks for, chosen here once: Redis with REDIS_URL, else memory and DATA_DIR. */
function createState(config: Config, logger: Logger, metrics: Metrics): StateBundle {
  return config.redis ? createRedisState({ redis: config.redis, dataDir: config.dataDir, logger, metrics }) : createEmbeddedState({ dataDir: config.dataDir });
}

/** Makes the Kombo client of one integration; a walk's client sleeps through its slot. */
function komboClients(config: Config, logger: Logger, metrics: Metrics, overrides: ServiceOverrides & { now: () => number }) {
  const fetch = overrides.fetch ?? (config.demo ? createDemoFetch(overrides.now) : globalThis.fetch);
  return (integrationId: string, slot?: WalkSlot): KomboClient =>
    createKomboClient({
      baseUrl: config.kombo.baseUrl,
      apiKey: config.kombo.apiKey,
      integrationId,
      timeoutMs: overrides.timeoutMs ?? config.kombo.timeoutMs,
      maxResponseBytes: config.komboLimits.maxResponseBytes,
      fetch,
      now: overrides.now,
      ...(overrides.policy ? { policy: overrides.policy } : {}),
      // A backoff or Retry-After sleeps outside the walk's slot, so other integrations walk meanwhile.
      sleep: slot ? slot.sleep : (overrides.sleep ?? realSleep),
      onRetry: ({ error, attempt, delayMs }) => {
        metrics.komboRetries.inc({ reason: error.status ? String(error.status) : error.kind });
        logger.warn({ integration: integrationId, status: error.status, code: error.code, attempt, delayMs, reason: error.message }, 'retrying a Kombo request');
      },
    });
}

/** Feeds the snapshot gauges: interviews, interviewers, the stalest snapshot, integrations by status. */
function observeSnapshots(metrics: Metrics, feeds: FeedService, sync: SyncScheduler): void {
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
}

/**
 * Wires config → state bundle → registry → one Kombo client and sync engine per integration under one scheduler →
 * feed service → HTTP app. Starts nothing: no walk, no timer, no port, no connection (and reads nothing from disk
 * until `restore()`).
 */
export function createService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Service {
  const now = overrides.now ?? Date.now;
  const metrics = overrides.metrics ?? createMetrics({ now });
  const state = overrides.state ?? createState(config, logger, metrics);
  const tokens = createFeedTokens(config.feedSecret);
  const feeds = createFeedService({
    feedPastDays: config.feedPastDays,
    defaultDurationMinutes: config.defaultDurationMinutes,
    refreshMinutes: config.feedRefreshMinutes,
    cacheMaxBytes: overrides.feedCacheMaxBytes ?? config.feedCacheMaxBytes,
    showConfidentialNames: config.showConfidentialNames,
    now,
    onRender: ({ durationMs }) => {
      metrics.feedRenders.inc();
      metrics.feedRenderDuration.observe(durationMs / 1000);
    },
    onCacheHit: () => metrics.feedCacheHits.inc(),
  });
  const registry = createIntegrationRegistry({
    store: state.registry,
    configured: config.kombo.integrationIds,
    configuredSource: config.demo ? 'demo' : 'config',
    logger,
    now,
    onChange: (entries) => {
      for (const [id, label] of labelsOf(entries, registry.servedSeveral())) feeds.setLabel(id, label);
    },
  });
  for (const [id, label] of labelsOf(registry.list(), registry.servedSeveral())) feeds.setLabel(id, label);

  const clientFor = komboClients(config, logger, metrics, { ...overrides, now });
  const links = createLinkGenerations(state.links);
  const fetches = createLinkFetches({ store: state.fetches, now });
  const coordinator = state.coordinator(logger);

  const sync = createSyncScheduler({
    registry,
    slots: createWalkSlots(config.syncConcurrency),
    intervalMs: config.syncIntervalMs,
    // Walkers sharing their walks: a quarter interval, well inside the half that makes a periodic refresh skip.
    ...(coordinator.shared ? { refreshSpreadMs: config.syncIntervalMs / 4 } : {}),
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
        feedPastDays: config.feedPastDays,
        massRemovalHoldMs: config.massRemovalHoldMs,
        // Walkers that share their walks refresh at the rate of one: a periodic walk just after another's is skipped.
        ...(coordinator.shared ? { periodicFreshMs: config.syncIntervalMs / 2 } : {}),
        ...(overrides.maxPages !== undefined ? { maxPages: overrides.maxPages } : {}),
      }),
    describe: (integrationId, slot, signal) => slot.run(() => getIntegration(clientFor(integrationId, slot), integrationId, signal)),
    async forget(integrationId) {
      feeds.remove(integrationId);
      await state.snapshots.delete(integrationId);
      await links.forget(integrationId);
      await fetches.forget(integrationId);
    },
    async holds(integrationId) {
      if (links.integrations().includes(integrationId) || fetches.integrations().includes(integrationId)) return true;
      return ((await state.snapshots.list?.()) ?? []).includes(integrationId);
    },
    forgetLocally: (integrationId) => {
      feeds.remove(integrationId);
      fetches.forgetLocally(integrationId);
    },
  });
  followSharedChanges({ state, sync, links, feeds });
  observeSnapshots(metrics, feeds, sync);

  const app = createApp({ feeds, sync, registry, tokens, links, fetches, logger, metrics, config, state, now });
  return {
    config,
    app,
    feeds,
    sync,
    registry,
    tokens,
    links,
    fetches,
    metrics,
    logger,
    state,
    async restore() {
      // Revocations load before any feed is served: a revoked link must not work for a moment after a restart.
      // Recorded fetches are only informative: an unreadable file is logged and the record starts afresh.
      await links.restore();
      await fetches.restore().catch((error: unknown) => logger.warn({ err: error }, 'cannot read the recorded link fetches; starting afresh'));
      const restored = await sync.restore();
      // A removal that failed half way, and was never asked again, leaves a customer's data behind: it goes now.
      try {
        const stored = [...((await state.snapshots.list?.()) ?? []), ...links.integrations(), ...fetches.integrations()];
        await sync.sweep(stored);
      } catch (error) {
        logger.warn({ err: error }, 'could not delete what is held of integrations removed earlier; trying again at the next start');
      }
      return restored;
    },
  };
}
