import { describe, expect, it } from 'vitest';
import {
  isRejectedLinked,
  LinkedBuilder,
  linkedDelta,
  parseLinkedRecord,
  patchLinked,
  personOf,
  redactConfidential,
  resolveInterview,
  type LinkedData,
  type LinkedModel,
  type ParsedLinked,
} from '../../src/interviews/linked-records.js';
import { snapshotDataSchema, snapshotDeltaSchema } from '../../src/interviews/snapshot-store.js';
import { applyWalk, Snapshot, snapshotDelta } from '../../src/interviews/snapshot.js';
import { domainInterview } from '../helpers/factories.js';

function parsed<M extends LinkedModel>(model: M, raw: Record<string, unknown>): ParsedLinked<M> {
  const result = parseLinkedRecord(model, raw);
  if (isRejectedLinked(result)) throw new Error(`rejected: ${result.path} ${result.message}`);
  return result;
}

function build(before: LinkedData | undefined, records: [LinkedModel, Record<string, unknown>][]): { linked: LinkedData; builder: LinkedBuilder } {
  const builder = new LinkedBuilder(before);
  for (const [model, raw] of records) builder.apply(model, parsed(model, raw), () => true);
  return { linked: builder.finish(), builder };
}

describe('parseLinkedRecord', () => {
  it('reads what feeds need of each model, lenient where a feed can do without', () => {
    expect(parsed('users', { id: 'u1', first_name: 'Ada', last_name: 'Lovelace', email: ' Ada@Example.COM ', status: 'ACTIVE', remote_data: { x: 1 } })).toEqual({
      id: 'u1',
      value: { email: 'ada@example.com', name: 'Ada Lovelace', active: true },
    });
    expect(parsed('users', { id: 'u1', email: 'a@x.com', status: 'INACTIVE' }).value).toMatchObject({ active: false });
    // No status from the ATS is no reason to end anyone's access.
    expect(parsed('users', { id: 'u1', email: 'a@x.com', status: null }).value).toMatchObject({ active: true });
    expect(parsed('jobs', { id: 'j1', name: 'Chemist', visibility: 'CONFIDENTIAL' }).value).toEqual({ name: 'Chemist', confidential: true });
    expect(parsed('jobs', { id: 'j1', name: 'Chemist', visibility: 'INTERNAL', confidential: true }).value).toEqual({ name: 'Chemist', confidential: true });
    expect(parsed('jobs', { id: 'j1', name: 42, visibility: ['x'], confidential: 'yes' }).value).toEqual({ name: null, confidential: false });
    expect(parsed('candidates', { id: 'c1', first_name: 'Marie', last_name: 'Curie', confidential: true, remote_url: 'https://ats.example.com/c1' }).value).toEqual({
      name: 'Marie Curie',
      confidential: true,
      remoteUrl: 'https://ats.example.com/c1',
    });
    expect(parsed('applications', { id: 'a1', candidate_id: 'c1', job_id: 'j1', remote_url: 'https://ats.example.com/a1' }).value).toEqual({
      remoteUrl: 'https://ats.example.com/a1',
      candidateId: 'c1',
      jobId: 'j1',
    });
    expect(parsed('applications', { id: 'a1', candidate: { id: 'c2' }, job: { id: 'j2' }, candidate_id: 'c1' }).value).toMatchObject({ candidateId: 'c2', jobId: 'j2' });
  });

  it('offers only an http(s) link within 2,048 characters into the ATS', () => {
    for (const url of ['javascript:alert(1)', 'ftp://ats.example.com/x', `https://ats.example.com/${'x'.repeat(2_100)}`, '   ']) {
      expect(parsed('applications', { id: 'a1', remote_url: url }).value).toMatchObject({ remoteUrl: null });
    }
  });

  it('reads a deleted record as deleted, and refuses one without a readable id or that is no object', () => {
    expect(parsed('users', { id: 'u1', email: 'a@x.com', remote_deleted_at: '2026-11-01T00:00:00Z' }).value).toBe('deleted');
    expect(parseLinkedRecord('jobs', { id: 12345, name: 'x' })).toMatchObject({ model: 'jobs', id: null, path: 'id' });
    expect(parseLinkedRecord('jobs', 'garbage')).toMatchObject({ model: 'jobs', id: null, path: '(record)' });
  });
});

