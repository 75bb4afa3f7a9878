import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ParsedRecord } from '../../src/interviews/interview-schema.js';
import {
  applyWalk,
  FORMER_INTERVIEWER_MARGIN_DAYS,
  formerInterviewerRetentionMs,
  Snapshot,
  type Walk,
} from '../../src/interviews/snapshot.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { readSnapshotJson } from '../helpers/snapshot-file.js';
import { domainInterview } from '../helpers/factories.js';

const T0 = Date.UTC(2026, 10, 1, 12);
const DAY = 86_400_000;
const RETAIN = formerInterviewerRetentionMs(90);
const options = { formerInterviewerRetentionMs: RETAIN };

/** A live interview of `email`, built as the schema would (no zod per record: these tests make hundreds of thousands). */
function live(id: string, email: string, name = 'Temp Person'): ParsedRecord {
  return { id, interview: domainInterview({ id, interviewers: [{ email, name }] }) };
}

function walk(kind: Walk['kind'], startedAtMs: number, records: ParsedRecord[]): Walk {
  return { kind, integrationId: 'int', startedAtMs, records };
}

const STAFF = Array.from({ length: 10 }, (_, n) => live(`staff-${n}`, `staff${n}@example.com`, `Staff ${n}`));

describe('the side tables (feedChangedAtMs, formerNames)', () => {
  it('retain an interviewer without live interviews for the past window plus a margin', () => {
    expect(FORMER_INTERVIEWER_MARGIN_DAYS).toBe(30);
    expect(formerInterviewerRetentionMs(90)).toBe(120 * DAY);
    expect(formerInterviewerRetentionMs(0)).toBe(30 * DAY);
  });

  it('stay bounded after 400,000 transient interviewers came and went, and a refresh that changed nothing copies neither', () => {
    // The state the walks leave after 400,000 one-off interviewers came and went (each listed once, then not):
    // built directly, since 400,000 walks' worth of records would cost far more than what is tested here.
    const TRANSIENT = 400_000;
    const base = applyWalk(undefined, walk('full', T0, STAFF), options).snapshot;
    const feedChangedAtMs: Record<string, number> = { ...base.data.feedChangedAtMs };
    const formerNames: Record<string, string> = {};
    const leftAtMs = T0 + 3_600_000;
    for (let n = 0; n < TRANSIENT; n++) {
      const email = `t${n}@example.com`;
      feedChangedAtMs[email] = leftAtMs - (TRANSIENT - n); // one leaving each millisecond, the last at leftAtMs - 1
      formerNames[email] = 'Temp Person';
    }
    let snapshot = Snapshot.fromData({ ...base.data, syncedAtMs: leftAtMs, feedChangedAtMs, formerNames });
    expect(snapshot.names.size).toBe(10 + TRANSIENT);
    const lastChange = snapshot.feedChangedAt(`t${TRANSIENT - 1}@example.com`);

    // A refresh that changed nothing reuses the tables and the name index: nothing is copied. (Full walks, which
    // index the whole snapshot anyway, are checked on a smaller state below.)
    const incremental = applyWalk(snapshot, walk('incremental', leftAtMs + 5 * 60_000, [STAFF[0]!]), options);
    expect(incremental.changes).toBe(0);
    expect(incremental.snapshot.data.feedChangedAtMs).toBe(feedChangedAtMs);
    expect(incremental.snapshot.data.formerNames).toBe(formerNames);
    expect(incremental.snapshot.names).toBe(snapshot.names);
    snapshot = incremental.snapshot;

    // Once it has passed for them, a full walk leaves only the staff in the tables.
    const pruned = applyWalk(snapshot, walk('full', leftAtMs + RETAIN, STAFF), options);
    expect(Object.keys(pruned.snapshot.data.feedChangedAtMs).sort()).toEqual(Array.from({ length: 10 }, (_, n) => `staff${n}@example.com`).sort());
    expect(pruned.snapshot.data.formerNames).toEqual({});
    expect(pruned.snapshot.names.size).toBe(10);
    // Their (empty) feeds must be rendered again: they now go by their address.
    expect(pruned.changedEmails.has('t3@example.com')).toBe(true);
    expect(pruned.changedEmails.size).toBe(TRANSIENT);
    // Last-Modified never goes back: a pruned interviewer's is still their last change, or later.
    expect(pruned.snapshot.data.prunedChangedAtMs).toBe(lastChange);
    expect(pruned.snapshot.feedChangedAt(`t${TRANSIENT - 1}@example.com`)).toBe(lastChange);
    expect(pruned.snapshot.feedChangedAt('t0@example.com')).toBeGreaterThanOrEqual(leftAtMs - TRANSIENT);
    // A staff member's own Last-Modified is untouched.
    expect(pruned.snapshot.feedChangedAt('staff0@example.com')).toBe(T0);
    // About 2 s of CPU on an idle machine (a full walk indexes 400,000 former names twice over); room for a busy one.
  }, 90_000);

  it('prune interviewers who came and went through walks, not before the retention has passed, copying nothing on a walk that changed nothing', () => {
    let snapshot = applyWalk(undefined, walk('full', T0, STAFF), options).snapshot;
    for (let round = 0; round < 4; round++) {
      const transient = Array.from({ length: 500 }, (_, n) => live(`t${round}-${n}`, `t${round}-${n}@example.com`));
      snapshot = applyWalk(snapshot, walk('full', T0 + (round + 1) * 60_000, [...STAFF, ...transient]), options).snapshot;
    }
    const leftAtMs = T0 + 5 * 60_000;
    snapshot = applyWalk(snapshot, walk('full', leftAtMs, STAFF), options).snapshot;
    expect(Object.keys(snapshot.data.feedChangedAtMs)).toHaveLength(10 + 2_000);
    expect(Object.keys(snapshot.data.formerNames!)).toHaveLength(2_000);
    expect(snapshot.names.get('t2-7@example.com')).toBe('Temp Person');

    const tables = [snapshot.data.feedChangedAtMs, snapshot.data.formerNames];
    for (const kind of ['incremental', 'full'] as const) {
      const again = applyWalk(snapshot, walk(kind, leftAtMs + 60_000, STAFF), options);
      expect(again.changes, kind).toBe(0);
      expect([again.snapshot.data.feedChangedAtMs, again.snapshot.data.formerNames], kind).toEqual(tables);
      expect(again.snapshot.data.feedChangedAtMs, kind).toBe(tables[0]);
      expect(again.snapshot.data.formerNames, kind).toBe(tables[1]);
    }
    // The first of them left a minute after their first walk: to the millisecond of the retention, everyone stays.
    const early = applyWalk(snapshot, walk('full', T0 + 2 * 60_000 + RETAIN, STAFF), options).snapshot;
    expect(early.data.feedChangedAtMs).toBe(tables[0]);
    expect(early.names.get('t3-499@example.com')).toBe('Temp Person');
    const pruned = applyWalk(early, walk('full', leftAtMs + RETAIN + 1, STAFF), options).snapshot;
    expect(Object.keys(pruned.data.feedChangedAtMs)).toHaveLength(10);
    expect(pruned.data.formerNames).toEqual({});
    expect(pruned.feedChangedAt('t3-499@example.com')).toBe(leftAtMs);
  });

  it('keeps interviewers with live interviews however long ago their feed changed, and prunes on full walks only', () => {
    let snapshot = applyWalk(undefined, walk('full', T0, [live('a', 'ada@example.com', 'Ada'), live('g', 'grace@example.com', 'Grace')]), options).snapshot;
    snapshot = applyWalk(snapshot, walk('incremental', T0 + 60_000, [{ id: 'g', interview: null, reason: 'canceled' }]), options).snapshot;
    const later = T0 + 60_000 + RETAIN + DAY;
    // An incremental walk never scans the tables.
    const incremental = applyWalk(snapshot, walk('incremental', later, []), options).snapshot;
    expect(incremental.data.feedChangedAtMs).toBe(snapshot.data.feedChangedAtMs);
    expect(incremental.names.get('grace@example.com')).toBe('Grace');
    const full = applyWalk(incremental, walk('full', later, [live('a', 'ada@example.com', 'Ada')]), options).snapshot;
    expect(full.data.feedChangedAtMs).toEqual({ 'ada@example.com': T0 });
    expect(full.names.has('grace@example.com')).toBe(false);
    expect(full.feedChangedAt('grace@example.com')).toBe(T0 + 60_000);
    // Without a retention, nobody is pruned.
    expect(applyWalk(incremental, walk('full', later, [live('a', 'ada@example.com', 'Ada')])).snapshot.names.get('grace@example.com')).toBe('Grace');
  });

  it('gives a pruned interviewer who comes back a Last-Modified later than any they had', () => {
    let snapshot = applyWalk(undefined, walk('full', T0, [live('a', 'ada@example.com'), live('g', 'grace@example.com')]), options).snapshot;
    // Two changes in one walk's second: Grace's recorded change is a second after the walk's start.
    snapshot = applyWalk(snapshot, walk('incremental', T0 + 60_000, [{ id: 'g', interview: null, reason: 'canceled' }]), options).snapshot;
    snapshot = applyWalk(snapshot, walk('incremental', T0 + 60_000, [live('g2', 'grace@example.com')]), options).snapshot;
    snapshot = applyWalk(snapshot, walk('incremental', T0 + 60_000, [{ id: 'g2', interview: null, reason: 'canceled' }]), options).snapshot;
    const graceLast = snapshot.feedChangedAt('grace@example.com');
    expect(graceLast).toBe(T0 + 62_000);
    snapshot = applyWalk(snapshot, walk('full', T0 + RETAIN + DAY, [live('a', 'ada@example.com')]), options).snapshot;
    expect(snapshot.data.feedChangedAtMs).not.toHaveProperty('grace@example.com');
    expect(snapshot.feedChangedAt('grace@example.com')).toBe(graceLast);
    const back = applyWalk(snapshot, walk('incremental', T0 + 60_000, [live('g3', 'grace@example.com')]), options).snapshot;
    expect(back.feedChangedAt('grace@example.com')).toBeGreaterThan(graceLast);
  });

  it('survive a save and load with the pruned floor, and a file saved before pruning existed still loads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'side-tables-'));
    const store = createFileSnapshotStore(dir);
    let snapshot = applyWalk(undefined, walk('full', T0, [live('a', 'ada@example.com'), live('g', 'grace@example.com')]), options).snapshot;
    snapshot = applyWalk(snapshot, walk('full', T0 + 60_000, [live('a', 'ada@example.com')]), options).snapshot;
    snapshot = applyWalk(snapshot, walk('full', T0 + RETAIN + DAY, [live('a', 'ada@example.com')]), options).snapshot;
    expect(snapshot.data.prunedChangedAtMs).toBe(T0 + 60_000);
    await store.save(snapshot.data);
    const loaded = Snapshot.fromData((await store.load('int'))!);
    expect(loaded.feedChangedAt('grace@example.com')).toBe(T0 + 60_000);

    // The same file as an older version wrote it: no prunedChangedAtMs.
    const path = join(dir, (await readdir(dir))[0]!);
    const { prunedChangedAtMs: _floor, ...old } = await readSnapshotJson(path);
    await writeFile(path, JSON.stringify(old));
    const fromOld = Snapshot.fromData((await store.load('int'))!);
    expect(fromOld.feedChangedAt('grace@example.com')).toBe(T0);
    expect(fromOld.feedChangedAt('ada@example.com')).toBe(T0);
  });
});
