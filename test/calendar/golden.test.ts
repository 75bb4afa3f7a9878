import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderFeed, type FeedOptions } from '../../src/calendar/render-feed.js';
import type { Interview } from '../../src/interviews/interview.js';
import { domainInterview } from '../helpers/factories.js';
import { parseIcs, type ParsedCalendar } from '../helpers/ics.js';

/*
 * Golden calendars: renderFeed's whole output for representative interviews, compared byte for byte with the files in
 * test/golden (kept CRLF by .gitattributes), then read back by ical.js the way Thunderbird would.
 *
 * After an intended change to the output: UPDATE_GOLDEN=1 npx vitest run test/calendar/golden.test.ts
 * and read every changed file by eye (git diff) before committing it.
 */

const GOLDEN_DIR = new URL('../golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const OWNER = 'ada@example.com';
/** Last changed 2026-10-01T09:00:00Z: DTSTAMP and LAST-MODIFIED must say exactly this, whatever the clock says. */
const REVISION_MS = Date.UTC(2026, 9, 1, 9, 0, 0);

function interview(overrides: Partial<Interview> = {}): Interview {
  return domainInterview({ candidateName: 'Marie Curie', jobName: 'Backend Engineer', interviewers: [{ email: OWNER, name: 'Ada Lovelace' }], revisionMs: REVISION_MS, ...overrides });
}

const OPTIONS: FeedOptions = {
  ownerEmail: OWNER,
  calendarName: 'Interviews: Ada Lovelace',
  notEndedBeforeMs: Date.UTC(2026, 6, 1),
  defaultDurationMinutes: 60,
  refreshMinutes: 60,
};

const HOSTILE_TITLE =
  'Panel, round 2; "final" \\ C:\\path\\n\nsecond line\r\nthird line\rfourth 🎉👩‍💻 Grüße ' +
  'ÄÖÜ€'.repeat(10) +
  'x'.repeat(300 - 78);

/** Reads an RFC 5545 §3.3.11 TEXT value. */
function unescapeText(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

interface GoldenCase {
  name: string;
  interviews: Interview[];
  options?: Partial<FeedOptions>;
  /** What a client must see in the parsed calendar. */
  check: (calendar: ParsedCalendar, text: string) => void;
}

const cases: GoldenCase[] = [
  {
    name: 'in-person',
    interviews: [
      interview({
        id: 'iv-in-person',
        title: 'On-site interview',
        // 11:30 in Berlin (UTC+1 in December) is 10:30 UTC.
        startMs: Date.parse('2026-12-01T11:30:00+01:00'),
        endMs: Date.parse('2026-12-01T12:45:00+01:00'),
        address: 'Lohmühlenstraße 65, 12435 Berlin, DE',
        atsUrl: 'https://ats.example.com/applications/app-1',
      }),
    ],
    check: ({ events }, text) => {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        uid: 'iv-in-person',
        summary: 'On-site interview',
        start: '2026-12-01T10:30:00.000Z',
        end: '2026-12-01T11:45:00.000Z',
        location: 'Lohmühlenstraße 65, 12435 Berlin, DE',
        url: null,
      });
      expect(events[0]!.description!.split('\n')).toEqual(['Candidate: Marie Curie', 'Job: Backend Engineer', 'Open in ATS: https://ats.example.com/applications/app-1']);
      expect(text).toContain('\r\nDTSTART:20261201T103000Z\r\n');
      expect(text).toContain('\r\nLOCATION:Lohmühlenstraße 65\\, 12435 Berlin\\, DE\r\n');
    },
  },
  {
    name: 'video-only',
    interviews: [interview({ id: 'iv-video', title: 'Video call', conferencingUrl: 'https://meet.example.com/abc-defg-hij?pwd=Xy12' })],
    check: ({ events }) => {
      expect(events).toHaveLength(1);
      // The join link is where each client looks: LOCATION (no address), first line of DESCRIPTION, URL (Apple).
      expect(events[0]).toMatchObject({
        location: 'https://meet.example.com/abc-defg-hij?pwd=Xy12',
        url: 'https://meet.example.com/abc-defg-hij?pwd=Xy12',
      });
      expect(events[0]!.description!.split('\n')[0]).toBe('https://meet.example.com/abc-defg-hij?pwd=Xy12');
    },
  },
  {
    name: 'ats-link',
    interviews: [
      interview({
        id: 'iv-ats',
        title: 'Technical interview',
        conferencingUrl: 'https://meet.example.com/abc-defg-hij',
        // A deep link with the characters TEXT escapes: percent-encoded, so every client opens the same address.
        atsUrl: 'https://ats.example.com/people/42?tab=scorecard,kit;v=2',
        interviewers: [
          { email: OWNER, name: 'Ada Lovelace' },
          { email: 'grace@example.com', name: 'Grace Hopper' },
        ],
      }),
    ],
    check: ({ events }) => {
      expect(events[0]!.description!.split('\n')).toEqual([
        'https://meet.example.com/abc-defg-hij',
        'Candidate: Marie Curie',
        'Job: Backend Engineer',
        'Open in ATS: https://ats.example.com/people/42?tab=scorecard%2Ckit%3Bv=2',
        'Other interviewers: Grace Hopper',
      ]);
      // URL stays the join link (Apple opens it): the ATS link is for the description.
      expect(events[0]!.url).toBe('https://meet.example.com/abc-defg-hij');
    },
  },
  {
    name: 'no-title',
    interviews: [
      interview({ id: 'iv-a', title: null }),
      interview({ id: 'iv-b', title: null, candidateName: null, startMs: Date.UTC(2026, 11, 2, 9), endMs: Date.UTC(2026, 11, 2, 10) }),
      interview({
        id: 'iv-c',
        title: null,
        candidateName: null,
        jobName: null,
        startMs: Date.UTC(2026, 11, 3, 9),
        endMs: Date.UTC(2026, 11, 3, 10),
      }),
    ],
    check: ({ events }, text) => {
      expect(events.map((e) => e.summary)).toEqual(['Interview: Marie Curie (Backend Engineer)', 'Interview (Backend Engineer)', 'Interview']);
      // Nothing to describe: the property is left out, never an empty DESCRIPTION: line.
      expect(events[2]!.description).toBeNull();
      expect(text).not.toMatch(/\r\nDESCRIPTION:\r\n/);
    },
  },
  {
    name: 'hostile-title',
    interviews: [
      interview({
        id: 'iv-hostile',
        // A vertical tab and a NUL, as spreadsheets paste them: forbidden in TEXT, so they must not reach the bytes.
        title: `${HOSTILE_TITLE}\u000bend\u0000`,
        candidateName: 'Seán "Ace" O\'Brien, Jr.; \\o/',
        jobName: 'R&D, Platform; Berlin\nRemote',
        address: 'Room 1; Floor 2, Building \\B\\',
        interviewers: [
          { email: OWNER, name: 'Ada Lovelace' },
          { email: 'bob@example.com', name: 'Bob, the; Builder' },
        ],
      }),
    ],
    options: { calendarName: 'Interviews: Ada, Countess; of \\ Lovelace\nline 2' },
    check: (calendar, text) => {
      expect(calendar.events).toHaveLength(1);
      const event = calendar.events[0]!;
      // A client shows exactly the title we were given, line breaks as line breaks, minus the forbidden controls.
      expect(event.summary).toBe(`${HOSTILE_TITLE.replace(/\r\n|\r/g, '\n')}\nend`);
      expect(event.summary!.length).toBeGreaterThan(300);
      expect(event.location).toBe('Room 1; Floor 2, Building \\B\\');
      expect(event.description!.split('\n')).toEqual([
        'Candidate: Seán "Ace" O\'Brien, Jr.; \\o/',
        'Job: R&D, Platform; Berlin',
        'Remote',
        'Other interviewers: Bob, the; Builder',
      ]);
      // ical.js does not know NAME/X-WR-CALNAME (RFC 7986) and hands them back raw: read them as TEXT, as Apple and
      // Google do.
      expect(unescapeText(calendar.name!)).toBe('Interviews: Ada, Countess; of \\ Lovelace\nline 2');
      expect(calendar.wrCalName).toBe(calendar.name);
      // One event, however many line breaks the title had: none of them became a line of the file.
      expect(text.match(/^BEGIN:VEVENT\r$/gm)).toHaveLength(1);
      expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/);
      // Escaped once, as RFC 5545 §3.3.11 says (folding may split an escape: clients unfold before they unescape).
      expect(text.replace(/\r\n /g, '')).toContain('\r\nSUMMARY:Panel\\, round 2\\; "final" \\\\ C:\\\\path\\\\n\\nsecond line\\nthird line\\nfourth');
    },
  },
  {
    name: 'missing-end',
    interviews: [
      interview({ id: 'iv-no-end', endMs: null }),
      interview({ id: 'iv-no-end-2', startMs: Date.UTC(2026, 11, 31, 23, 30), endMs: null }),
    ],
    options: { defaultDurationMinutes: 45 },
    check: ({ events }) => {
      expect(events.map((e) => [e.start, e.end])).toEqual([
        ['2026-12-01T10:00:00.000Z', '2026-12-01T10:45:00.000Z'],
        // Across midnight and the year end, still in UTC.
        ['2026-12-31T23:30:00.000Z', '2027-01-01T00:15:00.000Z'],
      ]);
    },
  },
  {
    name: 'multiple-interviewers',
    interviews: [
      interview({
        id: 'iv-panel',
        title: 'Panel interview',
        address: 'Room Curie',
        conferencingUrl: 'https://meet.example.com/panel',
        interviewers: [
          { email: 'grace@example.com', name: 'Grace Hopper' },
          { email: OWNER, name: 'Ada Lovelace' },
          { email: 'nameless@example.com', name: null },
          { email: null, name: 'Emailless Person' },
        ],
      }),
      // An earlier interview listed second: the feed shows events in the order given (the snapshot sorts them).
      interview({ id: 'iv-solo', startMs: Date.UTC(2026, 10, 30, 8), endMs: Date.UTC(2026, 10, 30, 9) }),
    ],
    check: ({ events }) => {
      expect(events.map((e) => e.uid)).toEqual(['iv-panel', 'iv-solo']);
      expect(events[0]!.location).toBe('Room Curie');
      expect(events[0]!.url).toBe('https://meet.example.com/panel');
      expect(events[0]!.description!.split('\n')).toEqual([
        'https://meet.example.com/panel',
        'Candidate: Marie Curie',
        'Job: Backend Engineer',
        // The owner is not listed among the others.
        'Other interviewers: Grace Hopper, nameless@example.com, Emailless Person',
      ]);
    },
  },
  {
    name: 'empty',
    interviews: [interview({ id: 'iv-long-past', startMs: Date.UTC(2026, 0, 1, 9), endMs: Date.UTC(2026, 0, 1, 10) })],
    options: { calendarName: 'Interviews: Grace Hopper', ownerEmail: 'grace@example.com', refreshMinutes: 90 },
    check: (calendar, text) => {
      // The one interview ended before the past window: a valid calendar with its name and no event.
      expect(calendar.events).toEqual([]);
      expect(calendar.name).toBe('Interviews: Grace Hopper');
      expect(text).toContain('\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H30M\r\nX-PUBLISHED-TTL:PT1H30M\r\n');
    },
  },
];

