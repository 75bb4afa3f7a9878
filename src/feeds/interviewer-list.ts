import type { Snapshot } from '../interviews/snapshot.js';

/** A person a list shows: their normalised email and the name the ATS gives them (null when it gives none). */
export interface Interviewer {
  readonly email: string;
  readonly name: string | null;
}

/** What listing reads of a snapshot: its interviewers and their names. */
export type InterviewerSource = Pick<Snapshot, 'byEmail' | 'names'>;

/** By name (people without one by email), then by email: the order every list of people is read in. */
export function byNameThenEmail(a: Interviewer, b: Interviewer): number {
  return (a.name ?? a.email).localeCompare(b.name ?? b.email, 'en') || (a.email < b.email ? -1 : a.email > b.email ? 1 : 0);
}

/** The name the ATS gives `email` (a former interviewer's last known one too), or null. */
export function interviewerName(snapshot: InterviewerSource | undefined, email: string): string | null {
  return snapshot?.names.get(email) ?? null;
}

/** Whether `email` has an interview in `snapshot`: only then is a link of theirs shown to them, or reset by them. */
export function isInterviewer(snapshot: InterviewerSource | undefined, email: string): boolean {
  return snapshot?.byEmail.has(email) ?? false;
}

/** Every interviewer of an integration, by name then email (the admin API's list, links.csv). */
export function listInterviewers(snapshot: InterviewerSource): Interviewer[] {
  const people = [...snapshot.byEmail.keys()].map((email) => ({ email, name: snapshot.names.get(email) ?? null }));
  return people.sort(byNameThenEmail);
}

/** What a search found: the interviewers shown, and how many matched in all. */
export interface InterviewerSearch {
  readonly interviewers: Interviewer[];
  readonly total: number;
}

/**
 * The interviewers whose email or name holds `query` (any case; empty: everyone): the first `limit` found, by name
 * then email, and how many matched. Only the rows shown are sorted, so a page stays fast for any organisation.
 */
export function searchInterviewers(snapshot: InterviewerSource | undefined, query: string, limit: number): InterviewerSearch {
  const needle = query.toLowerCase();
  const interviewers: Interviewer[] = [];
  let total = 0;
  for (const email of snapshot?.byEmail.keys() ?? []) {
    const name = snapshot!.names.get(email) ?? null;
    if (needle !== '' && !email.includes(needle) && !(name ?? '').toLowerCase().includes(needle)) continue;
    total++;
    if (interviewers.length < limit) interviewers.push({ email, name });
  }
  return { interviewers: interviewers.sort(byNameThenEmail), total };
}
