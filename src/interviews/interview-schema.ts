import { z } from 'zod';
import type { Interview, Interviewer } from './interview.js';
import { normalizeEmail } from './normalize-email.js';

/*
 * The wire shape of one record of `GET /ats/interviews`, written from Kombo's schema but lenient where the feed can
 * still be right: unknown fields are dropped, never refused (z.object strips them and copies nothing; a looseObject
 * would carry every key, remote_data included, into a record we discard anyway, at twice the cost); fields no feed
 * shows are not checked at all; and a display field of the wrong type reads as absent instead of costing the
 * interviewer the whole interview. What a feed cannot do without (an id, a readable start time, the interviewer
 * list) fails the record, which is then skipped alone.
 */

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** An ISO 8601 date-time (a missing offset reads as UTC, as Kombo means it) to epoch ms. */
const dateTimeSchema = z.string().transform((value, ctx) => {
  const trimmed = value.trim();
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed) ? trimmed : `${trimmed}Z`;
  const ms = ISO_DATE_TIME.test(trimmed) ? Date.parse(withZone) : Number.NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `not an ISO 8601 date-time: ${JSON.stringify(value.slice(0, 40))}` });
    return z.NEVER;
  }
  return ms;
});

/** A display string: anything but a string reads as absent; blank reads as absent. */
const text = z
  .unknown()
  .transform((value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null));

const userSchema = z.object({
  first_name: text.optional(),
  last_name: text.optional(),
  email: text.optional(),
});

const locationSchema = z
  .object({
    raw: text.optional(),
    street_1: text.optional(),
    street_2: text.optional(),
    zip_code: text.optional(),
    city: text.optional(),
    state: text.optional(),
    country: text.optional(),
  })
  .nullish()
  .catch(null);

const nameSchema = z.object({ first_name: text.optional(), last_name: text.optional() }).nullish().catch(null);

const applicationSchema = z
  .object({
    candidate: nameSchema.optional(),
    job: z.object({ name: text.optional() }).nullish().catch(null).optional(),
  })
  .nullish()
  .catch(null);

/**
 * A record's id, which becomes the event's UID. ical-generator writes UID unescaped, so a control character (a line
 * break above all) would end the line and inject properties or whole events: those are percent-encoded, which keeps
 * an odd id's interview, distinct and with the same UID on every walk.
 */
const idSchema = z
  .union([z.string().trim().min(1), z.number().transform(String)])
  .transform((id) => id.replace(/[\u0000-\u001F\u007F]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`));

/** One interview record as Kombo sends it (only the fields a feed uses are checked). */
export const interviewRecordSchema = z.object({
  id: idSchema,
  title: text.optional(),
  starting_at: dateTimeSchema.nullish(),
  ending_at: dateTimeSchema.nullish().catch(null),
  location: locationSchema.optional(),
  video_conferencing_url: text.optional(),
  canceled: z.boolean().nullish(),
  remote_updated_at: dateTimeSchema.nullish().catch(null),
  changed_at: dateTimeSchema.nullish().catch(null),
  remote_deleted_at: z.unknown().optional(),
  // An entry that is not a person (null, a bare string) is skipped alone: the others still get the interview.
  users: z.array(userSchema.nullable().catch(null)).nullish(),
  application: applicationSchema.optional(),
});

/** A record after validation, before it becomes a domain {@link Interview}. */
export type InterviewRecord = z.infer<typeof interviewRecordSchema>;

/** What one record means for the snapshot: a live interview, or an id that must leave every feed. */
export type ParsedRecord =
  | { readonly id: string; readonly interview: Interview }
  | { readonly id: string; readonly interview: null; readonly reason: 'canceled' | 'deleted' | 'unscheduled' };

/** A record that failed validation: its id (when readable) and the first failing path, for the log. */
export interface RejectedRecord {
  readonly id: string | null;
  readonly path: string;
  readonly message: string;
}

function joinName(first: string | null | undefined, last: string | null | undefined): string | null {
  const name = [first, last].filter((part): part is string => typeof part === 'string').join(' ');
  return name === '' ? null : name;
}

/** Formats a Kombo location: its `raw` text, else the parts it has, in postal order. */
export function formatAddress(location: InterviewRecord['location']): string | null {
  if (!location) return null;
  if (location.raw) return location.raw;
  const cityLine = [location.zip_code, location.city].filter(Boolean).join(' ');
  const parts = [location.street_1, location.street_2, cityLine, location.state, location.country].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  return parts.length > 0 ? parts.join(', ') : null;
}

/** Turns a validated record into a live {@link Interview}, or says why it is not one. */
export function toInterview(record: InterviewRecord): ParsedRecord {
  const id = record.id;
  if (record.canceled === true) return { id, interview: null, reason: 'canceled' };
  if (record.remote_deleted_at !== null && record.remote_deleted_at !== undefined) {
    return { id, interview: null, reason: 'deleted' };
  }
  const startMs = record.starting_at;
  if (startMs === null || startMs === undefined) return { id, interview: null, reason: 'unscheduled' };
  const endMs = record.ending_at != null && record.ending_at > startMs ? record.ending_at : null;

  const interviewers: Interviewer[] = [];
  const seen = new Set<string>();
  for (const user of record.users ?? []) {
    if (user === null) continue;
    const email = user.email ? normalizeEmail(user.email) : null;
    if (email !== null) {
      if (seen.has(email)) continue; // the same person listed twice would double their event
      seen.add(email);
    }
    interviewers.push({ email, name: joinName(user.first_name, user.last_name) });
  }

  const candidate = record.application?.candidate;
  return {
    id,
    interview: {
      id,
      title: record.title ?? null,
      startMs,
      endMs,
      address: formatAddress(record.location),
      conferencingUrl: record.video_conferencing_url ?? null,
      candidateName: joinName(candidate?.first_name, candidate?.last_name),
      jobName: record.application?.job?.name ?? null,
      interviewers,
      revisionMs: Math.max(record.changed_at ?? 0, record.remote_updated_at ?? 0),
    },
  };
}

/** Validates one raw record: the parsed record, or why it was rejected (never throws). */
export function parseInterviewRecord(raw: unknown): ParsedRecord | RejectedRecord {
  const result = interviewRecordSchema.safeParse(raw);
  if (result.success) return toInterview(result.data);
  const issue = result.error.issues[0];
  const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return {
    id: typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : null,
    path: issue && issue.path.length > 0 ? issue.path.join('.') : '(record)',
    message: issue?.message ?? 'invalid record',
  };
}

/** Tells a parsed record from a rejected one. */
export function isRejected(result: ParsedRecord | RejectedRecord): result is RejectedRecord {
  return 'path' in result;
}
