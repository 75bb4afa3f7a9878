import { describe, expect, it } from 'vitest';
import { Snapshot, type SnapshotData } from '../../src/interviews/snapshot.js';
import { createMetrics } from '../../src/metrics.js';
import { MassRemovalHeldError } from '../../src/sync/mass-removal-guard.js';
import { createRemovalCheck } from '../../src/sync/removal-check.js';
import { domainInterview } from '../helpers/factories.js';
import { captureLogger } from '../helpers/test-service.js';

const T = Date.UTC(2026, 10, 2, 9);
const HOUR = 3_600_000;

function snapshot(count: number): Snapshot {
  const data: SnapshotData = {
    format: 1,
    integrationId: 'greenhouse:test',
    syncedAtMs: T,
    fullSyncedAtMs: T,
    firstSyncedAtMs: T,
    interviews: Array.from({ length: count }, (_, n) => domainInterview({ id: `iv-${String(n).padStart(3, '0')}` })),
    feedChangedAtMs: {},
  };
  return Snapshot.fromData(data);
}

function check(now = () => T) {
  const { logger, logs } = captureLogger();
  const metrics = createMetrics({ defaults: false });
  return { removals: createRemovalCheck({ holdMs: 24 * HOUR, logger, metrics, now }), logs, metrics };
}

const all = snapshot(100);
const few = snapshot(10);

describe('createRemovalCheck', () => {
  it('lets a walk through that removes little, saying nothing', () => {
    const { removals, logs } = check();
    removals.check({ kind: 'full', startedAtMs: T, base: all, next: snapshot(90), confirmed: false });
    expect(removals.held()).toBeNull();
    expect(logs.lines).toHaveLength(0);
  });

  it('holds a walk that removes most interviews: logged as an error once, then as a warning, counted as held', async () => {
    const { removals, logs, metrics } = check(() => T + 2_000);
    const walk = { kind: 'full' as const, startedAtMs: T, base: all, next: few, confirmed: false };
    expect(() => removals.check(walk)).toThrow(MassRemovalHeldError);
    expect(() => removals.check({ ...walk, startedAtMs: T + HOUR })).toThrow(MassRemovalHeldError);
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', 'held a walk that would remove 90 of 100 interviews; feeds keep serving the previous snapshot'],
      ['warn', 'still holding a walk that would remove 90 of 100 interviews'],
    ]);
    expect(removals.held()).toMatchObject({ removals: 90, of: 100, since: new Date(T).toISOString() });
    expect(await metrics.registry.metrics()).toMatch(/interview_feeds_refreshes_total\{kind="full",outcome="held"\} 2/);
  });

  it('applies a held removal an operator confirms, and says so', () => {
    const { removals, logs } = check();
    expect(() => removals.check({ kind: 'full', startedAtMs: T, base: all, next: few, confirmed: false })).toThrow(MassRemovalHeldError);
    removals.check({ kind: 'full', startedAtMs: T + 1, base: all, next: few, confirmed: true });
    expect(removals.held()).toBeNull();
    expect(logs.lines.at(-1)).toMatchObject({ level: 'warn', msg: 'applied the removal of 90 of 100 interviews: an operator confirmed it' });
  });

  it('applies it once full walks agreed for the hold time, and clears a hold a walk no longer reports', () => {
    const { removals, logs } = check();
    const held = { kind: 'full' as const, base: all, next: few, confirmed: false };
    expect(() => removals.check({ ...held, startedAtMs: T })).toThrow(MassRemovalHeldError);
    removals.check({ ...held, startedAtMs: T + 24 * HOUR });
    expect(logs.lines.at(-1)).toMatchObject({ level: 'warn', msg: 'applied the removal of 90 of 100 interviews: full walks agreed on it for MASS_REMOVAL_HOLD_HOURS' });

    const again = check();
    expect(() => again.removals.check({ ...held, startedAtMs: T })).toThrow(MassRemovalHeldError);
    again.removals.check({ ...held, startedAtMs: T + HOUR, next: all });
    expect(again.removals.held()).toBeNull();
    expect(again.logs.lines.at(-1)).toMatchObject({ level: 'info', msg: 'a walk no longer removes most interviews: the hold is cleared' });
  });
});
