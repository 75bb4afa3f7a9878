import { describe, expect, it } from 'vitest';
import { renderFeed, type FeedOptions } from '../../src/calendar/render-feed.js';
import { domainInterview as interview } from '../helpers/factories.js';
import { parseIcs } from '../helpers/ics.js';

const HOUR = 3_600_000;

function options(overrides: Partial<FeedOptions> = {}): FeedOptions {
  return {
    ownerEmail: 'ada@example.com',
    calendarName: 'Interviews: Ada Lovelace',
    notEndedBeforeMs: 0,
    defaultDurationMinutes: 60,
    refreshMinutes: 60,
    ...overrides,
  };
}

/** RFC 5545 §3.3.11 unescaping, for properties ical.js hands back raw (NAME, X-WR-CALNAME). */
function unescapeText(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** The unfolded content lines of a feed. */
function contentLines(ics: string): string[] {
  return ics.replace(/\r\n /g, '').split('\r\n').filter((line) => line !== '');
}

/** How a calendar client reads back a text value we sent: every line break becomes LF. */
function asRead(value: string): string {
  return value.replace(/\r\n|\r/g, '\n');
}

const HOSTILE_TEXTS: Record<string, string> = {
  commas: 'Interview, round 2, with, commas',
  semicolons: 'Screen; then; panel;',
  backslashes: 'C:\\Users\\ada\\n is not a break \\',
  crlf: 'Line one\r\nLine two',
  'bare LF': 'Line one\nLine two',
  'bare CR': 'Line one\rLine two',
  'an injected event': 'Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:injected\r\nSUMMARY:Injected',
  'an injected property': 'Title\nDTSTART:19700101T000000Z',
  emoji: '🎉 Final round 👩🏽‍💻 with 🇩🇪 team',
  'a 300-character ASCII run': 'A'.repeat(300),
  'a 300-character emoji run': '😀'.repeat(300),
  'a 300-character run of two-byte letters': 'é'.repeat(300),
  'a 300-character run of three-byte letters': '漢'.repeat(300),
  'everything at once': `${'x,;\\'.repeat(40)}\r\n${'👩🏽‍💻'.repeat(30)}\n${'ü'.repeat(100)}`,
};

describe('renderFeed', () => {
  it('writes a calendar with PRODID, VERSION 2.0 and the name, in UTC, with no byte-order mark', () => {
    const ics = renderFeed([interview()], options());
    const calendar = parseIcs(ics);
    expect(calendar.version).toBe('2.0');
    expect(calendar.prodId).toMatch(/interview-feeds/);
    expect(calendar.name).toBe('Interviews: Ada Lovelace');
    expect(calendar.wrCalName).toBe('Interviews: Ada Lovelace');
    expect(calendar.events).toHaveLength(1);
    expect(calendar.events[0]).toMatchObject({ start: '2026-12-01T10:00:00.000Z', end: '2026-12-01T11:00:00.000Z' });
  });

  it('writes a valid, empty calendar for an interviewer with no interviews', () => {
    const calendar = parseIcs(renderFeed([], options()));
    expect(calendar.events).toEqual([]);
    expect(calendar.version).toBe('2.0');
  });

  for (const [what, title] of Object.entries(HOSTILE_TEXTS)) {
    it(`keeps a title with ${what} inside one escaped, folded SUMMARY of one event`, () => {
      const ics = renderFeed([interview({ title })], options());
      const calendar = parseIcs(ics); // CRLF, 75-octet folding on character boundaries, no empty property
      expect(calendar.events).toHaveLength(1);
      expect(calendar.events[0]!.summary).toBe(asRead(title));
      expect(calendar.events[0]!.uid).toBe('iv-1');
      const lines = contentLines(ics);
      expect(lines.filter((line) => line.startsWith('SUMMARY')).length).toBe(1);
      expect(lines.filter((line) => line === 'BEGIN:VEVENT').length).toBe(1);
      expect(lines.filter((line) => line.startsWith('UID')).length).toBe(1);
      expect(lines.filter((line) => line.startsWith('DTSTART')).length).toBe(1);
    });
  }

  for (const [what, text] of Object.entries(HOSTILE_TEXTS)) {
    it(`keeps names, address and job with ${what} escaped in LOCATION and DESCRIPTION`, () => {
      const ics = renderFeed(
        [
          interview({
            address: text,
            candidateName: text,
            jobName: text,
            interviewers: [
              { email: 'ada@example.com', name: 'Ada Lovelace' },
              { email: 'other@example.com', name: text },
            ],
          }),
        ],
        options(),
      );
      const calendar = parseIcs(ics);
      expect(calendar.events).toHaveLength(1);
      const event = calendar.events[0]!;
      expect(event.location).toBe(asRead(text));
      expect(event.description).toBe(asRead(`Candidate: ${text}\nJob: ${text}\nOther interviewers: ${text}`));
      expect(contentLines(ics).filter((line) => line.startsWith('DESCRIPTION')).length).toBe(1);
    });
  }

  for (const [what, name] of Object.entries(HOSTILE_TEXTS)) {
    it(`escapes and folds a calendar name with ${what} in NAME and X-WR-CALNAME`, () => {
      const calendarName = `Interviews: ${name}`;
      const ics = renderFeed([interview()], options({ calendarName }));
      const calendar = parseIcs(ics);
      expect(calendar.events).toHaveLength(1);
      // ical.js hands NAME and X-WR-CALNAME back as written: unescape them as a TEXT-aware client would.
      expect(unescapeText(calendar.name!)).toBe(asRead(calendarName));
      expect(unescapeText(calendar.wrCalName!)).toBe(asRead(calendarName));
      const lines = contentLines(ics);
      expect(lines.filter((line) => line.startsWith('NAME:')).length).toBe(1);
      expect(lines.filter((line) => line.startsWith('X-WR-CALNAME:')).length).toBe(1);
      // Unescaped, a comma or semicolon in a TEXT value would split it into a list of values.
      const raw = lines.find((line) => line.startsWith('X-WR-CALNAME:'))!.slice('X-WR-CALNAME:'.length);
      expect(/(^|[^\\])(\\\\)*[,;]/.test(raw)).toBe(false);
    });
  }

  it('gives the same bytes for the same interviews, whenever it runs', () => {
    const interviews = [interview({ id: 'iv-1' }), interview({ id: 'iv-2', startMs: Date.UTC(2026, 11, 2, 10), endMs: null })];
    const first = renderFeed(interviews, options());
    const second = renderFeed(interviews.map((i) => ({ ...i })), options());
    expect(second).toBe(first);
    const [a, b] = parseIcs(first).events;
    expect([a!.uid, b!.uid]).toEqual(['iv-1', 'iv-2']);
    // DTSTAMP comes from the interview's revision, never from the clock at render time.
    expect(a!.dtstamp).toBe('2026-10-01T09:00:00.000Z');
  });

  it('gives an event without an end the default duration', () => {
    const start = Date.UTC(2026, 11, 1, 10);
    const calendar = parseIcs(renderFeed([interview({ startMs: start, endMs: null })], options({ defaultDurationMinutes: 45 })));
    expect(calendar.events[0]!.end).toBe(new Date(start + 45 * 60_000).toISOString());
  });

  it('leaves out interviews that ended before the window and keeps everything after it, however far ahead', () => {
    const windowStart = Date.UTC(2026, 8, 1);
    const interviews = [
      interview({ id: 'ended-before', startMs: windowStart - 2 * HOUR, endMs: windowStart - HOUR }),
      interview({ id: 'default-end-before', startMs: windowStart - 2 * HOUR, endMs: null }),
      interview({ id: 'ends-in-window', startMs: windowStart - HOUR, endMs: windowStart + HOUR }),
      interview({ id: 'default-end-in-window', startMs: windowStart - 30 * 60_000, endMs: null }),
      interview({ id: 'far-future', startMs: Date.UTC(2099, 0, 1, 9), endMs: Date.UTC(2099, 0, 1, 10) }),
    ];
    const calendar = parseIcs(renderFeed(interviews, options({ notEndedBeforeMs: windowStart })));
    expect(calendar.events.map((e) => e.uid)).toEqual(['ends-in-window', 'default-end-in-window', 'far-future']);
    expect(calendar.events[2]!.start).toBe('2099-01-01T09:00:00.000Z');
  });

  it('sets a refresh hint for clients that honour one', () => {
    const lines = contentLines(renderFeed([], options({ refreshMinutes: 90 })));
    expect(lines).toContain('X-PUBLISHED-TTL:PT1H30M');
    expect(lines.some((line) => /^REFRESH-INTERVAL;VALUE=DURATION:PT1H30M$/.test(line))).toBe(true);
  });
});