describe('LinkedBuilder', () => {
  it('a new address makes the old one a former address of the same person, and both lead to them', () => {
    const { linked: first } = build(undefined, [['users', { id: 'u1', first_name: 'Ada', email: 'ada@old.example' }]]);
    const { linked, builder } = build(first, [['users', { id: 'u1', first_name: 'Ada', email: 'ada@new.example' }]]);
    expect([...builder.changed.users]).toEqual(['u1']);
    expect(personOf(linked, 'ada@old.example')).toEqual({ email: 'ada@new.example', active: true, userId: 'u1', formerEmails: ['ada@old.example'] });
    expect(personOf(linked, 'ada@new.example')?.email).toBe('ada@new.example');
    expect(personOf(linked, 'nobody@example.com')).toBeUndefined();
    // The former table of the snapshot it started from is untouched (copy on write).
    expect(Object.keys(first.formerEmails)).toEqual([]);
  });

  it("an address handed to someone else is theirs now, not the former holder's", () => {
    const { linked: moved } = build(undefined, [['users', { id: 'u1', email: 'a@x.com' }]]);
    const { linked: renamed } = build(moved, [['users', { id: 'u1', email: 'b@x.com' }]]);
    const { linked } = build(renamed, [['users', { id: 'u2', email: 'a@x.com' }]]);
    expect(personOf(linked, 'a@x.com')?.userId).toBe('u2');
  });

  it('a deleted user is kept, inactive, with their last good name and address; a record unchanged changes nothing', () => {
    const { linked: first } = build(undefined, [['users', { id: 'u1', first_name: 'Ada', email: 'ada@x.com' }]]);
    const { linked, builder } = build(first, [['users', { id: 'u1', first_name: 'Anonymised', email: null, remote_deleted_at: '2026-11-01T00:00:00Z' }]]);
    expect(linked.users.u1).toEqual({ email: 'ada@x.com', name: 'Ada', active: false });
    expect(builder.changed.users.size).toBe(1);
    const again = build(linked, [['users', { id: 'u1', remote_deleted_at: '2026-11-01T00:00:00Z' }]]);
    expect(again.builder.changed.users.size).toBe(0);
    expect(again.linked.users).toBe(linked.users);
  });

  it('keeps only records an interview references, or that it holds already', () => {
    const builder = new LinkedBuilder(undefined);
    builder.apply('jobs', parsed('jobs', { id: 'j1', name: 'Wanted' }), (id) => id === 'j1');
    builder.apply('jobs', parsed('jobs', { id: 'j2', name: 'Unrelated' }), (id) => id === 'j1');
    expect(Object.keys(builder.finish().jobs)).toEqual(['j1']);
  });
});

