import { describe, expect, it } from 'vitest';
import { MAX_OTHER_INTERVIEWERS_NAMED } from '../../src/calendar/interview-event.js';
import { renderFeed } from '../../src/calendar/render-feed.js';
import type { Interview } from '../../src/interviews/interview.js';
import { domainInterview as interview } from '../helpers/factories.js';
import { parseIcs, type ParsedEvent } from '../helpers/ics.js';

const MEET = 'https://meet.example.com/abc-defg-hij';

/** The one event Ada's feed shows for `overrides`, as ical.js reads it. */
function eventOf(overrides: Partial<Interview> = {}, ownerEmail = 'ada@example.com'): ParsedEvent {
  const ics = renderFeed([interview(overrides)], {
    ownerEmail,
    calendarName: 'Interviews',
    notEndedBeforeMs: 0,
    defaultDurationMinutes: 60,
    refreshMinutes: 60,
  });
  const { events } = parseIcs(ics);
  expect(events).toHaveLength(1);
  return events[0]!;
}

describe('SUMMARY', () => {
  it('is the interview title when there is one', () => {
    expect(eventOf({ title: 'Culture chat', candidateName: 'Marie Curie', jobName: 'Chemist' }).summary).toBe('Culture chat');
  });

  it('names the candidate and the job when there is no title', () => {
    const summary = eventOf({ title: null, candidateName: 'Marie Curie', jobName: 'Backend Engineer' }).summary!;
    expect(summary).toContain('Marie Curie');
    expect(summary).toContain('Backend Engineer');
  });

  it('names whichever of candidate and job is known, and is never empty', () => {
    const candidateOnly = eventOf({ title: null, candidateName: 'Marie Curie' }).summary!;
    expect(candidateOnly).toContain('Marie Curie');
    const jobOnly = eventOf({ title: null, jobName: 'Backend Engineer' }).summary!;
    expect(jobOnly).toContain('Backend Engineer');
    expect(eventOf({ title: null }).summary!.trim()).not.toBe('');
  });
});

describe('LOCATION', () => {
  it('is the address when there is one, even with a conferencing link', () => {
    expect(eventOf({ address: 'Lohmühlenstraße 65, 12435 Berlin', conferencingUrl: MEET }).location).toBe(
      'Lohmühlenstraße 65, 12435 Berlin',
    );
  });

  it('falls back to the conferencing URL without an address', () => {
    expect(eventOf({ address: null, conferencingUrl: MEET }).location).toBe(MEET);
  });

  it('is left out with neither', () => {
    expect(eventOf({ address: null, conferencingUrl: null }).location).toBeNull(); // and never an empty LOCATION:
  });
});

