import { describe, expect, it } from 'vitest';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { createMetrics } from '../../src/metrics.js';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';
import type { RefreshSummary } from '../../src/sync/sync-status.js';
import { createWalkReport } from '../../src/sync/walk-report.js';
import { captureLogger } from '../helpers/test-service.js';

function report() {
  const { logger, logs } = captureLogger();
  const metrics = createMetrics({ defaults: false });
  return { report: createWalkReport({ logger, metrics }), logs, exposition: () => metrics.registry.metrics() };
}

const summary: RefreshSummary = {
  kind: 'incremental',
  startedAt: '2026-11-02T09:00:00.000Z',
  durationMs: 1_500,
  pages: 1,
  requests: 2,
  interviews: 10,
  interviewers: 3,
  changes: 1,
  changedFeeds: 1,
  rejectedRecords: 2,
};

describe('createWalkReport', () => {
  it('logs a success with its summary, and counts it, its duration and its rejected records', async () => {
    const { report: r, logs, exposition } = report();
    r.succeeded(summary);
    expect(logs.lines).toEqual([expect.objectContaining({ level: 'info', msg: 'refresh succeeded', refresh: { ...summary, outcome: 'success' } })]);
    const text = await exposition();
    expect(text).toMatch(/interview_feeds_refreshes_total\{kind="incremental",outcome="success"\} 1/);
    expect(text).toMatch(/interview_feeds_rejected_records_total 2/);
    expect(text).toMatch(/interview_feeds_refresh_duration_seconds_sum\{kind="incremental",outcome="success"\} 1\.5/);
  });

  it('logs a walk that changed nothing at debug, so an idle organisation adds no info line per refresh', async () => {
    const { report: r, logs, exposition } = report();
    r.succeeded({ ...summary, changes: 0, changedFeeds: 0 });
    expect(logs.lines).toEqual([expect.objectContaining({ level: 'debug', msg: 'refresh succeeded', refresh: expect.objectContaining({ changes: 0 }) })]);
    expect(await exposition()).toMatch(/interview_feeds_refreshes_total\{kind="incremental",outcome="success"\} 1/);
  });

  it('says what became of an invalid record', () => {
    const { report: r, logs } = report();
    r.rejected({ id: 'iv-1', path: 'starting_at', message: 'Invalid date' }, true);
    r.rejected({ id: null, path: 'id', message: 'Required' }, false);
    r.rejected({ id: 'iv-9', path: 'users', message: 'Expected array' }, false);
    expect(logs.lines.map((l) => [l.level, l.msg, l.recordId, l.kept])).toEqual([
      ['warn', 'invalid Kombo record: kept its last good version', 'iv-1', true],
      ['warn', 'invalid Kombo record: skipped, no readable id', null, false],
      ['warn', 'invalid Kombo record: skipped, no earlier version', 'iv-9', false],
    ]);
  });

  it('logs a Kombo failure as an error with status, code and attempts; a setup still pending at debug; a stopped walk at info', async () => {
    const { report: r, logs, exposition } = report();
    r.failed('full', 300, new KomboError('Kombo answered 503', { kind: 'http', status: 503, code: 'PLATFORM.X', attempts: 3 }), false);
    r.failed('full', 10, new KomboError('setting up', { kind: 'http', status: 503, code: 'INTEGRATION.SETUP_SYNC_PENDING' }), false);
    r.failed('incremental', 5, new KomboError('aborted', { kind: 'aborted' }), true);
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', 'refresh failed; the previous snapshot keeps serving every feed'],
      ['debug', 'refresh failed; the previous snapshot keeps serving every feed'],
      ['info', 'refresh aborted'],
    ]);
    expect(logs.lines[0]).toMatchObject({ status: 503, code: 'PLATFORM.X', attempts: 3, refresh: { kind: 'full', durationMs: 300, outcome: 'failure', error: 'Kombo answered 503' } });
    const text = await exposition();
    expect(text).toMatch(/interview_feeds_refreshes_total\{kind="full",outcome="failure"\} 2/);
    expect(text).toMatch(/interview_feeds_refreshes_total\{kind="incremental",outcome="aborted"\} 1/);
  });

  it('counts a lost lease and an unreachable store under outcomes of their own, as warnings', async () => {
    const { report: r, logs, exposition } = report();
    r.leaseLost('incremental', new Error('refused'));
    r.storeUnavailable('full', new StoreUnavailableError('no answer'));
    expect(logs.lines.map((l) => [l.level, (l.refresh as { outcome: string }).outcome, l.reason])).toEqual([
      ['warn', 'lease_lost', 'refused'],
      ['warn', 'redis_unavailable', 'no answer'],
    ]);
    const text = await exposition();
    expect(text).toMatch(/outcome="lease_lost"\} 1/);
    expect(text).toMatch(/outcome="redis_unavailable"\} 1/);
  });
});