describe('resolveInterview', () => {
  const { linked } = build(undefined, [
    ['users', { id: 'u1', first_name: 'Ada', last_name: 'King', email: 'ada@new.example' }],
    ['jobs', { id: 'job-1', name: 'Platform Engineer', visibility: 'CONFIDENTIAL' }],
    ['candidates', { id: 'cand-2', first_name: 'Lise', last_name: 'Meitner', remote_url: 'https://ats.example.com/c2' }],
    ['applications', { id: 'app-1', candidate_id: 'cand-2', job_id: 'job-1', remote_url: null }],
  ]);
  const interview = domainInterview({
    applicationId: 'app-1',
    candidateId: 'cand-1',
    candidateName: 'Marie Curie',
    jobName: 'Backend Engineer',
    jobId: 'job-1',
    interviewers: [
      { email: 'ada@old.example', name: 'Ada Lovelace', userId: 'u1' },
      { email: 'grace@example.com', name: 'Grace Hopper', userId: 'u-unknown' },
    ],
  });

  it('takes names, addresses, the ATS link and confidentiality from the linked records; the embedded copy where none is held', () => {
    const resolved = resolveInterview(interview, linked);
    expect(resolved).toMatchObject({
      candidateId: 'cand-2',
      candidateName: 'Lise Meitner',
      jobName: 'Platform Engineer',
      atsUrl: 'https://ats.example.com/c2',
      confidential: 'job',
      interviewers: [
        { email: 'ada@new.example', name: 'Ada King', userId: 'u1' },
        { email: 'grace@example.com', name: 'Grace Hopper', userId: 'u-unknown' },
      ],
    });
    // Idempotent: what it resolved resolves to itself, the same object.
    expect(resolveInterview(resolved, linked)).toBe(resolved);
  });

  it('redacts a confidential job: no title, candidate or job; the rest stays', () => {
    const shown = redactConfidential(resolveInterview(interview, linked));
    expect(shown).toMatchObject({ title: null, candidateName: null, jobName: null, atsUrl: 'https://ats.example.com/c2', startMs: interview.startMs });
    expect(redactConfidential(interview)).toBe(interview);
  });
});

describe('linked records in snapshots and deltas', () => {
  it('a delta carries what changed of the linked records, and a replica patched with it (through JSON) holds the same', () => {
    const { linked: before } = build(undefined, [
      ['users', { id: '__proto__', email: 'constructor@example.com' }],
      ['jobs', { id: 'job-1', name: 'Backend Engineer' }],
      ['applications', { id: 'app-1', candidate_id: 'cand-1', job_id: 'job-1' }],
    ]);
    const base = Snapshot.fromData({ format: 1, integrationId: 'i', syncedAtMs: 1, fullSyncedAtMs: 1, firstSyncedAtMs: 1, interviews: [], feedChangedAtMs: {}, linked: before });
    const { linked: after } = build(before, [
      ['users', { id: '__proto__', email: 'toString@example.com' }],
      ['jobs', { id: 'job-1', remote_deleted_at: '2026-11-01T00:00:00Z' }],
    ]);
    const next = applyWalk(base, { kind: 'incremental', integrationId: 'i', startedAtMs: 2, records: [], linked: after }).snapshot;
    const delta = snapshotDelta(base, next, new Set());
    expect(delta.linked?.applications).toBeUndefined();
    const wire = snapshotDeltaSchema.parse(JSON.parse(JSON.stringify(delta)));
    const patched = Snapshot.patched(Snapshot.fromData(snapshotDataSchema.parse(JSON.parse(JSON.stringify(base.data)))), wire);
    expect(JSON.parse(JSON.stringify(patched.data.linked))).toEqual(JSON.parse(JSON.stringify(after)));
    expect(personOf(patched.data.linked, 'tostring@example.com')?.userId).toBe('__proto__');
    expect(Object.hasOwn(patched.data.linked!.jobs, 'job-1')).toBe(false);
    expect(linkedDelta(after, after)).toEqual({ formerEmails: after.formerEmails, syncedAtMs: after.syncedAtMs });
    expect(patchLinked(after, linkedDelta(after, after)).users).toBe(after.users);
  });

  it('a snapshot saved without linked records reads back, and one with them keeps them', () => {
    const { linked } = build(undefined, [['users', { id: 'u1', email: 'a@x.com', status: 'INACTIVE' }]]);
    const data = { format: 1, integrationId: 'i', syncedAtMs: 1, fullSyncedAtMs: 1, firstSyncedAtMs: 1, interviews: [], feedChangedAtMs: {} };
    expect(snapshotDataSchema.parse(data).linked).toBeUndefined();
    const read = snapshotDataSchema.parse(JSON.parse(JSON.stringify({ ...data, linked })));
    expect(personOf(read.linked, 'a@x.com')).toMatchObject({ active: false });
  });
});
