import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createDemoFetch } from './demo/demo-kombo.js';
import { createFeedService, type FeedService } from './feeds/feed-service.js';
import { createFeedTokens, type FeedTokens } from './feeds/feed-token.js';
import { createApp } from './http/create-app.js';
import { formerInterviewerRetentionMs } from './interviews/snapshot.js';
import { createFileSnapshotStore, type SnapshotStore } from './interviews/snapshot-store.js';
import { createKomboClient } from './kombo/create-kombo-client.js';
import type { RetryPolicy } from './kombo/retry-policy.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createSyncEngine, type SyncEngine } from './sync/sync-engine.js';

/** The wired service: what the server entry runs, and what end-to-end tests and the benchmark drive. */
export interface Service {
  config: Config;
  app: ReturnType<typeof createApp>;
  feeds: FeedService;
  sync: SyncEngine;
  tokens: FeedTokens;
  metrics: Metrics;
  logger: Logger;
}

/** What varies between production, tests and the benchmark. */
export interface ServiceOverrides {
  fetch?: typeof globalThis.fetch;
  store?: SnapshotStore;
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

/** Wires config → Kombo client → sync engine → feed service → HTTP app. Starts nothing: no walk, no timer, no port. */
export function createService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Service {
  const now = overrides.now ?? Date.now;
  const metrics = overrides.metrics ?? createMetrics({ now });
  const tokens = createFeedTokens(config.feedSecret);
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
  const client = createKomboClient({
    baseUrl: config.kombo.baseUrl,
    apiKey: config.kombo.apiKey,
    integrationId: config.kombo.integrationId,
    timeoutMs: overrides.timeoutMs ?? config.kombo.timeoutMs,
    maxResponseBytes: config.komboLimits.maxResponseBytes,
    fetch: overrides.fetch ?? (config.demo ? createDemoFetch(now) : globalThis.fetch),
    now,
    ...(overrides.policy ? { policy: overrides.policy } : {}),
    ...(overrides.sleep ? { sleep: overrides.sleep } : {}),
    onRetry: ({ error, attempt, delayMs }) => {
      metrics.komboRetries.inc({ reason: error.status ? String(error.status) : error.kind });
      logger.warn({ status: error.status, code: error.code, attempt, delayMs, reason: error.message }, 'retrying a Kombo request');
    },
  });
  const sync = createSyncEngine({
    client,
    feeds,
    store: overrides.store ?? createFileSnapshotStore(config.dataDir),
    logger,
    metrics,
    now,
    fullSyncIntervalMs: config.fullSyncIntervalMs,
    walkCeiling: { records: config.komboLimits.walkMaxRecords, bytes: config.komboLimits.walkMaxBytes },
    webhookIntervalMs: config.webhookWalkIntervalMs,
    formerInterviewerRetentionMs: formerInterviewerRetentionMs(config.feedPastDays),
    massRemovalHoldMs: config.massRemovalHoldMs,
    ...(overrides.maxPages !== undefined ? { maxPages: overrides.maxPages } : {}),
  });
  const app = createApp({
    feeds,
    sync,
    tokens,
    logger,
    metrics,
    integrationId: config.kombo.integrationId,
    publicUrl: config.publicUrl,
    refreshMinutes: config.feedRefreshMinutes,
    adminToken: config.adminToken,
    webhookSecret: config.kombo.webhookSecret,
    demo: config.demo,
    now,
  });
  return { config, app, feeds, sync, tokens, metrics, logger };
}
