import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the snapshot gauges show, summed over every integration. */
export interface SnapshotTotals {
  interviews: number;
  interviewers: number;
  /** Start of the walk behind the stalest snapshot; undefined before any. */
  oldestSyncedAtMs: number | undefined;
  /** Integrations by status (new, ok, failing, pending, paused): five series at most. */
  integrations: Readonly<Record<string, number>>;
}

/** Every metric the service exports, on a registry of its own (so tests and several apps never share one). */
export interface Metrics {
  readonly registry: Registry;
  readonly refreshDuration: Histogram<'kind' | 'outcome'>;
  readonly refreshes: Counter<'kind' | 'outcome'>;
  readonly komboRetries: Counter<'reason'>;
  /**
   * Tells the snapshot gauges where to read their values at scrape time: totals over every integration, and the
   * stalest snapshot's walk (one series each, however many integrations: no label grows with them).
   */
  observeSnapshots(read: () => SnapshotTotals): void;
  /** Replica mode: tells `interview_feeds_redis_up` whether Redis answers (read at scrape time). */
  observeRedis(up: () => boolean): void;
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
  let read: () => SnapshotTotals = () => ({ interviews: 0, interviewers: 0, oldestSyncedAtMs: undefined, integrations: {} });
  new Gauge({
    name: 'interview_feeds_snapshot_synced_timestamp_seconds',
    help: 'Start of the walk behind the stalest snapshot being served, over every integration (0 before any)',
    registers,
    collect() {
      this.set((read().oldestSyncedAtMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'interview_feeds_snapshot_age_seconds',
    help: 'Seconds since the walk behind the stalest snapshot being served started (NaN before any)',
    registers,
    collect() {
      const oldest = read().oldestSyncedAtMs;
      this.set(oldest === undefined ? Number.NaN : (now() - oldest) / 1000);
    },
  });
  new Gauge({
    name: 'interview_feeds_snapshot_interviews',
    help: 'Live interviews in the snapshots being served, over every integration',
    registers,
    collect() {
      this.set(read().interviews);
    },
  });
  new Gauge({
    name: 'interview_feeds_snapshot_interviewers',
    help: 'Interviewers with at least one live interview, summed over every integration',
    registers,
    collect() {
      this.set(read().interviewers);
    },
  });
  new Gauge({
    name: 'interview_feeds_integrations',
    help: 'Integrations served, by status (new, ok, failing, pending, paused)',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      for (const [status, count] of Object.entries(read().integrations)) this.set({ status }, count);
    },
  });
  return {
    observeRedis(up) {
      new Gauge({
        name: 'interview_feeds_redis_up',
        help: 'Replica mode: 1 while the shared Redis answers, 0 while it does not (feeds serve on from memory)',
        registers,
        collect() {
          this.set(up() ? 1 : 0);
        },
      });
    },
    observeSnapshots(reader) {
      read = reader;
    },
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
      help: 'Refreshes from Kombo by kind (full, incremental) and outcome (success, failure, held as a mass removal, aborted by shutdown; with replicas, lease_lost and redis_unavailable: not published)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    komboRetries: new Counter({
      name: 'interview_feeds_kombo_retries_total',
      help: 'Kombo requests retried, by reason',
      labelNames: ['reason'],
      registers,
    }),
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
