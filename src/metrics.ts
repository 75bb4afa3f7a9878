import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric the service exports, on a registry of its own (so tests and several apps never share one). */
export interface Metrics {
  readonly registry: Registry;
  readonly refreshDuration: Histogram<'kind' | 'outcome'>;
  readonly refreshes: Counter<'kind' | 'outcome'>;
  readonly komboRetries: Counter<'reason'>;
  readonly snapshotInterviews: Gauge;
  readonly snapshotInterviewers: Gauge;
  readonly snapshotSyncedAt: Gauge;
  /** Records the snapshot now being served. */
  recordSnapshot(info: { interviews: number; interviewers: number; syncedAtMs: number }): void;
  readonly rejectedRecords: Counter;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly feedRenders: Counter;
  readonly feedRenderDuration: Histogram;
  readonly feedCacheHits: Counter;
  readonly webhooks: Counter<'outcome'>;
}

/** Creates the metrics; `defaults` adds the process metrics (CPU, memory, event loop lag, GC). */
export function createMetrics({ defaults = true, now = Date.now }: { defaults?: boolean; now?: () => number } = {}): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const snapshotSyncedAt = new Gauge({
    name: 'interview_feeds_snapshot_synced_timestamp_seconds',
    help: 'Start of the walk that produced the snapshot being served (0 before any)',
    registers,
  });
  new Gauge({
    name: 'interview_feeds_snapshot_age_seconds',
    help: 'Seconds since the walk that produced the snapshot being served started (NaN before any)',
    registers,
    collect() {
      this.set(syncedAtMs === undefined ? Number.NaN : (now() - syncedAtMs) / 1000);
    },
  });
  let syncedAtMs: number | undefined;
  const snapshotInterviews = new Gauge({ name: 'interview_feeds_snapshot_interviews', help: 'Live interviews in the snapshot', registers });
  const snapshotInterviewers = new Gauge({
    name: 'interview_feeds_snapshot_interviewers',
    help: 'Interviewers with at least one live interview in the snapshot',
    registers,
  });
  return {
    recordSnapshot(info) {
      syncedAtMs = info.syncedAtMs;
      snapshotSyncedAt.set(info.syncedAtMs / 1000);
      snapshotInterviews.set(info.interviews);
      snapshotInterviewers.set(info.interviewers);
    },
    snapshotInterviews,
    snapshotInterviewers,
    registry,
    refreshDuration: new Histogram({
      name: 'interview_feeds_refresh_duration_seconds',
      help: 'Duration of refreshes from Kombo',
      labelNames: ['kind', 'outcome'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    refreshes: new Counter({
      name: 'interview_feeds_refreshes_total',
      help: 'Refreshes from Kombo by kind (full, incremental) and outcome (success, failure, held as a mass removal, aborted by shutdown)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    komboRetries: new Counter({
      name: 'interview_feeds_kombo_retries_total',
      help: 'Kombo requests retried, by reason',
      labelNames: ['reason'],
      registers,
    }),
    snapshotSyncedAt,
    rejectedRecords: new Counter({
      name: 'interview_feeds_rejected_records_total',
      help: 'Kombo records skipped because they failed validation',
      registers,
    }),
    httpRequests: new Counter({
      name: 'interview_feeds_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'interview_feeds_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    feedRenders: new Counter({ name: 'interview_feeds_feed_renders_total', help: 'Feeds rendered (cache misses)', registers }),
    feedRenderDuration: new Histogram({
      name: 'interview_feeds_feed_render_duration_seconds',
      help: 'Time to render one feed',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    }),
    feedCacheHits: new Counter({ name: 'interview_feeds_feed_cache_hits_total', help: 'Feeds served from the cache', registers }),
    webhooks: new Counter({
      name: 'interview_feeds_webhooks_total',
      help: 'Kombo webhooks by outcome (refresh, ignored, rejected)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