describe('DESCRIPTION', () => {
  it('puts the conferencing URL on the first line, then candidate, job and the other interviewers', () => {
    const event = eventOf({
      conferencingUrl: MEET,
      candidateName: 'Marie Curie',
      jobName: 'Backend Engineer',
      interviewers: [
        { email: 'grace@example.com', name: 'Grace Hopper' },
        { email: 'ada@example.com', name: 'Ada Lovelace' },
        { email: 'alan@example.com', name: null },
      ],
    });
    const lines = event.description!.split('\n');
    expect(lines[0]).toBe(MEET);
    expect(lines.findIndex((l) => l.includes('Marie Curie'))).toBe(1);
    expect(lines.findIndex((l) => l.includes('Backend Engineer'))).toBe(2);
    const others = lines[3]!;
    expect(lines).toHaveLength(4);
    // The feed's owner is not one of their own "other interviewers"; someone without a name shows as their email.
    expect(others).toContain('Grace Hopper');
    expect(others).toContain('alan@example.com');
    expect(others).not.toContain('Ada');
  });

  it('starts with the candidate when there is no conferencing URL', () => {
    const event = eventOf({ candidateName: 'Marie Curie', jobName: null });
    expect(event.description!.split('\n')).toHaveLength(1);
    expect(event.description).toContain('Marie Curie');
  });

  it('is absent, not empty, when there is nothing to say', () => {
    const ics = renderFeed([interview({ interviewers: [{ email: 'ada@example.com', name: 'Ada Lovelace' }, { email: null, name: null }] })], {
      ownerEmail: 'ada@example.com',
      calendarName: 'Interviews',
      notEndedBeforeMs: 0,
      defaultDurationMinutes: 60,
      refreshMinutes: 60,
    });
    expect(ics).not.toMatch(/\r\nDESCRIPTION/);
    expect(parseIcs(ics).events[0]!.description).toBeNull();
  });

  it(`names at most MAX_OTHER_INTERVIEWERS_NAMED (${MAX_OTHER_INTERVIEWERS_NAMED}) others and counts the rest`, () => {
    const people = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `p${i}@example.com`, name: `P${i}` }));
    const labels = (n: number) => Array.from({ length: n }, (_, i) => `P${i}`).join(', ');
    const owner = { email: 'ada@example.com', name: 'Ada Lovelace' };
    // Exactly at the cap: everyone named, nothing counted.
    expect(eventOf({ interviewers: [owner, ...people(MAX_OTHER_INTERVIEWERS_NAMED)] }).description).toBe(
      `Other interviewers: ${labels(MAX_OTHER_INTERVIEWERS_NAMED)}`,
    );
    // One over, with the owner among them (never counted) and a person with neither name nor email (never counted).
    const interviewers = [...people(5), owner, { email: null, name: null }, ...people(MAX_OTHER_INTERVIEWERS_NAMED + 1).slice(5)];
    expect(eventOf({ interviewers }).description).toBe(`Other interviewers: ${labels(MAX_OTHER_INTERVIEWERS_NAMED)} and 1 more`);
    expect(eventOf({ interviewers: [owner, ...people(MAX_OTHER_INTERVIEWERS_NAMED + 1_234)] }).description).toBe(
      `Other interviewers: ${labels(MAX_OTHER_INTERVIEWERS_NAMED)} and 1,234 more`,
    );
  });
});

describe('URL', () => {
  it('is the conferencing URL when it is an http(s) link', () => {
    expect(eventOf({ conferencingUrl: MEET }).url).toBe(MEET);
    expect(eventOf({ conferencingUrl: 'http://meet.example.com/x' }).url).toBe('http://meet.example.com/x');
  });

  for (const notALink of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'Room 4 dial-in 0800 123', 'ftp://files.example.com/x']) {
    it(`is left out for ${JSON.stringify(notALink)}, which still shows as text`, () => {
      const event = eventOf({ conferencingUrl: notALink });
      expect(event.url).toBeNull();
      expect(event.description!.split('\n')[0]).toBe(notALink);
    });
  }

  it('is left out without a conferencing URL', () => {
    expect(eventOf({ conferencingUrl: null }).url).toBeNull();
  });
});

describe('identity and revision', () => {
  it('takes its UID from the Kombo id, the same on every render', () => {
    expect(eventOf({ id: 'abc:123/XYZ' }).uid).toBe('abc:123/XYZ');
    expect(eventOf({ id: 'abc:123/XYZ' }).uid).toBe(eventOf({ id: 'abc:123/XYZ', title: 'Renamed' }).uid);
  });

  it('raises SEQUENCE and DTSTAMP when the interview changes later', () => {
    const before = eventOf({ revisionMs: Date.UTC(2026, 9, 1, 9) });
    const after = eventOf({ revisionMs: Date.UTC(2026, 9, 1, 9, 0, 1) });
    expect(after.sequence!).toBeGreaterThan(before.sequence!);
    expect(after.dtstamp).toBe('2026-10-01T09:00:01.000Z');
    expect(after.lastModified).toBe('2026-10-01T09:00:01.000Z');
  });

  it('keeps SEQUENCE a valid non-negative integer for very old and very late revisions', () => {
    for (const revisionMs of [0, Date.UTC(2300, 0, 1)]) {
      const { sequence } = eventOf({ revisionMs });
      expect(Number.isInteger(sequence)).toBe(true);
      expect(sequence!).toBeGreaterThanOrEqual(0);
      expect(sequence!).toBeLessThan(2 ** 31);
    }
  });

  it('writes every time in UTC, whatever the process timezone', () => {
    const event = eventOf({ startMs: Date.UTC(2026, 2, 29, 0, 30), endMs: Date.UTC(2026, 2, 29, 3, 30) });
    expect(event.start).toBe('2026-03-29T00:30:00.000Z');
    expect(event.end).toBe('2026-03-29T03:30:00.000Z');
  });
});