describe('golden calendars', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const golden of cases) {
    it(`renders ${golden.name}.ics byte for byte`, () => {
      const options = { ...OPTIONS, ...golden.options };
      // The clock is far from every record's timestamps: nothing it says may reach the bytes.
      vi.useFakeTimers({ now: Date.UTC(2031, 4, 17, 13, 37, 42) });
      const rendered = Buffer.from(renderFeed(golden.interviews, options), 'utf8');
      vi.setSystemTime(Date.UTC(2027, 1, 2, 3, 4, 5));
      expect(Buffer.from(renderFeed(golden.interviews, options), 'utf8').equals(rendered), 'same bytes at another time').toBe(true);

      const file = fileURLToPath(new URL(`${golden.name}.ics`, GOLDEN_DIR));
      if (UPDATE) writeFileSync(file, rendered);
      const saved = readFileSync(file);
      expect(rendered.toString('utf8')).toBe(saved.toString('utf8'));
      expect(rendered.equals(saved), 'byte for byte').toBe(true);

      const text = saved.toString('utf8');
      const calendar = parseIcs(saved);
      expect(calendar).toMatchObject({ version: '2.0', prodId: '-//interview-feeds//interview-feeds//EN' });
      expect(calendar.wrCalName).toBe(calendar.name);
      for (const event of calendar.events) {
        expect(event.dtstamp, 'DTSTAMP is the record revision').toBe('2026-10-01T09:00:00.000Z');
        expect(event.lastModified, 'LAST-MODIFIED is the record revision').toBe('2026-10-01T09:00:00.000Z');
        expect(event.sequence).toBeGreaterThan(0);
      }
      // Each UID exactly once: a client keeps one event per UID.
      expect(new Set(calendar.events.map((e) => e.uid)).size).toBe(calendar.events.length);
      expect(text).toContain(`\r\nREFRESH-INTERVAL;VALUE=DURATION:${options.refreshMinutes === 60 ? 'PT1H' : 'PT1H30M'}\r\n`);
      golden.check(calendar, text);
    });
  }

  // The same cases at the two levels without candidate data: {name}.private.ics and {name}.busy.ics.
  for (const golden of cases) {
    for (const detail of ['private', 'busy'] as const) {
      it(`renders ${golden.name}.${detail}.ics byte for byte: the same events and times, nothing of the candidate`, () => {
        const options = { ...OPTIONS, ...golden.options };
        const rendered = Buffer.from(renderFeed(golden.interviews, { ...options, detail }), 'utf8');
        const file = fileURLToPath(new URL(`${golden.name}.${detail}.ics`, GOLDEN_DIR));
        if (UPDATE) writeFileSync(file, rendered);
        const saved = readFileSync(file);
        expect(rendered.toString('utf8')).toBe(saved.toString('utf8'));
        expect(rendered.equals(saved), 'byte for byte').toBe(true);

        const calendar = parseIcs(saved);
        const full = parseIcs(renderFeed(golden.interviews, options));
        const when = (c: ParsedCalendar) => c.events.map((e) => [e.uid, e.start, e.end, e.sequence, e.dtstamp, e.lastModified]);
        expect(when(calendar)).toEqual(when(full));
        expect(calendar.name).toBe(full.name);
        const unfolded = saved.toString('utf8').replace(/\r\n[ \t]/g, '');
        for (const interview of golden.interviews) {
          if (interview.candidateName !== null) expect(unfolded).not.toContain(interview.candidateName.split(' ')[0]!);
          if (interview.title !== null) expect(unfolded).not.toContain(interview.title.slice(0, 12));
        }
        for (const event of calendar.events) {
          if (detail === 'busy') expect(event).toMatchObject({ summary: 'Busy', description: null, location: null, url: null });
          else {
            const source = golden.interviews.find((i) => i.id === event.uid)!;
            expect(event.summary).toBe(source.jobName === null ? 'Interview' : `Interview: ${source.jobName}`);
            expect(event.location).toBe(full.events.find((e) => e.uid === event.uid)!.location);
            expect(event.url).toBe(full.events.find((e) => e.uid === event.uid)!.url);
          }
        }
      });
    }
  }

  it('keeps SEQUENCE within 32 bits and growing with the revision', () => {
    const at = (revisionMs: number) =>
      parseIcs(renderFeed([interview({ revisionMs })], OPTIONS)).events[0]!;
    const before = at(REVISION_MS);
    const after = at(REVISION_MS + 1000);
    expect(after.sequence).toBeGreaterThan(before.sequence!);
    expect(after.uid).toBe(before.uid);
    expect(after.lastModified).toBe('2026-10-01T09:00:01.000Z');
    // Far future revisions still fit a signed 32-bit INTEGER (RFC 5545 §3.3.8).
    expect(at(Date.UTC(2200, 0, 1)).sequence).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
