import { describe, expect, it } from 'vitest';
import { Snapshot, type SnapshotData } from '../../src/interviews/snapshot.js';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { createSyncStatus, elsewhereSummary, type RefreshSummary } from '../../src/sync/sync-status.js';
import { domainInterview } from '../helpers/factories.js';

const T = Date.UTC(2026, 10, 2, 9);

function snapshot(syncedAtMs: number, fullSyncedAtMs: number): Snapshot {
  const data: SnapshotData = {
    format: 1,
    integrationId: 'greenhouse:test',
    syncedAtMs,
    fullSyncedAtMs,
    firstSyncedAtMs: fullSyncedAtMs,
    interviews: [domainInterview({ id: 'iv-1' }), domainInterview({ id: 'iv-2' })],
    feedChangedAtMs: { 'ada@example.com': syncedAtMs },
  };
  return Snapshot.fromData(data);
}

const summary: RefreshSummary = {
  kind: 'full',
  startedAt: new Date(T).toISOString(),
  durationMs: 1_200,
  pages: 2,
  requests: 2,
  interviews: 2,
  interviewers: 1,
  changes: 2,
  changedFeeds: 1,
  rejectedRecords: 0,
};

describe('createSyncStatus', () => {
  it('starts with nothing known, and no store to wait for (the field is absent)', () => {
    const status = createSyncStatus(() => T);
    expect(status.view({ running: false, held: null })).toEqual({
      running: false,
      lastSuccess: undefined,
      lastFailure: undefined,
      consecutiveFailures: 0,
      held: null,
    });
  });

  it('counts failures in a row with the last one’s time, kind, message and Kombo code, and a success ends the run', () => {
    let now = T;
    const status = createSyncStatus(() => now);
    status.failed('incremental', new KomboError('Kombo answered 503', { kind: 'http', status: 503, code: 'PLATFORM.UNAVAILABLE' }));
    now += 1_000;
    status.failed('full', new Error('socket hang up'));
    expect(status.view({ running: true, held: null })).toMatchObject({
      running: true,
      consecutiveFailures: 2,
      lastFailure: { at: new Date(T + 1_000).toISOString(), kind: 'full', error: 'socket hang up', code: null },
    });
    now += 1_000;
    status.succeeded(summary);
    const view = status.view({ running: false, held: null });
    expect(view.consecutiveFailures).toBe(0);
    expect(view.lastSuccess).toEqual({ ...summary, at: new Date(T + 2_000).toISOString() });
    // The last failure stays known (the admin API shows when it was).
    expect(view.lastFailure?.error).toBe('socket hang up');
  });

  it('counts a walk taken in from another walker as a success here, stamped with its sync time', () => {
    const status = createSyncStatus(() => T + 60_000);
    status.failed('full', new Error('x'));
    status.tookIn(snapshot(T, T - 3_600_000), {});
    expect(status.view({ running: false, held: null })).toMatchObject({
      consecutiveFailures: 0,
      lastSuccess: {
        kind: 'incremental',
        startedAt: new Date(T).toISOString(),
        at: new Date(T).toISOString(),
        durationMs: 0,
        interviews: 2,
        interviewers: 1,
        changes: 0,
        walkedElsewhere: true,
      },
    });
    status.tookIn(snapshot(T, T), {});
    expect(status.view({ running: false, held: null }).lastSuccess?.kind).toBe('full');
  });

  it('does not count a snapshot an earlier process left as a success: it says nothing of Kombo today', () => {
    const status = createSyncStatus(() => T);
    status.tookIn(snapshot(T, T), { restored: true });
    expect(status.view({ running: false, held: null })).toMatchObject({ lastSuccess: undefined, consecutiveFailures: 0 });
  });

  it('says walks wait for the store while they do; true only for the call that began the wait; taking a snapshot in ends it', () => {
    const status = createSyncStatus(() => T);
    expect(status.waitForStore(true)).toBe(true);
    expect(status.waitForStore(true)).toBe(false);
    expect(status.view({ running: false, held: null }).waitingForStore).toBe(true);
    expect(status.waitForStore(false)).toBe(false);
    expect(status.view({ running: false, held: null })).not.toHaveProperty('waitingForStore');
    status.waitForStore(true);
    status.tookIn(snapshot(T, T), { restored: true });
    expect(status.waitingForStore()).toBe(false);
  });
});

describe('elsewhereSummary', () => {
  it('counts nothing but what is served, and says the walk was made elsewhere', () => {
    expect(elsewhereSummary('full', T, T + 250, snapshot(T, T))).toEqual({
      kind: 'full',
      startedAt: new Date(T).toISOString(),
      durationMs: 250,
      pages: 0,
      requests: 0,
      interviews: 2,
      interviewers: 1,
      changes: 0,
      changedFeeds: 0,
      rejectedRecords: 0,
      walkedElsewhere: true,
    });
    expect(elsewhereSummary('incremental', T, T, undefined)).toMatchObject({ interviews: 0, interviewers: 0 });
  });
});
