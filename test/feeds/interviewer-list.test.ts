import { describe, expect, it } from 'vitest';
import { byNameThenEmail, interviewerName, isInterviewer, listInterviewers, searchInterviewers } from '../../src/feeds/interviewer-list.js';
import { Snapshot } from '../../src/interviews/snapshot.js';
import { domainInterview } from '../helpers/factories.js';

/** A snapshot where each person has one interview; `formerNames` names people with none. */
function snapshotOf(people: { email: string; name: string | null }[], formerNames: Record<string, string> = {}): Snapshot {
  return Snapshot.fromData({
    format: 1,
    integrationId: 'int-1',
    syncedAtMs: 0,
    fullSyncedAtMs: 0,
    firstSyncedAtMs: 0,
    interviews: people.map((person, n) => domainInterview({ id: `iv-${n}`, interviewers: [person] })),
    feedChangedAtMs: {},
    formerNames,
  });
}

const PEOPLE = [
  { email: 'zed@example.com', name: 'Ada Zed' },
  { email: 'b-ada@example.com', name: 'Ada Lovelace' },
  { email: 'a-ada@example.com', name: 'Ada Lovelace' },
  { email: 'nameless@example.com', name: null },
  { email: 'grace@example.com', name: 'grace hopper' },
];

describe('listing interviewers', () => {
  it('lists every interviewer by name (people without one by email), then by email', () => {
    expect(listInterviewers(snapshotOf(PEOPLE))).toEqual([
      { email: 'a-ada@example.com', name: 'Ada Lovelace' },
      { email: 'b-ada@example.com', name: 'Ada Lovelace' },
      { email: 'zed@example.com', name: 'Ada Zed' },
      { email: 'grace@example.com', name: 'grace hopper' },
      { email: 'nameless@example.com', name: null },
    ]);
  });

  it('orders ties by email as written, not by a collation that ignores punctuation', () => {
    const people = [
      { email: 'a.b@example.com', name: 'Sam' },
      { email: 'a-c@example.com', name: 'Sam' },
    ];
    expect(people.sort(byNameThenEmail).map((person) => person.email)).toEqual(['a-c@example.com', 'a.b@example.com']);
  });

  it('searches emails and names in any case, shows the first `limit` found, sorted, and counts them all', () => {
    const snapshot = snapshotOf(PEOPLE);
    expect(searchInterviewers(snapshot, 'ADA', 10)).toEqual({
      interviewers: [
        { email: 'a-ada@example.com', name: 'Ada Lovelace' },
        { email: 'b-ada@example.com', name: 'Ada Lovelace' },
        { email: 'zed@example.com', name: 'Ada Zed' },
      ],
      total: 3,
    });
    // The first two found, in the snapshot's order, then sorted.
    expect(searchInterviewers(snapshot, 'ada', 2)).toEqual({
      interviewers: [
        { email: 'b-ada@example.com', name: 'Ada Lovelace' },
        { email: 'zed@example.com', name: 'Ada Zed' },
      ],
      total: 3,
    });
    expect(searchInterviewers(snapshot, '', 100).total).toBe(5);
    expect(searchInterviewers(snapshot, 'nobody', 100)).toEqual({ interviewers: [], total: 0 });
    expect(searchInterviewers(undefined, '', 100)).toEqual({ interviewers: [], total: 0 });
  });

  it('tells an interviewer from a former one, whose last known name is still given', () => {
    const snapshot = snapshotOf([{ email: 'ada@example.com', name: 'Ada Lovelace' }], { 'grace@example.com': 'Grace Hopper' });
    expect(isInterviewer(snapshot, 'ada@example.com')).toBe(true);
    expect(isInterviewer(snapshot, 'grace@example.com')).toBe(false);
    expect(isInterviewer(undefined, 'ada@example.com')).toBe(false);
    expect(interviewerName(snapshot, 'grace@example.com')).toBe('Grace Hopper');
    expect(interviewerName(snapshot, 'nobody@example.com')).toBeNull();
    expect(listInterviewers(snapshot).map((person) => person.email)).toEqual(['ada@example.com']);
  });
});
