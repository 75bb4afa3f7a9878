import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from './helpers/factories.js';
import { startFakeKombo, type FakeKombo } from './helpers/fake-kombo.js';
import { ADMIN_TOKEN, buildTestService, feedPath } from './helpers/test-service.js';

/** One sample of the Prometheus text exposition format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format (what prom-client writes) into samples; `# TYPE` lines into `types`. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

describe('GET /metrics and /healthz', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('is behind the admin bearer token, and off without ADMIN_TOKEN', async () => {
    const service = buildTestService(fake);
    await request(service.app).get('/metrics').expect(401);
    await request(service.app).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(403);
    await request(service.app).get('/metrics').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    const open = buildTestService(fake, { env: { ADMIN_TOKEN: undefined } });
    await request(open.app).get('/metrics').expect(404);
  });

  it('shows process, refresh, snapshot, request and feed metrics after a refresh and a few requests', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-2', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-3', users: [komboUser('alan@example.com', 'Alan', 'Turing')] }),
      interviewRecord({ id: 'iv-bad', starting_at: 'tomorrow-ish' }),
    ]);
    const service = buildTestService(fake);
    const app = request(service.app);
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

    const before = parseExposition((await app.get('/metrics').set(admin).expect(200)).text).samples;
    expect(value(before, 'interview_feeds_snapshot_age_seconds')).toBeNaN(); // no snapshot yet

    fake.clock += 120_000; // the records are older than the next walks' overlap, so an incremental one skips them
    await service.sync.refresh(); // full: 4 records over 2 pages, 1 rejected
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-4', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] }));
    await service.sync.refresh(); // incremental: only the new record
    fake.fail({ type: 'status', status: 503 }, { times: 10 });
    await expect(service.sync.refresh()).rejects.toThrow(); // incremental, failed
    fake.clearFaults();
    fake.clock += 90_000; // the snapshot is now 90 s old (it was taken at the incremental walk's start)

    const ada = feedPath(service, 'ada@example.com');
    await app.get(ada).expect(200);
    await app.get(ada).expect(200);
    await app.get(feedPath(service, 'grace@example.com')).expect(200);
    await app.get(`${ada.slice(0, -8)}AAAA.ics`).expect(404);
    await app.get('/healthz').expect(200);
    await app.get('/nowhere').expect(404);

    const res = await app.get('/metrics').set(admin).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parseExposition(res.text);

    // Default process metrics.
    for (const name of ['process_cpu_user_seconds_total', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(value(samples, name), name).toBeGreaterThanOrEqual(0);
    }

    // Refreshes by kind and outcome, with a duration histogram.
    expect(types.get('interview_feeds_refreshes_total')).toBe('counter');
    expect(value(samples, 'interview_feeds_refreshes_total', { kind: 'full', outcome: 'success' })).toBe(1);
    expect(value(samples, 'interview_feeds_refreshes_total', { kind: 'incremental', outcome: 'success' })).toBe(1);
    expect(value(samples, 'interview_feeds_refreshes_total', { kind: 'incremental', outcome: 'failure' })).toBe(1);
    expect(value(samples, 'interview_feeds_refreshes_total', { kind: 'full', outcome: 'failure' })).toBeUndefined();
    expect(types.get('interview_feeds_refresh_duration_seconds')).toBe('histogram');
    expect(value(samples, 'interview_feeds_refresh_duration_seconds_count', { kind: 'full', outcome: 'success' })).toBe(1);
    expect(value(samples, 'interview_feeds_refresh_duration_seconds_count', { kind: 'incremental', outcome: 'failure' })).toBe(1);
    expect(value(samples, 'interview_feeds_refresh_duration_seconds_bucket', { kind: 'full', outcome: 'success', le: '+Inf' })).toBe(1);

    // The snapshot served: interviews, interviewers, age; records rejected by validation.
    expect(value(samples, 'interview_feeds_snapshot_interviews')).toBe(4);
    expect(value(samples, 'interview_feeds_snapshot_interviewers')).toBe(3);
    expect(value(samples, 'interview_feeds_snapshot_age_seconds')).toBe(90);
    expect(value(samples, 'interview_feeds_snapshot_synced_timestamp_seconds')).toBe((fake.clock - 90_000) / 1000);
    expect(value(samples, 'interview_feeds_rejected_records_total')).toBe(1);

    // HTTP requests by route pattern and status (never by URL: it holds feed tokens), with durations.
    const http = (route: string, status: string) => value(samples, 'interview_feeds_http_requests_total', { method: 'GET', route, status });
    expect(http('/feeds/:file', '200')).toBe(3);
    expect(http('/feeds/:file', '404')).toBe(1);
    expect(http('/healthz', '200')).toBe(1);
    expect(http('unmatched', '404')).toBe(1);
    expect(http('/metrics', '200')).toBe(1); // the first scrape; this one is counted once it has finished
    expect(value(samples, 'interview_feeds_http_request_duration_seconds_count', { method: 'GET', route: '/feeds/:file' })).toBe(4);
    expect(samples.filter((s) => s.name.startsWith('interview_feeds_http') && JSON.stringify(s.labels).includes('ada'))).toEqual([]);
    for (const sample of samples) expect(Object.values(sample.labels).join(' ')).not.toMatch(/[A-Za-z0-9_-]{40}/);

    // Feed renders and cache hits: Ada rendered once and then served from the cache, Grace rendered once.
    expect(value(samples, 'interview_feeds_feed_renders_total')).toBe(2);
    expect(value(samples, 'interview_feeds_feed_cache_hits_total')).toBe(1);
  });

  it('and /healthz reports the snapshot age, counts, and the last successful and failed refresh as JSON', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com'), komboUser('grace@example.com')] }),
      interviewRecord({ id: 'iv-2', users: [komboUser('grace@example.com')] }),
    ]);
    const service = buildTestService(fake);
    const app = request(service.app);
    // Before any refresh the last success and failure are null: the same keys as later, for dashboards.
    const summary = (byStatus: Record<string, number>, interviews: number, stalestAgeSeconds: number | null) => ({
      total: 1,
      byStatus: { new: 0, ok: 0, failing: 0, pending: 0, paused: 0, ...byStatus },
      interviews,
      interviewers: interviews,
      stalestSyncedAt: stalestAgeSeconds === null ? null : expect.any(String),
      stalestAgeSeconds,
      cachedFeeds: expect.any(Number),
    });
    expect((await app.get('/healthz').expect(200)).body).toEqual({
      status: 'ok',
      demo: false,
      ready: false,
      integrations: summary({ new: 1 }, 0, null),
      problems: { total: 0, byReason: {} },
      snapshot: null,
      sync: { running: false, consecutiveFailures: 0, lastSuccess: null, lastFailure: null, held: null },
    });
    await app.get('/readyz').expect(503);

    const syncedAt = fake.clock;
    await service.sync.refresh();
    fake.clock += 30_000;
    fake.fail({ type: 'status', status: 500 }, { times: 10 });
    await expect(service.sync.refresh()).rejects.toThrow();
    fake.clock += 15_000;

    const res = await app.get('/healthz').expect(200).expect('Content-Type', /application\/json/).expect('Cache-Control', 'no-store');
    expect(res.body).toEqual({
      status: 'ok',
      demo: false,
      ready: true,
      integrations: summary({ failing: 1 }, 2, 45),
      // One failed refresh with a snapshot serving is no problem yet (FAILURES_BEFORE_DEGRADED).
      problems: { total: 0, byReason: {} },
      snapshot: {
        interviews: 2,
        interviewers: 2,
        syncedAt: new Date(syncedAt).toISOString(),
        fullSyncedAt: new Date(syncedAt).toISOString(),
        ageSeconds: 45,
        cachedFeeds: expect.any(Number),
      },
      sync: {
        running: false,
        lastSuccess: expect.objectContaining({ kind: 'full', at: new Date(syncedAt).toISOString(), interviews: 2, interviewers: 2, pages: 1 }),
        // When and which walk failed, and the kind of failure; why is upstream text, shown only with the admin token.
        lastFailure: { at: new Date(syncedAt + 30_000).toISOString(), kind: 'incremental', reason: 'unreachable' },
        consecutiveFailures: 1,
        held: null,
      },
    });
    await app.get('/readyz').expect(200);
  });
});
