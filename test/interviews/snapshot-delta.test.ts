import { describe, expect, it } from 'vitest';
import { isRejected, parseInterviewRecord } from '../../src/interviews/interview-schema.js';
import { applyWalk, Snapshot, snapshotDelta, type SnapshotDelta, type Walk } from '../../src/interviews/snapshot.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';

const T0 = Date.UTC(2026, 10, 1, 12);
const ADA = komboUser('ada@example.com', 'Ada', 'Lovelace');
const GRACE = komboUser('grace@example.com', 'Grace', 'Hopper');
const ALAN = komboUser('alan@example.com', 'Alan', 'Turing');

function walk(kind: Walk['kind'], startedAtMs: number, raws: Record<string, unknown>[]): Walk {
  const records = raws.map((raw) => {
    const result = parseInterviewRecord(raw);
    if (isRejected(result)) throw new Error(`rejected: ${result.path}`);
    return result;
  });
  return { kind, integrationId: 'int-1', startedAtMs, records };
}

/** Everything a feed is rendered from: the data, each interviewer's list and name. */
function served(snapshot: Snapshot) {
  return {
    data: snapshot.data,
    byEmail: [...snapshot.byEmail].map(([email, list]) => [email, list.map((interview) => interview.id)]),
    // Map order is no part of a feed: by email.
    names: [...snapshot.names].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  };
}

