import { describe, expect, it } from 'vitest';
import { FAILURES_BEFORE_DEGRADED, integrationProblem } from '../../src/sync/integration-problem.js';
import type { IntegrationStatus } from '../../src/sync/sync-scheduler.js';
import type { SyncStatus } from '../../src/sync/sync-status.js';

const failure = { at: '2026-01-01T00:00:00.000Z', kind: 'full' as const, error: 'Kombo answered 401', code: null, reason: 'authentication' as const };
const held = { removals: 90, of: 100, since: failure.at, kind: 'full' as const, lastHeldAt: failure.at, appliesFrom: null };

function integration(status: IntegrationStatus, snapshot: boolean, sync: Partial<SyncStatus>) {
  const full: SyncStatus = { running: false, lastSuccess: undefined, lastFailure: undefined, consecutiveFailures: 0, held: null, ...sync };
  return { id: 'int-1', status: () => status, engine: { status: () => full, hasSnapshot: () => snapshot } };
}

describe('integrationProblem', () => {
  it('sees none while starting, ok, or pending', () => {
    expect(integrationProblem(integration('new', false, {}))).toBeUndefined();
    expect(integrationProblem(integration('ok', true, {}))).toBeUndefined();
    expect(integrationProblem(integration('pending', false, { lastFailure: { ...failure, reason: 'setup_pending' }, consecutiveFailures: 4 }))).toBeUndefined();
  });

  it('sees a failure without a snapshot at once, with one after FAILURES_BEFORE_DEGRADED in a row', () => {
    expect(integrationProblem(integration('failing', false, { lastFailure: failure, consecutiveFailures: 1 }))).toEqual({
      integration: 'int-1',
      status: 'failing',
      reason: 'authentication',
      snapshot: false,
      consecutiveFailures: 1,
    });
    expect(integrationProblem(integration('failing', true, { lastFailure: failure, consecutiveFailures: FAILURES_BEFORE_DEGRADED - 1 }))).toBeUndefined();
    expect(integrationProblem(integration('failing', true, { lastFailure: failure, consecutiveFailures: FAILURES_BEFORE_DEGRADED }))).toMatchObject({ reason: 'authentication', snapshot: true });
  });

  it('sees a held mass removal first, and a pause only without a snapshot', () => {
    expect(integrationProblem(integration('ok', true, { held }))).toMatchObject({ reason: 'held' });
    expect(integrationProblem(integration('failing', true, { held, lastFailure: failure, consecutiveFailures: 5 }))).toMatchObject({ reason: 'held' });
    expect(integrationProblem(integration('paused', true, {}))).toBeUndefined();
    expect(integrationProblem(integration('paused', false, {}))).toMatchObject({ reason: 'paused' });
  });
});
