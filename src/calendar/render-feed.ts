import ical, { ICalCalendarMethod } from 'ical-generator';
import type { Interview } from '../interviews/interview.js';
import { eventEndMs, interviewEvent, plainText } from './interview-event.js';

/** Identifies us in every calendar (RFC 5545 §3.7.3). */
export const PRODUCT_ID = { company: 'interview-feeds', product: 'interview-feeds', language: 'EN' } as const;

/** What a feed's rendering depends on besides its interviews. */
export interface FeedOptions {
  /** The interviewer whose calendar this is (normalised email). */
  ownerEmail: string;
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
    method: ICalCalendarMethod.PUBLISH,
    ttl: options.refreshMinutes * 60,
  });
  for (const interview of interviews) {
    if (eventEndMs(interview, options.defaultDurationMinutes) < options.notEndedBeforeMs) continue;
    calendar.createEvent(
      interviewEvent(interview, { ownerEmail: options.ownerEmail, defaultDurationMinutes: options.defaultDurationMinutes }),
    );
  }
  // RFC 5545 §3.1 ends every content line with CRLF, the last one included; ical-generator omits the final one.
  return `${calendar.toString()}\r\n`;
}
