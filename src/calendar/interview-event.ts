import type { ICalEventData } from 'ical-generator';
import type { FeedDetail } from '../config.js';
import type { Interview } from '../interviews/interview.js';

/** SEQUENCE counts seconds of revision since this moment, so it grows with every change and fits 32 bits until 2088. */
const SEQUENCE_EPOCH_MS = Date.UTC(2020, 0, 1);
const MAX_SEQUENCE = 2 ** 31 - 1;
/**
 * Other interviewers named in an event's description; the rest are counted ("and 9,969 more"). Listing them all made
 * every feed of an interview with n interviewers hold n names, n² in all: 10,000 interviewers took 1.4 GB. A panel
 * is rarely more than a dozen people.
 */
export const MAX_OTHER_INTERVIEWERS_NAMED = 30;

/** The label of the description line that links into the ATS. */
export const ATS_LINK_LABEL = 'Open in ATS:';

/** The summary of every event at the `busy` level. */
export const BUSY_SUMMARY = 'Busy';

/** What turning an interview into an event depends on besides the interview. */
export interface EventOptions {
  /**
   * The feed's owner, named nowhere in their own event's list of other interviewers; null for a team feed, whose
   * events name every interviewer.
   */
  ownerEmail: string | null;
  defaultDurationMinutes: number;
  /** How much the event shows; `full` when absent. */
  detail?: FeedDetail;
}

/** The SEQUENCE of an event whose content last changed at `revisionMs`. */
export function sequenceOf(revisionMs: number): number {
  return Math.min(MAX_SEQUENCE, Math.max(0, Math.floor((revisionMs - SEQUENCE_EPOCH_MS) / 1000)));
}

/**
 * Removes what RFC 5545 §3.3.11 forbids in TEXT (CONTROL: U+0000–U+001F and U+007F, except HTAB and line breaks,
 * which are escaped). ATS titles pasted from spreadsheets carry vertical tabs and worse; strict parsers reject the
 * whole feed over one. A vertical tab or form feed was meant as a line break, the rest is dropped.
 */
export function plainText(value: string): string {
  return value.replace(/[\v\f]/g, '\n').replace(/[\u0000-\u0008\u000E-\u001F\u007F]/g, '');
}

/** When an interview's event ends: its own end, else its start plus the default duration. */
export function eventEndMs(interview: Interview, defaultDurationMinutes: number): number {
  return interview.endMs ?? interview.startMs + defaultDurationMinutes * 60_000;
}

/** Only http(s) links are offered as `URL`: anything else is shown as text, never as a link a client would open. */
function asLink(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
    // URL is a URI value, never escaped (RFC 5545 §3.3.13), but ical-generator escapes it as TEXT, and libical and
    // ical.js then read `\,` literally. Percent-encoded, these three leave nothing to escape.
    return parsed.href.replace(/[\\,;]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  } catch {
    return null;
  }
}

/**
 * The event title: at `full`, the interview's own, else one naming the candidate and the job; at `private`, one built
 * from the job alone (an ATS title like "Onsite with Jane Doe" names the candidate); at `busy`, {@link BUSY_SUMMARY}.
 */
export function summaryOf(interview: Interview, detail: FeedDetail = 'full'): string {
  if (detail === 'busy') return BUSY_SUMMARY;
  if (detail === 'private') return interview.jobName === null ? 'Interview' : `Interview: ${interview.jobName}`;
  if (interview.title !== null) return interview.title;
  const { candidateName, jobName } = interview;
  if (candidateName !== null && jobName !== null) return `Interview: ${candidateName} (${jobName})`;
  if (candidateName !== null) return `Interview: ${candidateName}`;
  if (jobName !== null) return `Interview (${jobName})`;
  return 'Interview';
}

/**
 * The event description: the join link first (Google shows no URL property), then who and what, then the link into
 * the ATS; null when empty (always at `busy`). At `private` the candidate is left out.
 */
export function descriptionOf(interview: Interview, ownerEmail: string | null, detail: FeedDetail = 'full'): string | null {
  if (detail === 'busy') return null;
  const lines: string[] = [];
  if (interview.conferencingUrl !== null) lines.push(interview.conferencingUrl);
  if (interview.candidateName !== null && detail === 'full') lines.push(`Candidate: ${interview.candidateName}`);
  if (interview.jobName !== null) lines.push(`Job: ${interview.jobName}`);
  // The link interviewers ask for most: the candidate in the ATS (scorecard, CV, interview kit). Full and private only.
  const atsLink = asLink(interview.atsUrl ?? null);
  if (atsLink !== null) lines.push(`${ATS_LINK_LABEL} ${atsLink}`);
  const named: string[] = [];
  let unnamed = 0;
  for (const person of interview.interviewers) {
    // A team feed has no owner (null), and an interviewer without an email is no owner either: both are named.
    const label = ownerEmail !== null && person.email === ownerEmail ? null : (person.name ?? person.email);
    if (label === null) continue;
    if (named.length < MAX_OTHER_INTERVIEWERS_NAMED) named.push(label);
    else unnamed++;
  }
  const label = ownerEmail === null ? 'Interviewers' : 'Other interviewers';
  if (named.length > 0) lines.push(`${label}: ${named.join(', ')}${unnamed > 0 ? ` and ${thousands(unnamed)} more` : ''}`);
  return lines.length > 0 ? lines.join('\n') : null;
}

/** 9969 as "9,969": the same in every locale, so a feed's bytes never depend on the machine. */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/**
 * Maps an interview to ical-generator event data. Every value is set explicitly: ical-generator's defaults (a random
 * UID, DTSTAMP = now) would make clients duplicate events and every render's bytes differ.
 */
export function interviewEvent(interview: Interview, options: EventOptions): ICalEventData {
  const start = new Date(interview.startMs);
  const end = new Date(eventEndMs(interview, options.defaultDurationMinutes));
  const revision = new Date(interview.revisionMs);
  const detail = options.detail ?? 'full';
  // At `busy` nothing but the time: no room, no link, no description.
  const link = detail === 'busy' ? null : asLink(interview.conferencingUrl);
  const location = detail === 'busy' ? null : (interview.address ?? interview.conferencingUrl);
  const description = descriptionOf(interview, options.ownerEmail, detail);
  const event: ICalEventData = {
    id: interview.id,
    sequence: sequenceOf(interview.revisionMs),
    stamp: revision,
    lastModified: revision,
    start,
    end,
    summary: plainText(summaryOf(interview, detail)),
  };
  if (location !== null) event.location = plainText(location);
  // An empty DESCRIPTION: line is rejected by libical: leave the property out instead.
  if (description !== null) event.description = plainText(description);
  if (link !== null) event.url = link;
  return event;
}