describe('snapshot deltas (what a replica that did not walk applies)', () => {
  it('turn the snapshot a replica read whole into exactly what the walker derived, walk after walk', () => {
    let walker = applyWalk(undefined, walk('full', T0, [
      interviewRecord({ id: 'iv-1', users: [ADA, GRACE] }),
      interviewRecord({ id: 'iv-2', users: [GRACE] }),
      interviewRecord({ id: 'iv-3', users: [ALAN], starting_at: '2026-12-03T10:00:00.000Z', ending_at: '2026-12-03T11:00:00.000Z' }),
    ])).snapshot;
    // The replica starts from the walker's data read back whole, as from Redis.
    let replica = Snapshot.fromData(JSON.parse(JSON.stringify(walker.data)));
    const steps: Record<string, unknown>[][] = [
      [], // nothing changed: only the walk's time moves
      [interviewRecord({ id: 'iv-2', title: 'Moved', users: [GRACE], changed_at: '2026-11-02T09:00:00.000Z', remote_updated_at: '2026-11-02T09:00:00.000Z' })],
      [interviewRecord({ id: 'iv-4', title: 'New', users: [ADA, ALAN] }), interviewRecord({ id: 'iv-1', canceled: true, users: [ADA, GRACE] })],
      [interviewRecord({ id: 'iv-3', users: [komboUser('alan@example.com', 'Alan M.', 'Turing')], changed_at: '2026-11-03T09:00:00.000Z' })],
      [interviewRecord({ id: 'iv-4', canceled: true, users: [ADA, ALAN] })],
    ];
    steps.forEach((raws, n) => {
      const applied = applyWalk(walker, walk('incremental', T0 + (n + 1) * 60_000, raws));
      const delta = snapshotDelta(walker, applied.snapshot, applied.changedEmails);
      // Through JSON, as it travels.
      replica = Snapshot.patched(replica, JSON.parse(JSON.stringify(delta)) as SnapshotDelta);
      walker = applied.snapshot;
      expect(served(replica), `after step ${n}`).toEqual(served(walker));
    });
    expect(replica.data.interviews.map((interview) => interview.id)).toEqual(['iv-2', 'iv-3']);
    expect(replica.names.get('alan@example.com')).toBe('Alan M. Turing');
  });

  it('cost what changed, not the side tables: the same one-interview change weighs the same beside 10 or 2,000 interviewers', () => {
    const sizes = [10, 2_000].map((people) => {
      const others = Array.from({ length: people }, (_, n) =>
        interviewRecord({ id: `o-${n}`, users: [komboUser(`person-${n}@example.com`, 'Person', String(n))], starting_at: '2026-12-05T10:00:00.000Z', ending_at: '2026-12-05T11:00:00.000Z' }),
      );
      const base = applyWalk(undefined, walk('full', T0, [interviewRecord({ id: 'iv-1', users: [ADA] }), ...others])).snapshot;
      // Every one of them stays in the side tables, and most leave the index: former interviewers.
      const gone = applyWalk(base, walk('incremental', T0 + 60_000, others.slice(1).map((record) => ({ ...record, canceled: true })))).snapshot;
      const replica = Snapshot.fromData(JSON.parse(JSON.stringify(gone.data)));
      const changed = applyWalk(gone, walk('incremental', T0 + 120_000, [interviewRecord({ id: 'iv-1', title: 'Moved', users: [ADA], changed_at: '2026-11-02T09:00:00.000Z' })]));
      const delta = snapshotDelta(gone, changed.snapshot, changed.changedEmails);
      expect(Object.keys(gone.data.feedChangedAtMs)).toHaveLength(people + 1);
      expect(served(Snapshot.patched(replica, JSON.parse(JSON.stringify(delta)) as SnapshotDelta))).toEqual(served(changed.snapshot));
      return JSON.stringify(delta).length;
    });
    expect(sizes[1]).toBe(sizes[0]);
  });

  it('carry interviews ageing out of the held window, so a replica holds what the walker holds', () => {
    const heldFrom = T0 - 92 * 86_400_000;
    const walker = applyWalk(undefined, walk('full', T0, [
      interviewRecord({ id: 'iv-1', users: [ADA], starting_at: '2026-11-02T10:00:00.000Z', ending_at: '2026-11-02T11:00:00.000Z' }),
      interviewRecord({ id: 'iv-2', users: [ADA, GRACE] }),
    ]), { heldFromMs: heldFrom }).snapshot;
    const replica = Snapshot.fromData(JSON.parse(JSON.stringify(walker.data)));
    // Three months on the window has passed iv-1: the incremental walk lists nothing, yet iv-1 leaves.
    const later = applyWalk(walker, walk('incremental', T0 + 95 * 86_400_000, []), { heldFromMs: heldFrom + 95 * 86_400_000 });
    expect(later).toMatchObject({ changes: 1, removals: 0, agedOut: 1 });
    const delta = snapshotDelta(walker, later.snapshot, later.changedEmails);
    expect(delta.removed).toEqual(['iv-1']);
    expect(served(Snapshot.patched(replica, JSON.parse(JSON.stringify(delta)) as SnapshotDelta))).toEqual(served(later.snapshot));
  });

  it('carry only what changed: an unchanged walk carries no interview', () => {
    const base = applyWalk(undefined, walk('full', T0, [interviewRecord({ id: 'iv-1', users: [ADA] })])).snapshot;
    const same = applyWalk(base, walk('incremental', T0 + 60_000, [interviewRecord({ id: 'iv-1', users: [ADA] })]));
    const delta = snapshotDelta(base, same.snapshot, same.changedEmails);
    expect(delta.updated).toEqual([]);
    expect(delta.removed).toEqual([]);
    expect(delta.syncedAtMs).toBe(T0 + 60_000);
  });
});

describe('names read back whole', () => {
  it('a snapshot read back whole names an interviewer as the walker does, after their interviews stop naming them', () => {
    const base = applyWalk(undefined, walk('full', T0, [interviewRecord({ id: 'iv-1', users: [komboUser('ann@example.com', 'Ann', 'Smith')] })])).snapshot;
    // The ATS sends the interview again without the interviewer's name: the calendar keeps the name it had.
    const walker = applyWalk(base, walk('incremental', T0 + 60_000, [interviewRecord({ id: 'iv-1', title: 'Renamed', users: [komboUser('ann@example.com', null, null)] })])).snapshot;
    expect(walker.names.get('ann@example.com')).toBe('Ann Smith');
    // A restart, or a replica reading the snapshot whole, must say the same (else its feed bytes differ).
    const whole = Snapshot.fromData(JSON.parse(JSON.stringify(walker.data)));
    expect(whole.names.get('ann@example.com')).toBe('Ann Smith');
    expect(served(whole)).toEqual(served(walker));
  });
});
