/** One person on an interview, as a feed needs them. */
export interface Interviewer {
  /** Normalised by `normalizeEmail` (trimmed, lower-case); null when the ATS has none, or none that fits an address. */
  readonly email: string | null;
  /** First and last name joined, within `MAX_NAME_CHARS`; null when the ATS has neither. */
  readonly name: string | null;
  /** Kombo's user id: what follows the person through a change of email (absent in snapshots saved before it). */
  readonly userId?: string | null;
}

/** Why an interview's names are kept out of calendars: its job's search is confidential, or its candidate is. */
export type Confidentiality = 'job' | 'candidate';

/**
 * A live interview, reduced to what a calendar event needs. Canceled, deleted and unscheduled interviews never
 * become one; `remote_data` and other fields no feed shows are dropped at the boundary to keep the snapshot small,
 * and every text is within its cap (see interview-schema.ts), so an event stays a few KB.
 */
export interface Interview {
  /** Kombo's id exactly as sent (a string), control characters and `%` percent-encoded. */
  readonly id: string;
  readonly title: string | null;
  readonly startMs: number;
  /** Null when Kombo gave no end after the start; the renderer applies the default duration. */
  readonly endMs: number | null;
  /** A postal address, already formatted; null when there is none. */
  readonly address: string | null;
  readonly conferencingUrl: string | null;
  readonly candidateName: string | null;
  readonly jobName: string | null;
  /** Kombo's id of the application's job (`application.job.id`): what a job's team feed selects by. */
  readonly jobId: string | null;
  readonly interviewers: readonly Interviewer[];
  /** Kombo's id of the interview's application (its embedded `application.id`, else `application_id`). */
  readonly applicationId?: string | null;
  /** Kombo's id of the application's candidate (`application.candidate.id`, else the application's `candidate_id`). */
  readonly candidateId?: string | null;
  /** The deep link into the ATS: the application's `remote_url`, else the candidate's; absent when neither has one. */
  readonly atsUrl?: string | null;
  /** Set when the job or the candidate is confidential in the ATS: calendars then name neither (see redactConfidential). */
  readonly confidential?: Confidentiality | null;
  /**
   * When this interview last changed, in ms: the later of `changed_at` and `remote_updated_at`, moved forward by
   * the sync when the content changed without either moving (a renamed candidate, say). Drives SEQUENCE,
   * DTSTAMP and LAST-MODIFIED, so it never comes from the clock at render time.
   */
  readonly revisionMs: number;
}

/** Whether two interviews would render the same event (the revision aside). */
export function sameContent(a: Interview, b: Interview): boolean {
  if (
    a.id !== b.id ||
    a.title !== b.title ||
    a.startMs !== b.startMs ||
    a.endMs !== b.endMs ||
    a.address !== b.address ||
    a.conferencingUrl !== b.conferencingUrl ||
    a.candidateName !== b.candidateName ||
    a.jobName !== b.jobName ||
    (a.atsUrl ?? null) !== (b.atsUrl ?? null) ||
    (a.confidential ?? null) !== (b.confidential ?? null) ||
    a.interviewers.length !== b.interviewers.length
  ) {
    return false;
  }
  return a.interviewers.every((person, i) => person.email === b.interviewers[i]?.email && person.name === b.interviewers[i]?.name);
}

/** Whether two interviews link the same ATS records (ids a feed does not show, but a later change is applied by). */
export function sameLinks(a: Interview, b: Interview): boolean {
  return (
    (a.applicationId ?? null) === (b.applicationId ?? null) &&
    (a.candidateId ?? null) === (b.candidateId ?? null) &&
    a.interviewers.every((person, i) => (person.userId ?? null) === (b.interviewers[i]?.userId ?? null))
  );
}
