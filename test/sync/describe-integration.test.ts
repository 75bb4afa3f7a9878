import { describe, expect, it } from 'vitest';
import { describeIntegration, type DescribedIntegration } from '../../src/sync/describe-integration.js';
import { Snapshot } from '../../src/interviews/snapshot.js';
import { domainInterview } from '../helpers/factories.js';

const ADDED = Date.UTC(2026, 0, 2, 3, 4, 5);
const SYNCED = Date.UTC(2026, 0, 3);

function integration(status: ReturnType<DescribedIntegration['engine']['status']>): DescribedIntegration {
  return {
    id: 'int-1',
    entry: () => ({ id: 'int-1', seq: 0, addedAtMs: ADDED, source: 'api', pausedAtMs: null, pausedState: null, tool: 'Greenhouse', organization: 'Acme' }),
    status: () => 'failing',
    engine: { status: () => status },
  };
}

const snapshot = Snapshot.fromData({
  format: 1,
  integrationId: 'int-1',
  syncedAtMs: SYNCED,
  fullSyncedAtMs: SYNCED - 1000,
  firstSyncedAtMs: 0,
  interviews: [
    domainInterview({ id: 'iv-1' }),
    domainInterview({ id: 'iv-2', interviewers: [{ email: 'grace@example.com', name: 'Grace Hopper' }] }),
    domainInterview({ id: 'iv-3' }),
  ],
  feedChangedAtMs: {},
});

describe('describeIntegration', () => {
  it('says what the registry, the snapshot and the last walks say, times in ISO form', () => {
    const failure = { at: '2026-01-04T00:00:00.000Z', kind: 'incremental' as const, error: 'Kombo answered 502', code: 'PLATFORM.X', reason: 'unreachable' as const };
    const described = describeIntegration(
      integration({ running: true, lastSuccess: undefined, lastFailure: failure, consecutiveFailures: 2, held: null }),
      { snapshot: () => snapshot },
    );
    expect(described).toEqual({
      id: 'int-1',
      status: 'failing',
      tool: 'Greenhouse',
      organization: 'Acme',
      source: 'api',
      addedAt: '2026-01-02T03:04:05.000Z',
      pausedAt: null,
      pausedState: null,
      interviews: 3,
      interviewers: 2,
      syncedAt: '2026-01-03T00:00:00.000Z',
      fullSyncedAt: '2026-01-02T23:59:59.000Z',
      running: true,
      lastSuccessAt: null,
      lastFailureAt: '2026-01-04T00:00:00.000Z',
      lastError: 'Kombo answered 502',
      lastErrorCode: 'PLATFORM.X',
      lastErrorReason: 'unreachable',
      consecutiveFailures: 2,
      held: null,
    });
  });

  it('shows no error once a walk succeeded after it, and nothing of a snapshot before the first', () => {
    const failure = { at: '2026-01-04T00:00:00.000Z', kind: 'full' as const, error: 'old', code: null, reason: 'other' as const };
    const described = describeIntegration(
      integration({ running: false, lastSuccess: undefined, lastFailure: failure, consecutiveFailures: 0, held: null }),
      { snapshot: () => undefined },
    );
    expect(described).toMatchObject({ lastFailureAt: '2026-01-04T00:00:00.000Z', lastError: null, lastErrorCode: null, lastErrorReason: null, interviews: 0, interviewers: 0, syncedAt: null, fullSyncedAt: null });
  });
});
