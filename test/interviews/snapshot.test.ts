import { describe, expect, it } from 'vitest';
import { isRejected, parseInterviewRecord, type ParsedRecord } from '../../src/interviews/interview-schema.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayeredMap } from '../../src/interviews/layered-map.js';
import { applyWalk, Snapshot, snapshotDelta, type Walk } from '../../src/interviews/snapshot.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';

const T0 = Date.UTC(2026, 10, 1, 12);

function records(...raws: Record<string, unknown>[]): ParsedRecord[] {
  return raws.map((raw) => {
    const result = parseInterviewRecord(raw);
    if (isRejected(result)) throw new Error(`rejected: ${result.path}`);
    return result;
  });
}

function walk(kind: Walk['kind'], startedAtMs: number, ...raws: Record<string, unknown>[]): Walk {
  return { kind, integrationId: 'int-1', startedAtMs, records: records(...raws) };
}

function ids(snapshot: Snapshot, email: string): string[] {
  return snapshot.interviewsOf(email).map((i) => i.id);
}

describe('Snapshot', () => {
  it('indexes each interview under every interviewer’s trimmed, lower-cased email', () => {
    const { snapshot } = applyWalk(
      undefined,
      walk(
        'full',
        T0,
        interviewRecord({ id: 'iv-1', users: [komboUser(' Ada@Example.COM'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
        interviewRecord({ id: 'iv-2', users: [komboUser('GRACE@example.com ', 'Grace', 'Hopper')] }),
      ),
    );
    expect(ids(snapshot, 'ada@example.com')).toEqual(['iv-1']);
    expect(ids(snapshot, 'grace@example.com')).toEqual(['iv-1', 'iv-2']);
    expect(ids(snapshot, 'Ada@Example.COM')).toEqual([]); // callers look up normalised emails only
    expect([...snapshot.byEmail.keys()].sort()).toEqual(['ada@example.com', 'grace@example.com']);
  });

  it('indexes nobody under a null email, and lists a doubled interviewer once', () => {
    const { snapshot } = applyWalk(
      undefined,
      walk('full', T0, interviewRecord({ id: 'iv-1', users: [komboUser(null, 'No', 'Email'), komboUser('ada@example.com'), komboUser('ADA@example.com')] })),
    );
    expect([...snapshot.byEmail.keys()]).toEqual(['ada@example.com']);
    expect(ids(snapshot, 'ada@example.com')).toEqual(['iv-1']);
  });

  it('leaves canceled, deleted and unscheduled interviews out', () => {
    const { snapshot } = applyWalk(
      undefined,
      walk(
        'full',
        T0,
        interviewRecord({ id: 'live-null', canceled: null }),
        interviewRecord({ id: 'live-false', canceled: false }),
        interviewRecord({ id: 'canceled', canceled: true }),
        interviewRecord({ id: 'deleted', remote_deleted_at: '2026-10-02T00:00:00Z' }),
        interviewRecord({ id: 'unscheduled', starting_at: null }),
      ),
    );
    expect(ids(snapshot, 'ada@example.com').sort()).toEqual(['live-false', 'live-null']);
  });

  it('sorts an interviewer’s interviews by start, then id', () => {
    const { snapshot } = applyWalk(
      undefined,
      walk(
        'full',
        T0,
        interviewRecord({ id: 'b-late', starting_at: '2026-12-03T10:00:00Z', ending_at: null }),
        interviewRecord({ id: 'b-early', starting_at: '2026-12-01T10:00:00Z', ending_at: null }),
        interviewRecord({ id: 'a-early', starting_at: '2026-12-01T10:00:00Z', ending_at: null }),
      ),
    );
    expect(ids(snapshot, 'ada@example.com')).toEqual(['a-early', 'b-early', 'b-late']);
  });

  it('names each interviewer from their most recently changed interview', () => {
    const { snapshot } = applyWalk(
      undefined,
      walk(
        'full',
        T0,
        interviewRecord({ id: 'iv-old', changed_at: '2026-01-01T00:00:00Z', remote_updated_at: null, users: [komboUser('ada@example.com', 'Ada', 'Byron')] }),
        interviewRecord({ id: 'iv-new', changed_at: '2026-06-01T00:00:00Z', remote_updated_at: null, users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] }),
      ),
    );
    expect(snapshot.names.get('ada@example.com')).toBe('Ada Lovelace');
  });

  it('keeps the last record for an id when a walk lists it twice', () => {
    const { snapshot } = applyWalk(
      undefined,
      walk('full', T0, interviewRecord({ id: 'iv-1', title: 'First' }), interviewRecord({ id: 'iv-1', title: 'Second' })),
    );
    expect(snapshot.interviewsOf('ada@example.com').map((i) => i.title)).toEqual(['Second']);
  });
});

describe('applyWalk', () => {
  it('replaces the set whole on a full walk, and leaves the previous snapshot as it was', () => {
    const first = applyWalk(undefined, walk('full', T0, interviewRecord({ id: 'iv-1' }), interviewRecord({ id: 'iv-2' }))).snapshot;
    const second = applyWalk(first, walk('full', T0 + 60_000, interviewRecord({ id: 'iv-2' }), interviewRecord({ id: 'iv-3' })));
    expect(ids(second.snapshot, 'ada@example.com')).toEqual(['iv-2', 'iv-3'].sort());
    expect(ids(first, 'ada@example.com')).toEqual(['iv-1', 'iv-2']);
    expect(second.changes).toBe(2); // iv-1 left, iv-3 arrived
    expect(Object.isFrozen(second.snapshot.data.feedChangedAtMs)).toBe(true);
  });

  it('merges an incremental walk, removing what was canceled or deleted', () => {
    const first = applyWalk(
      undefined,
      walk('full', T0, interviewRecord({ id: 'iv-1' }), interviewRecord({ id: 'iv-2' }), interviewRecord({ id: 'iv-3' })),
    ).snapshot;
    const { snapshot } = applyWalk(
      first,
      walk(
        'incremental',
        T0 + 60_000,
        interviewRecord({ id: 'iv-1', canceled: true }),
        interviewRecord({ id: 'iv-2', remote_deleted_at: '2026-11-01T12:00:30Z' }),
        interviewRecord({ id: 'iv-4' }),
      ),
    );
    expect(ids(snapshot, 'ada@example.com')).toEqual(['iv-3', 'iv-4']);
  });

  it('says whose feeds changed: old and new interviewers of a moved interview, nobody for an unchanged one', () => {
    const first = applyWalk(
      undefined,
      walk(
        'full',
        T0,
        interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com')] }),
        interviewRecord({ id: 'iv-2', users: [komboUser('alan@example.com', 'Alan', 'Turing')] }),
      ),
    ).snapshot;
    const unchanged = applyWalk(
      first,
      walk(
        'full',
        T0 + 60_000,
        interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com')] }),
        interviewRecord({ id: 'iv-2', users: [komboUser('alan@example.com', 'Alan', 'Turing')] }),
      ),
    );
    expect(unchanged.changes).toBe(0);
    expect([...unchanged.changedEmails]).toEqual([]);

    const moved = applyWalk(
      unchanged.snapshot,
      walk(
        'full',
        T0 + 120_000,
        interviewRecord({ id: 'iv-1', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
        interviewRecord({ id: 'iv-2', users: [komboUser('alan@example.com', 'Alan', 'Turing')] }),
      ),
    );
    expect([...moved.changedEmails].sort()).toEqual(['ada@example.com', 'grace@example.com']);
    expect(ids(moved.snapshot, 'ada@example.com')).toEqual([]);
    expect(moved.snapshot.feedChangedAt('ada@example.com')).toBeGreaterThan(first.feedChangedAt('ada@example.com'));
  });

  it('raises the revision of an interview whose content changed without its timestamps moving', () => {
    const first = applyWalk(undefined, walk('full', T0, interviewRecord({ id: 'iv-1', title: 'Before' }))).snapshot;
    const { snapshot } = applyWalk(first, walk('full', T0 + 60_000, interviewRecord({ id: 'iv-1', title: 'After' })));
    const [before] = first.interviewsOf('ada@example.com');
    const [after] = snapshot.interviewsOf('ada@example.com');
    expect(after!.title).toBe('After');
    expect(after!.revisionMs).toBeGreaterThan(before!.revisionMs);
  });

  it('keeps the last good version of an interview whose record was rejected, in a full walk as in an incremental one', () => {
    const first = applyWalk(undefined, walk('full', T0, interviewRecord({ id: 'iv-1', title: 'Good' }), interviewRecord({ id: 'iv-2' }))).snapshot;
    for (const kind of ['full', 'incremental'] as const) {
      const applied = applyWalk(first, { ...walk(kind, T0 + 60_000, interviewRecord({ id: 'iv-2' })), rejectedIds: ['iv-1', 'never-seen'] });
      expect(applied.snapshot.byId.get('iv-1'), kind).toBe(first.byId.get('iv-1'));
      expect(ids(applied.snapshot, 'ada@example.com'), kind).toEqual(['iv-1', 'iv-2']);
      expect(applied.changes, kind).toBe(0);
      expect(applied.snapshot.byId.has('never-seen'), kind).toBe(false);
    }
    // A valid record for the id in the same walk is the newer word on it, whichever came first.
    const relisted = applyWalk(first, {
      ...walk('full', T0 + 60_000, interviewRecord({ id: 'iv-1', title: 'Newer' }), interviewRecord({ id: 'iv-2', canceled: true })),
      rejectedIds: ['iv-1', 'iv-2'],
    }).snapshot;
    expect(relisted.interviewsOf('ada@example.com').map((i) => i.title)).toEqual(['Newer']);
  });

  it('starts afresh when the previous snapshot belongs to another integration', () => {
    const other = applyWalk(undefined, { ...walk('full', T0, interviewRecord({ id: 'iv-x' })), integrationId: 'int-2' }).snapshot;
    const { snapshot } = applyWalk(other, walk('incremental', T0 + 60_000, interviewRecord({ id: 'iv-1' })));
    expect(snapshot.integrationId).toBe('int-1');
    expect(ids(snapshot, 'ada@example.com')).toEqual(['iv-1']);
  });
});

describe('former interviewers', () => {
  it('keep their last known name across walks and a save and load, once their last interview has gone', async () => {
    const first = applyWalk(undefined, {
      kind: 'full',
      integrationId: 'int',
      startedAtMs: T0,
      records: records(interviewRecord({ id: 'a', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] })),
    });
    const second = applyWalk(first.snapshot, {
      kind: 'incremental',
      integrationId: 'int',
      startedAtMs: T0 + 60_000,
      records: records(interviewRecord({ id: 'a', canceled: true })),
    });
    expect(second.snapshot.interviewsOf('grace@example.com')).toEqual([]);
    expect(second.snapshot.names.get('grace@example.com')).toBe('Grace Hopper');

    const store = createFileSnapshotStore(await mkdtemp(join(tmpdir(), 'former-names-')));
    await store.save(second.snapshot.data);
    expect(Snapshot.fromData((await store.load('int'))!).names.get('grace@example.com')).toBe('Grace Hopper');

    const third = applyWalk(second.snapshot, {
      kind: 'full',
      integrationId: 'int',
      startedAtMs: T0 + 120_000,
      records: records(interviewRecord({ id: 'b', users: [komboUser('grace@example.com', 'Grace', 'Brewster Hopper')] })),
    });
    expect(third.snapshot.names.get('grace@example.com')).toBe('Grace Brewster Hopper');
  });
});

describe('incremental re-indexing', () => {
  it('leaves the same indexes as indexing the whole snapshot afresh, over a run of random edits, moves and cancellations', () => {
    const people = ['ada@example.com', 'grace@example.com', 'alan@example.com', 'edsger@example.com'];
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const recordFor = (n: number, round: number) =>
      interviewRecord({
        id: `iv-${n}`,
        title: `Interview ${n} (${round})`,
        starting_at: new Date(T0 + Math.floor(random() * 20) * 3_600_000).toISOString(),
        ending_at: null,
        canceled: random() < 0.15,
        changed_at: new Date(T0 + round * 60_000).toISOString(),
        users: [komboUser(pick(people), pick(['Ada', 'Grace', 'Alan']), `L${round % 3}`), ...(random() < 0.4 ? [komboUser(pick(people), 'Second', 'Person')] : [])],
      });
    let snapshot = applyWalk(undefined, {
      kind: 'full',
      integrationId: 'int',
      startedAtMs: T0,
      records: records(...Array.from({ length: 30 }, (_, n) => recordFor(n, 0))),
    }).snapshot;
    for (let round = 1; round <= 40; round++) {
      const edits = Array.from({ length: 1 + Math.floor(random() * 4) }, () => recordFor(Math.floor(random() * 35), round));
      snapshot = applyWalk(snapshot, { kind: 'incremental', integrationId: 'int', startedAtMs: T0 + round * 60_000, records: records(...edits) }).snapshot;
      const afresh = Snapshot.fromData(snapshot.data);
      expect(new Map([...snapshot.byEmail].map(([email, list]) => [email, list.map((iv) => iv.id)]))).toEqual(
        new Map([...afresh.byEmail].map(([email, list]) => [email, list.map((iv) => iv.id)])),
      );
      expect(snapshot.names).toEqual(afresh.names);
      expect([...snapshot.byId.keys()].sort()).toEqual([...afresh.byId.keys()].sort());
    }
  });

  it('copies none of 50,000 interviews for a walk that changes one, and leaves the snapshot before it as it was', () => {
    const people = Array.from({ length: 500 }, (_, n) => `p${n}@example.com`);
    const many = Array.from({ length: 50_000 }, (_, n) =>
      interviewRecord({
        id: `iv-${n}`,
        starting_at: new Date(T0 + n * 60_000).toISOString(),
        ending_at: new Date(T0 + n * 60_000 + 1_800_000).toISOString(),
        users: [komboUser(people[n % people.length]!, 'P', String(n % people.length))],
      }),
    );
    const first = applyWalk(undefined, { kind: 'full', integrationId: 'int', startedAtMs: T0, records: records(...many) }).snapshot;
    const moved = interviewRecord({ ...many[7], title: 'Moved', starting_at: new Date(T0 - 3_600_000).toISOString(), changed_at: new Date(T0 + 1000).toISOString() });
    const next = applyWalk(first, { kind: 'incremental', integrationId: 'int', startedAtMs: T0 + 60_000, records: records(moved) });
    expect(next.changes).toBe(1);
    // What it touched: one entry over the same (unwritten) map by id, one interviewer's list; every other list shared.
    expect(LayeredMap.over(next.snapshot.byId).layer).toEqual({ base: first.byId, changes: 1 });
    const touched = people[7]!;
    for (const email of people) {
      if (email === touched) expect(next.snapshot.byEmail.get(email)).not.toBe(first.byEmail.get(email));
      else expect(next.snapshot.byEmail.get(email)).toBe(first.byEmail.get(email));
    }
    // Readers of either snapshot see their own version, whole.
    expect(first.byId.get('iv-7')?.title).toBe('Technical interview');
    expect(ids(first, touched)[0]).toBe('iv-7');
    expect(next.snapshot.byId.get('iv-7')?.title).toBe('Moved');
    expect(ids(next.snapshot, touched)[0]).toBe('iv-7');
    expect(next.snapshot.size).toBe(50_000);
    expect(next.snapshot.data.interviews.filter((interview) => interview.title === 'Moved').map((interview) => interview.id)).toEqual(['iv-7']);
    expect(first.data.interviews.filter((interview) => interview.title === 'Moved')).toEqual([]);
    // A replica applying the walk's delta touches as little, and so does the delta itself: one interview in it.
    const delta = snapshotDelta(first, next.snapshot, next.changedEmails);
    expect(delta.updated.map((interview) => interview.id)).toEqual(['iv-7']);
    const patched = Snapshot.patched(first, delta);
    expect(LayeredMap.over(patched.byId).layer).toEqual({ base: first.byId, changes: 1 });
    expect(patched.byEmail.get(people[8]!)).toBe(first.byEmail.get(people[8]!));
    expect(ids(patched, touched)).toEqual(ids(next.snapshot, touched));
  });

  it('costs one index swap, not a rebuild, when nothing changed', () => {
    const first = applyWalk(undefined, { kind: 'full', integrationId: 'int', startedAtMs: T0, records: records(interviewRecord()) });
    const again = applyWalk(first.snapshot, { kind: 'incremental', integrationId: 'int', startedAtMs: T0 + 60_000, records: records(interviewRecord()) });
    expect(again.changes).toBe(0);
    expect(again.changedEmails.size).toBe(0);
    expect(again.snapshot.byId).toBe(first.snapshot.byId);
    expect(again.snapshot.byEmail.get('ada@example.com')).toBe(first.snapshot.byEmail.get('ada@example.com'));
    expect(again.snapshot.data.syncedAtMs).toBe(T0 + 60_000);
  });
});
