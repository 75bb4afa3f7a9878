import { z } from 'zod';
import type { Interview, Interviewer } from './interview.js';
import { MAX_EMAIL_CHARS, normalizeEmail } from './normalize-email.js';

/*
 * The wire shape of one record of `GET /ats/interviews`, written from Kombo's schema but lenient where the feed can
 * still be right: unknown fields are dropped, never refused (z.object strips them and copies nothing; a looseObject
 * would carry every key, remote_data included, into a record we discard anyway, at twice the cost); fields no feed
 * shows are not checked at all; and a display field of the wrong type reads as absent instead of costing the
 * interviewer the whole interview. What a feed cannot do without (an id, a readable start time, the interviewer
 * list) fails the record alone, and its interview keeps its last good version (see `Walk.rejectedIds`).
 *
 * The schema checks types only; trimming, lengths, dates and ids are read by plain functions afterwards (toInterview).
 * A zod transform per field cost four times what the whole type check costs, and a full walk validates every record.
 * The schema itself runs only on a record it refuses, to word why: what it accepts is told by `passesTypeCheck`
 * without copying the record (a third of a small-record walk went into zod's copy), and read where it is used.
 */

/*
 * Lengths, in UTF-16 code units, of what a calendar shows. Upstream text has no limit of its own: one 10 MB title
 * made a feed of tens of MB (Google drops feeds over about 1 MB) and stalled every render. Each cap is far above any
 * real value of its kind, and small enough that an event stays a few KB whatever Kombo sends. Text over its cap is
 * cut, ending in `…`; a link over its cap is dropped instead, since a cut link leads nowhere.
 */
/** Titles and job names: a line of text, a sentence at most. */
export const MAX_TITLE_CHARS = 500;
/** A person's full name (candidate or interviewer). */
export const MAX_NAME_CHARS = 200;
/** An address, room directions included. */
export const MAX_ADDRESS_CHARS = 1_000;
/** A conferencing link: Teams links run to several hundred characters; 2,048 is what browsers and servers long took. */
export const MAX_URL_CHARS = 2_048;
/** Longest record id accepted: Kombo's ids are about 24 characters; a longer one is a rejected record. */
export const MAX_ID_CHARS = 256;
/** Longest message a rejected record carries into the log. */
export const MAX_REJECTION_MESSAGE_CHARS = 200;

/**
 * An ISO 8601 date-time, YYYY-MM-DDTHH:mm[:ss[.fraction]][Z|±HH[:]mm], to epoch ms (a missing offset reads as UTC,
 * as Kombo means it); undefined if it is not one or names no real moment (2026-02-30, 24:00). Scanned by hand: a
 * regular expression and Date.parse cost about a microsecond per date, more than the type check of a whole record,
 * and Date.parse reads 2026-02-30 as 2 March.
 */
function parseDateTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  const n = s.length;
  if (n < 16 || s.charCodeAt(4) !== DASH || s.charCodeAt(7) !== DASH || (s.charCodeAt(10) | 0x20) !== LOWER_T || s.charCodeAt(13) !== COLON) {
    return undefined;
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  let second = 0;
  let ms = 0;
  let i = 16;
  if (i < n && s.charCodeAt(i) === COLON) {
    second = digits(s, i + 1, 2);
    i += 3;
    if (i < n && s.charCodeAt(i) === DOT) {
      const start = ++i;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      if (i === start) return undefined;
      ms = Number(s.slice(start, Math.min(i, start + 3)).padEnd(3, '0'));
    }
  }
  let offsetMinutes = 0;
  if (i < n) {
    const zone = s.charCodeAt(i);
    if ((zone | 0x20) === LOWER_Z) {
      if (i + 1 !== n) return undefined;
    } else if (zone === PLUS || zone === DASH) {
      const colon = n === i + 6 && s.charCodeAt(i + 3) === COLON;
      if (!colon && n !== i + 5) return undefined;
      const hours = digits(s, i + 1, 2);
      const minutes = digits(s, colon ? i + 4 : i + 3, 2);
      if (hours < 0 || hours > 18 || minutes < 0 || minutes > 59) return undefined;
      offsetMinutes = (zone === DASH ? -1 : 1) * (hours * 60 + minutes);
    } else {
      return undefined;
    }
  }
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  return (daysSinceEpoch(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000 + ms - offsetMinutes * 60_000;
}

const DASH = 0x2d;
const PLUS = 0x2b;
const COLON = 0x3a;
const DOT = 0x2e;
const LOWER_T = 0x74;
const LOWER_Z = 0x7a;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** The number `count` decimal digits at `start` spell, or -1 if any is not a digit (or the string ends first). */
function digits(s: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = s.charCodeAt(i); // NaN past the end, which is no digit
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 0x30;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysSinceEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** A display string, cut to `max`: blank reads as absent. */
function text(value: unknown, max: number): string | null {
  if (typeof value === 'string' && value.length <= max && untrimmed(value)) return value;
  const trimmed = trim(value, max);
  return trimmed === null || trimmed.length <= max ? trimmed : clip(trimmed, max);
}

/** A string that means nothing when cut (a link, an email): over `max` it reads as absent. */
function whole(value: unknown, max: number): string | null {
  if (typeof value === 'string' && value.length <= max && untrimmed(value)) return value;
  const trimmed = trim(value, max);
  return trimmed === null || trimmed.length <= max ? trimmed : null;
}

/**
 * Whether `value` is not blank and neither starts nor ends with what `trim()` removes: most text is, and it is then
 * taken as it is, without a call to trim per field (a walk reads a dozen per record).
 */
function untrimmed(value: string): boolean {
  return value.length > 0 && visible(value.charCodeAt(0)) && visible(value.charCodeAt(value.length - 1));
}

/** Surely no white space or line terminator to `trim()`: every one is below U+0021, U+00A0, or from U+1680 on. */
function visible(code: number): boolean {
  return code > 0x20 && code !== 0xa0 && code < 0x1680;
}

/** `value` trimmed, or null when it is no string or blank; copied when it came from a string longer than `max`. */
function trim(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  // What is left of a string over the cap is a slice of it, and a slice keeps the whole string alive.
  return value.length > max && trimmed.length <= max ? detached(trimmed) : trimmed;
}

/**
 * A copy of `value` that shares no memory with the string it was cut from: V8 makes a slice a view of its original,
 * so a 500-character title cut from a 10 MB one would keep the 10 MB for as long as the snapshot holds the title.
 */
function detached(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}

/** `value` cut to at most `max` code units, ending in `…` when cut, never between the two halves of a surrogate pair. */
export function clip(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return detached(`${value.slice(0, end)}…`);
}

/** A display field: a string, or (whatever else it is) absent. */
const textSchema = z.string().nullish().catch(undefined);
/** A date-time a feed can do without: anything but a string reads as absent (and so does an unreadable one, later). */
const optionalDateTimeSchema = z.string().nullish().catch(null);

const userSchema = z.object({ id: textSchema, first_name: textSchema, last_name: textSchema, email: textSchema });

const locationSchema = z
  .object({
    raw: textSchema,
    street_1: textSchema,
    street_2: textSchema,
    zip_code: textSchema,
    city: textSchema,
    state: textSchema,
    country: textSchema,
  })
  .nullish()
  .catch(null);

const nameSchema = z.object({ id: textSchema, first_name: textSchema, last_name: textSchema }).nullish().catch(null);

const applicationSchema = z
  .object({ id: textSchema, candidate: nameSchema, job: z.object({ id: textSchema, name: textSchema }).nullish().catch(null) })
  .nullish()
  .catch(null);

/** One interview record as Kombo sends it (only the fields a feed uses are checked). */
export const interviewRecordSchema = z.object({
  id: z.unknown(), // read in toInterview: only a string within MAX_ID_CHARS is an id
  title: textSchema,
  starting_at: z.unknown().optional(), // read in toInterview: a canceled record needs no readable start
  ending_at: optionalDateTimeSchema,
  location: locationSchema,
  video_conferencing_url: textSchema,
  canceled: z.boolean().nullish(),
  remote_updated_at: optionalDateTimeSchema,
  changed_at: optionalDateTimeSchema,
  remote_deleted_at: z.unknown().optional(),
  // An entry that is not a person (null, a bare string) is skipped alone: the others still get the interview.
  users: z.array(userSchema.nullable().catch(null)).nullish(),
  application: applicationSchema,
  application_id: textSchema,
});

/** A record after type checks, before it becomes a domain {@link Interview}. */
export type InterviewRecord = z.infer<typeof interviewRecordSchema>;

/**
 * A record {@link interviewRecordSchema} accepts, as it came off the wire: every field a feed uses is read (and its type
 * checked) where it is used, as the schema's `.catch` would have read it.
 */
type WireRecord = Readonly<Record<string, unknown>>;

/** An object as zod's `z.object` takes one: not null, not an array. */
function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether {@link interviewRecordSchema} accepts `raw`, told without copying it. Every other field of the schema reads
 * anything it does not take as absent, so only these three refuse a record: it is no object, its `canceled` is no
 * boolean, its `users` no array (null and absent pass both). A test holds the two to the same answers.
 */
function passesTypeCheck(raw: unknown): raw is WireRecord {
  if (!isObject(raw)) return false;
  const { canceled, users } = raw;
  if (canceled !== undefined && canceled !== null && typeof canceled !== 'boolean') return false;
  return users === undefined || users === null || Array.isArray(users);
}

/** What one record means for the snapshot: a live interview, or an id that must leave every feed. */
export type ParsedRecord =
  | { readonly id: string; readonly interview: Interview }
  | { readonly id: string; readonly interview: null; readonly reason: 'canceled' | 'deleted' | 'unscheduled' | 'past' };

/** A record that failed validation: its id and the first failing path, for the log. */
export interface RejectedRecord {
  /** The key a valid record with its id would have (so its last good version can be kept); null when it has no id. */
  readonly id: string | null;
  readonly path: string;
  readonly message: string;
}

const ENCODED_IN_ID = /[\u0000-\u001F\u007F%]/;

/**
 * A record's id, which becomes the event's UID, compared exactly as Kombo sends it (` a` and `a` are two interviews);
 * undefined unless it is a string, not blank, within {@link MAX_ID_CHARS}. A number is no id: coerced, `12345` would
 * be the interview `"12345"` too. ical-generator writes UID unescaped, so a control character (a line break above
 * all) would end the line and inject properties or whole events: those are percent-encoded, which keeps an odd id's
 * interview, distinct and with the same UID on every walk; `%` is encoded too, so no other id reads the same.
 */
function readId(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_ID_CHARS || raw.trim() === '') return undefined;
  if (!ENCODED_IN_ID.test(raw)) return raw;
  return raw.replace(/[\u0000-\u001F\u007F%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

/** Why `raw` is no id, for the log (called only when {@link readId} refused it). */
function idProblem(raw: unknown): string {
  if (raw === undefined) return 'missing id';
  if (typeof raw !== 'string') {
    const shown = typeof raw === 'number' || typeof raw === 'boolean' ? ` ${String(raw).slice(0, 40)}` : '';
    return `id is not a string but ${raw === null ? 'null' : `a ${typeof raw}`}${shown}`;
  }
  if (raw.length > MAX_ID_CHARS) return `id of ${raw.length} characters, over ${MAX_ID_CHARS}: ${JSON.stringify(raw.slice(0, 40))}…`;
  return 'blank id';
}

function joinName(first: unknown, last: unknown): string | null {
  const a = text(first, MAX_NAME_CHARS);
  const b = text(last, MAX_NAME_CHARS);
  return a === null ? b : b === null ? a : clip(`${a} ${b}`, MAX_NAME_CHARS);
}

/** Formats a Kombo location: its `raw` text, else the parts it has, in postal order. */
export function formatAddress(location: unknown): string | null {
  if (!isObject(location)) return null;
  const raw = text(location.raw, MAX_ADDRESS_CHARS);
  if (raw !== null) return raw;
  const zip = text(location.zip_code, MAX_ADDRESS_CHARS);
  const city = text(location.city, MAX_ADDRESS_CHARS);
  const cityLine = zip === null ? city : city === null ? zip : `${zip} ${city}`;
  let address = '';
  for (const part of [text(location.street_1, MAX_ADDRESS_CHARS), text(location.street_2, MAX_ADDRESS_CHARS), cityLine, text(location.state, MAX_ADDRESS_CHARS), text(location.country, MAX_ADDRESS_CHARS)]) {
    if (part !== null) address = address === '' ? part : `${address}, ${part}`;
  }
  return address !== '' ? clip(address, MAX_ADDRESS_CHARS) : null;
}

/**
 * Shares what many records repeat (the same interviewer on a hundred interviews, the same job title) among the
 * interviews of one walk: a snapshot of 50,000 interviews then holds one object per person instead of one per
 * listing, which keeps it small and cheap for the garbage collector to walk.
 */
export interface RecordInterner {
  person(email: string | null, name: string | null, userId?: string | null): Interviewer;
  text(value: string | null): string | null;
}

/** A {@link RecordInterner} for one walk (it holds what it has seen until then). */
export function createRecordInterner(): RecordInterner {
  const people = new Map<string | null, Map<string | null, Map<string | null, Interviewer>>>();
  const texts = new Map<string, string>();
  return {
    person(email, name, userId = null) {
      let byName = people.get(email);
      if (byName === undefined) people.set(email, (byName = new Map()));
      let byUser = byName.get(name);
      if (byUser === undefined) byName.set(name, (byUser = new Map()));
      let person = byUser.get(userId);
      if (person === undefined) byUser.set(userId, (person = Object.freeze(userId === null ? { email, name } : { email, name, userId })));
      return person;
    },
    text(value) {
      if (value === null) return null;
      const known = texts.get(value);
      if (known !== undefined) return known;
      texts.set(value, value);
      return value;
    },
  };
}

const NO_INTERNING: RecordInterner = {
  person: (email, name, userId = null) => (userId === null ? { email, name } : { email, name, userId }),
  text: (value) => value,
};

/** Turns a type-checked record into a live {@link Interview}, says why it is not one, or rejects it. */
export function toInterview(record: WireRecord, intern: RecordInterner = NO_INTERNING): ParsedRecord | RejectedRecord {
  const id = readId(record.id);
  if (id === undefined) return { id: null, path: 'id', message: idProblem(record.id) };
  if (record.canceled === true) return { id, interview: null, reason: 'canceled' };
  if (record.remote_deleted_at !== null && record.remote_deleted_at !== undefined) {
    return { id, interview: null, reason: 'deleted' };
  }
  const start = record.starting_at;
  if (start === null || start === undefined) return { id, interview: null, reason: 'unscheduled' };
  const startMs = typeof start === 'string' ? parseDateTime(start) : undefined;
  if (startMs === undefined) {
    const shown = typeof start === 'string' ? JSON.stringify(start.slice(0, 40)) : `a ${typeof start}`;
    return { id, path: 'starting_at', message: `not an ISO 8601 date-time: ${shown}` };
  }
  const endAt = parseDateTime(record.ending_at);
  const endMs = endAt !== undefined && endAt > startMs ? endAt : null;

  const interviewers: Interviewer[] = [];
  for (const user of (record.users as readonly unknown[] | null | undefined) ?? []) {
    if (!isObject(user)) continue; // the schema reads an entry that is no person as null
    // An email longer than any address is none: the person is still named to the others, but has no feed.
    const raw = whole(user.email, MAX_EMAIL_CHARS);
    const email = raw === null ? null : normalizeEmail(raw);
    // The same person listed twice would double their event (a panel is a few people: a scan beats a set).
    if (email !== null && interviewers.some((person) => person.email === email)) continue;
    interviewers.push(intern.person(email, joinName(user.first_name, user.last_name), intern.text(readId(user.id) ?? null)));
  }

  const application = isObject(record.application) ? record.application : undefined;
  const candidate = isObject(application?.candidate) ? application.candidate : undefined;
  const job = isObject(application?.job) ? application.job : undefined;
  // The embedded application is the one the interview belongs to; `application_id` is the older, flat way to say it.
  const applicationId = readId(application?.id) ?? readId(record.application_id) ?? null;
  const candidateId = readId(candidate?.id) ?? null;
  return {
    id,
    interview: {
      id,
      title: intern.text(text(record.title, MAX_TITLE_CHARS)),
      startMs,
      endMs,
      address: intern.text(formatAddress(record.location)),
      conferencingUrl: whole(record.video_conferencing_url, MAX_URL_CHARS), // a cut link leads nowhere
      candidateName: joinName(candidate?.first_name, candidate?.last_name),
      jobName: intern.text(text(job?.name, MAX_TITLE_CHARS)),
      jobId: intern.text(readId(job?.id) ?? null),
      interviewers,
      ...(applicationId !== null ? { applicationId } : {}),
      ...(candidateId !== null ? { candidateId } : {}),
      revisionMs: Math.max(parseDateTime(record.changed_at) ?? 0, parseDateTime(record.remote_updated_at) ?? 0),
    },
  };
}

/** Validates one raw record: the parsed record, or why it was rejected (never throws). */
export function parseInterviewRecord(raw: unknown, intern?: RecordInterner): ParsedRecord | RejectedRecord {
  if (passesTypeCheck(raw)) return toInterview(raw, intern);
  // A refused record (rare): the schema words the first failing path and message.
  const result = interviewRecordSchema.safeParse(raw);
  if (result.success) return toInterview(result.data, intern);
  const issue = result.error.issues[0];
  const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const path = issue && issue.path.length > 0 ? issue.path.join('.') : '(record)';
  return {
    id: readId(rawId) ?? null, // the very key a valid record with this id would have, so its last good version is found
    path,
    // zod's word for a missing id ("expected nonoptional") says less than the one a record that passes gets.
    message: path === 'id' ? idProblem(rawId) : clip(issue?.message ?? 'invalid record', MAX_REJECTION_MESSAGE_CHARS),
  };
}

/**
 * The id of a raw record that certainly ended before `fromMs` (its start, and its end when it has one, both readable
 * and earlier), else undefined. Read before any validation, so the history of an organisation (most of what a full walk
 * lists) costs two date reads per record, not a parse: such a record can only ever make an interview no feed shows.
 * Undefined for anything doubtful (no readable id or start, canceled or deleted), which the full parse then decides.
 */
export function pastRecordId(raw: unknown, fromMs: number): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as { id?: unknown; starting_at?: unknown; ending_at?: unknown };
  if (typeof record.starting_at !== 'string') return undefined;
  const startMs = parseDateTime(record.starting_at);
  if (startMs === undefined || startMs >= fromMs) return undefined;
  if (record.ending_at !== null && record.ending_at !== undefined) {
    // An end that is no readable date reads as none (see toInterview): the start alone decides, as it will there.
    const endMs = typeof record.ending_at === 'string' ? parseDateTime(record.ending_at) : undefined;
    if (endMs !== undefined && endMs >= fromMs) return undefined;
  }
  return readId(record.id);
}

/** Tells a parsed record from a rejected one. */
export function isRejected(result: ParsedRecord | RejectedRecord): result is RejectedRecord {
  return 'path' in result;
}

/** A Kombo record id as {@link toInterview} reads one (linked records are matched by it); undefined when it is none. */
export const readRecordId = readId;
/** A person's name from its two parts, within {@link MAX_NAME_CHARS}; null when neither is given. */
export const personName = joinName;
/** A display text trimmed and cut to `max`; null when blank or no string. */
export const displayText = text;
/** A string that means nothing when cut (a link, an email): trimmed, and null over `max`. */
export const wholeText = whole;
