import ICAL from 'ical.js';
import { expect } from 'vitest';

/** An event as a calendar client sees it, read by ical.js (Thunderbird's parser). */
export interface ParsedEvent {
  uid: string;
  summary: string | null;
  location: string | null;
  description: string | null;
  url: string | null;
  start: string;
  end: string;
  sequence: number | null;
  dtstamp: string | null;
  lastModified: string | null;
}

/** A calendar as a client sees it. */
export interface ParsedCalendar {
  name: string | null;
  wrCalName: string | null;
  prodId: string | null;
  version: string | null;
  events: ParsedEvent[];
}

function text(component: ICAL.Component, name: string): string | null {
  const value = component.getFirstPropertyValue(name);
  return value === null || value === undefined ? null : String(value);
}

function utc(component: ICAL.Component, name: string): string | null {
  const value = component.getFirstPropertyValue(name);
  if (!(value instanceof ICAL.Time)) return null;
  expect(value.zone?.tzid, `${name} must be UTC`).toBe('UTC');
  return value.toJSDate().toISOString();
}

/**
 * Checks the raw bytes the way a strict client would (CRLF line ends, lines folded at 75 octets on character
 * boundaries, no BOM, no empty property, no TZID or floating time), then parses with ical.js.
 */
export function parseIcs(body: string | Buffer): ParsedCalendar {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  assertWellFormed(bytes);
  const jcal = ICAL.parse(bytes.toString('utf8'));
  const calendar = new ICAL.Component(jcal);
  expect(calendar.name).toBe('vcalendar');
  const events = calendar.getAllSubcomponents('vevent').map((vevent) => {
    const sequence = vevent.getFirstPropertyValue('sequence');
    return {
      uid: String(vevent.getFirstPropertyValue('uid')),
      summary: text(vevent, 'summary'),
      location: text(vevent, 'location'),
      description: text(vevent, 'description'),
      url: text(vevent, 'url'),
      start: utc(vevent, 'dtstart')!,
      end: utc(vevent, 'dtend')!,
      sequence: typeof sequence === 'number' ? sequence : null,
      dtstamp: utc(vevent, 'dtstamp'),
      lastModified: utc(vevent, 'last-modified'),
    };
  });
  return {
    name: text(calendar, 'name'),
    wrCalName: text(calendar, 'x-wr-calname'),
    prodId: text(calendar, 'prodid'),
    version: text(calendar, 'version'),
    events,
  };
}

/** The byte-level rules of RFC 5545 §3.1 that a feed must keep, checked line by line. */
export function assertWellFormed(bytes: Buffer): void {
  expect(bytes[0], 'no byte-order mark').not.toBe(0xef);
  const textValue = bytes.toString('utf8');
  expect(Buffer.from(textValue, 'utf8').equals(bytes), 'valid UTF-8').toBe(true);
  expect(textValue.endsWith('\r\n'), 'ends with CRLF').toBe(true);
  expect(/(^|[^\r])\n/.test(textValue), 'every line ends with CRLF').toBe(false);
  expect(textValue.includes('\r\r'), 'no stray CR').toBe(false);
  const lines = textValue.slice(0, -2).split('\r\n');
  expect(lines[0]).toBe('BEGIN:VCALENDAR');
  expect(lines.at(-1)).toBe('END:VCALENDAR');
  let logical = '';
  const unfolded: string[] = [];
  for (const line of lines) {
    expect(Buffer.byteLength(line, 'utf8'), `line within 75 octets: ${line}`).toBeLessThanOrEqual(75);
    expect(line.includes('\uFFFD'), 'no character split by folding').toBe(false);
    if (line.startsWith(' ')) logical += line.slice(1);
    else {
      if (logical) unfolded.push(logical);
      logical = line;
    }
  }
  unfolded.push(logical);
  for (const property of unfolded) {
    expect(/^[A-Z][A-Z0-9-]*(;[^:]*)?:./.test(property), `property has a name and a value: ${property}`).toBe(true);
    expect(property.includes('TZID'), 'no TZID').toBe(false);
    if (/^(DTSTART|DTEND|DTSTAMP|LAST-MODIFIED)[:;]/.test(property)) expect(property).toMatch(/:\d{8}T\d{6}Z$/);
  }
  const begins = unfolded.filter((p) => p === 'BEGIN:VEVENT').length;
  expect(unfolded.filter((p) => p === 'END:VEVENT').length).toBe(begins);
}
