import ical from 'ical-generator';
import type { Interview } from '../interviews/interview.js';
import { foldLines } from './fold-lines.js';
import type { FeedDetail } from '../config.js';
import { eventEndMs, interviewEvent, plainText } from './interview-event.js';

const CALENDAR_END = 'END:VCALENDAR';

/** Identifies us in every calendar (RFC 5545 §3.7.3). */
export const PRODUCT_ID = { company: 'interview-feeds', product: 'interview-feeds', language: 'EN' } as const;

/** What a feed's rendering depends on besides its interviews. */
export interface FeedOptions {
  /** The interviewer whose calendar this is (normalised email); null for a team feed. */
  ownerEmail: string | null;
  /** How much each event shows; `full` when absent. */
  detail?: FeedDetail;
  /** The calendar's name as clients show it. */
  calendarName: string;
  /** Interviews that ended before this moment are left out (Google drops feeds over about 1 MB). */
  notEndedBeforeMs: number;
  defaultDurationMinutes: number;
  /** How often clients should poll: REFRESH-INTERVAL and X-PUBLISHED-TTL. */
  refreshMinutes: number;
}

/** Escapes TEXT per RFC 5545 §3.3.11: ical-generator leaves NAME and X-WR-CALNAME unescaped. */
export function escapeText(value: string): string {
  return plainText(value).replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * Renders an interviewer's calendar. Pure: the same interviews and options give the same bytes, so unchanged feeds
 * keep their ETag. All times are UTC (no calendar timezone: ical-generator would make them floating).
 */
export function renderFeed(interviews: readonly Interview[], options: FeedOptions): string {
  const calendar = ical({
    prodId: PRODUCT_ID,
    name: escapeText(options.calendarName),
    // No METHOD: a subscribed feed is no iTIP scheduling message (RFC 5545 §3.7.2), and METHOD:PUBLISH would require
    // an ORGANIZER in every event (RFC 5546 §3.2.1), which libical's strict check enforces. An ORGANIZER is worse:
    // in imported files it has made Outlook offer accept/decline and Apple Calendar notify the organiser. GitLab's
    // and Nextcloud's calendar exports carry no METHOD either, and every client we test reads them as we do.
    ttl: options.refreshMinutes * 60,
  });
  // ical-generator folds the whole calendar with a TextEncoder per character, which dominated a render; so the
  // calendar's own lines come from it without events, and the events' unfolded text is folded by our identical,
  // fast foldLines. Folding works line by line, so the result is the same bytes calendar.toString() would give.
  const shell = calendar.toString();
  if (!shell.endsWith(CALENDAR_END)) throw new Error('ical-generator ended a calendar unexpectedly');
  let events = '';
  for (const interview of interviews) {
    if (eventEndMs(interview, options.defaultDurationMinutes) < options.notEndedBeforeMs) continue;
    events += calendar
      .createEvent(
        interviewEvent(interview, {
          ownerEmail: options.ownerEmail,
          defaultDurationMinutes: options.defaultDurationMinutes,
          ...(options.detail ? { detail: options.detail } : {}),
        }),
      )
      .toString();
  }
  // RFC 5545 §3.1 ends every content line with CRLF, the last one included; ical-generator omits the final one.
  return `${shell.slice(0, -CALENDAR_END.length)}${foldLines(events)}${CALENDAR_END}\r\n`;
}
