import { z } from 'zod';
import type { Confidentiality, Interview, Interviewer } from './interview.js';
import { clip, displayText, MAX_REJECTION_MESSAGE_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, personName, readRecordId, wholeText } from './interview-schema.js';
import { MAX_EMAIL_CHARS, normalizeEmail } from './normalize-email.js';
import { ownRecord, ownTable } from '../storage/own-record.js';

/*
 * The ATS records an interview links to, kept beside the snapshot. Kombo's `updated_after` on /ats/interviews does not
 * fire when a linked candidate, job or user changes, so a refresh also asks those models what changed, and applies it
 * here: a renamed candidate or job, an interviewer's new name or email, an offboarded interviewer, a search made
 * confidential, the application's deep link into the ATS. Only records that held interviews reference are kept: this
 * is no copy of the ATS.
 */

/** The linked models a refresh asks, in the order Kombo names them (`ats_users`, ...). */
export type LinkedModel = 'users' | 'jobs' | 'candidates' | 'applications';
/** Every {@link LinkedModel}. */
export const LINKED_MODELS: readonly LinkedModel[] = ['users', 'jobs', 'candidates', 'applications'];

/** An ATS user, as interviews show them: their address, name, and whether they may still see anything. */
export interface LinkedUser {
  readonly email: string | null;
  readonly name: string | null;
  /** False once the ATS says INACTIVE or deleted the user: their links answer 404 until they are ACTIVE again. */
  readonly active: boolean;
}
/** A job: its name, and whether its search is confidential (`visibility: CONFIDENTIAL` or the older `confidential`). */
export interface LinkedJob {
  readonly name: string | null;
  readonly confidential: boolean;
}
/** A candidate: their name, whether their profile is confidential, their deep link into the ATS. */
export interface LinkedCandidate {
  readonly name: string | null;
  readonly confidential: boolean;
  readonly remoteUrl: string | null;
}
/** An application: its deep link into the ATS, and the candidate and job it joins. */
export interface LinkedApplication {
  readonly remoteUrl: string | null;
  readonly candidateId: string | null;
  readonly jobId: string | null;
}

/** One model's record by its Kombo id. */
type Table<T> = Readonly<Record<string, T>>;

/** The linked records of one integration, plain data saved and replicated with its snapshot. */
export interface LinkedData {
  readonly users: Table<LinkedUser>;
  readonly jobs: Table<LinkedJob>;
  readonly candidates: Table<LinkedCandidate>;
  readonly applications: Table<LinkedApplication>;
  /** A person's former addresses (normalised), each to their Kombo user id: links handed out for them keep working. */
  readonly formerEmails: Table<string>;
  /** When each model was last read (a walk's start): the next refresh asks what changed after it, less an overlap. */
  readonly syncedAtMs: Readonly<Partial<Record<LinkedModel, number>>>;
}

/** What a refresh changed of {@link LinkedData}: each record set (null: dropped), the former emails whole, the times. */
export interface LinkedDelta {
  readonly users?: Table<LinkedUser | null>;
  readonly jobs?: Table<LinkedJob | null>;
  readonly candidates?: Table<LinkedCandidate | null>;
  readonly applications?: Table<LinkedApplication | null>;
  readonly formerEmails: Table<string>;
  readonly syncedAtMs: Readonly<Partial<Record<LinkedModel, number>>>;
}

const userSchema = z.object({ email: z.string().nullable(), name: z.string().nullable(), active: z.boolean() });
const jobSchema = z.object({ name: z.string().nullable(), confidential: z.boolean() });
const candidateSchema = z.object({ name: z.string().nullable(), confidential: z.boolean(), remoteUrl: z.string().nullable() });
const applicationSchema = z.object({ remoteUrl: z.string().nullable(), candidateId: z.string().nullable(), jobId: z.string().nullable() });
const syncedAtSchema = z.object({
  users: z.number().optional(),
  jobs: z.number().optional(),
  candidates: z.number().optional(),
  applications: z.number().optional(),
});

/** The saved shape of {@link LinkedData}, checked wherever one is read back. */
export const linkedDataSchema = z.object({
  users: ownRecord(userSchema),
  jobs: ownRecord(jobSchema),
  candidates: ownRecord(candidateSchema),
  applications: ownRecord(applicationSchema),
  formerEmails: ownRecord(z.string()),
  syncedAtMs: syncedAtSchema,
}) satisfies z.ZodType<LinkedData>;

/** The saved shape of {@link LinkedDelta}. */
export const linkedDeltaSchema = z.object({
  users: ownRecord(userSchema.nullable()).optional(),
  jobs: ownRecord(jobSchema.nullable()).optional(),
  candidates: ownRecord(candidateSchema.nullable()).optional(),
  applications: ownRecord(applicationSchema.nullable()).optional(),
  formerEmails: ownRecord(z.string()),
  syncedAtMs: syncedAtSchema,
}) satisfies z.ZodType<LinkedDelta>;

/** Linked data with nothing in it, never read: every model is fetched whole by the next walk. */
export const NO_LINKED_DATA: LinkedData = Object.freeze({
  users: Object.freeze(ownTable<LinkedUser>()),
  jobs: Object.freeze(ownTable<LinkedJob>()),
  candidates: Object.freeze(ownTable<LinkedCandidate>()),
  applications: Object.freeze(ownTable<LinkedApplication>()),
  formerEmails: Object.freeze(ownTable<string>()),
  syncedAtMs: Object.freeze({}),
});

// --- The wire shapes (lenient like interviews: unknown keys dropped, a display field of the wrong type is absent) ---

const textSchema = z.string().nullish().catch(undefined);
const flagSchema = z.boolean().nullish().catch(null);
const idOnly = z.object({ id: z.unknown() }).nullish().catch(null);
const wireSchemas = {
  users: z.object({ id: z.unknown(), first_name: textSchema, last_name: textSchema, email: textSchema, status: textSchema, remote_deleted_at: z.unknown().optional() }),
  jobs: z.object({ id: z.unknown(), name: textSchema, confidential: flagSchema, visibility: textSchema, remote_deleted_at: z.unknown().optional() }),
  candidates: z.object({ id: z.unknown(), first_name: textSchema, last_name: textSchema, confidential: flagSchema, remote_url: textSchema, remote_deleted_at: z.unknown().optional() }),
  applications: z.object({
    id: z.unknown(),
    candidate_id: textSchema,
    job_id: textSchema,
    candidate: idOnly,
    job: idOnly,
    remote_url: textSchema,
    remote_deleted_at: z.unknown().optional(),
  }),
} as const;

/** The record each model keeps. */
export interface LinkedRecordOf {
  users: LinkedUser;
  jobs: LinkedJob;
  candidates: LinkedCandidate;
  applications: LinkedApplication;
}

/** One linked record read from Kombo: its value, or `deleted` (remote_deleted_at is set). */
export type ParsedLinked<M extends LinkedModel> = { readonly id: string; readonly value: LinkedRecordOf[M] | 'deleted' };

/** A linked record that failed validation: it keeps its last good version. */
export interface RejectedLinked {
  readonly model: LinkedModel;
  readonly id: string | null;
  readonly path: string;
  readonly message: string;
}

/** Only an http(s) link is a link into the ATS; anything else (or one over the cap) reads as none. */
function remoteUrl(value: string | null | undefined): string | null {
  const url = wholeText(value, MAX_URL_CHARS);
  return url !== null && /^https?:\/\//i.test(url) ? url : null;
}

function isDeleted(value: unknown): boolean {
  return value !== null && value !== undefined;
}

/** {@link textSchema} by hand: a string, null or absent; anything else reads as absent. */
const wireText = (value: unknown): string | null | undefined => (typeof value === 'string' || value === null ? value : undefined);
/** {@link flagSchema} by hand: a boolean, or null. */
const wireFlag = (value: unknown): boolean | null | undefined => (typeof value === 'boolean' || value === undefined ? value : null);
/** {@link idOnly} by hand: an object's id, or null. */
const wireIdOnly = (value: unknown): { id: unknown } | null | undefined =>
  value === undefined ? undefined : typeof value === 'object' && value !== null && !Array.isArray(value) ? { id: (value as { id?: unknown }).id } : null;

/**
 * {@link wireSchemas} read by hand for a record that is an object, the shape of every record Kombo sends: a full walk
 * reads one per interview of each of two models, and zod's generic walk over each field costs several times this.
 * The same rules (the schemas stay the reference, and read anything else).
 */
function readWire(model: LinkedModel, raw: object): z.infer<(typeof wireSchemas)[LinkedModel]> {
  const r = raw as Record<string, unknown>;
  const deleted = r.remote_deleted_at;
  switch (model) {
    case 'users':
      return { id: r.id, first_name: wireText(r.first_name), last_name: wireText(r.last_name), email: wireText(r.email), status: wireText(r.status), remote_deleted_at: deleted };
    case 'jobs':
      return { id: r.id, name: wireText(r.name), confidential: wireFlag(r.confidential), visibility: wireText(r.visibility), remote_deleted_at: deleted };
    case 'candidates':
      return {
        id: r.id,
        first_name: wireText(r.first_name),
        last_name: wireText(r.last_name),
        confidential: wireFlag(r.confidential),
        remote_url: wireText(r.remote_url),
        remote_deleted_at: deleted,
      };
    case 'applications':
      return {
        id: r.id,
        candidate_id: wireText(r.candidate_id),
        job_id: wireText(r.job_id),
        candidate: wireIdOnly(r.candidate),
        job: wireIdOnly(r.job),
        remote_url: wireText(r.remote_url),
        remote_deleted_at: deleted,
      };
  }
}

/** Validates one raw record of `model` (never throws). */
export function parseLinkedRecord<M extends LinkedModel>(model: M, raw: unknown): ParsedLinked<M> | RejectedLinked {
  const result =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { success: true as const, data: readWire(model, raw) } : wireSchemas[model].safeParse(raw);
  const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const id = readRecordId(rawId);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { model, id: id ?? null, path: issue && issue.path.length > 0 ? issue.path.join('.') : '(record)', message: clip(issue?.message ?? 'invalid record', MAX_REJECTION_MESSAGE_CHARS) };
  }
  if (id === undefined) return { model, id: null, path: 'id', message: 'missing or unreadable id' };
  const record = result.data as Record<string, unknown>;
  if (isDeleted(record.remote_deleted_at)) return { id, value: 'deleted' };
  return { id, value: toLinked(model, result.data) as LinkedRecordOf[M] };
}

function toLinked(model: LinkedModel, data: z.infer<(typeof wireSchemas)[LinkedModel]>): LinkedRecordOf[LinkedModel] {
  switch (model) {
    case 'users': {
      const user = data as z.infer<typeof wireSchemas.users>;
      const email = wholeText(user.email, MAX_EMAIL_CHARS);
      // Only INACTIVE ends access: a status the ATS does not give (null) is no reason to.
      return { email: email === null ? null : normalizeEmail(email), name: personName(user.first_name, user.last_name), active: user.status !== 'INACTIVE' };
    }
    case 'jobs': {
      const job = data as z.infer<typeof wireSchemas.jobs>;
      return { name: displayText(job.name, MAX_TITLE_CHARS), confidential: job.visibility === 'CONFIDENTIAL' || job.confidential === true };
    }
    case 'candidates': {
      const candidate = data as z.infer<typeof wireSchemas.candidates>;
      return { name: personName(candidate.first_name, candidate.last_name), confidential: candidate.confidential === true, remoteUrl: remoteUrl(candidate.remote_url) };
    }
    case 'applications': {
      const application = data as z.infer<typeof wireSchemas.applications>;
      return {
        remoteUrl: remoteUrl(application.remote_url),
        candidateId: readRecordId(application.candidate?.id) ?? readRecordId(application.candidate_id) ?? null,
        jobId: readRecordId(application.job?.id) ?? readRecordId(application.job_id) ?? null,
      };
    }
  }
}

/** Tells a parsed linked record from a rejected one. */
export function isRejectedLinked<M extends LinkedModel>(result: ParsedLinked<M> | RejectedLinked): result is RejectedLinked {
  return 'path' in result;
}

// --- References: which records interviews link to ---

/** The ids of each model that interviews reference. */
export type LinkedRefs = { readonly [M in LinkedModel]: Set<string> };

/** Empty reference sets. */
export function emptyRefs(): LinkedRefs {
  return { users: new Set(), jobs: new Set(), candidates: new Set(), applications: new Set() };
}

/** What to do with each id an interview references, one function per model (each called with one model's ids). */
export type RefVisitor = { readonly [M in LinkedModel]: (id: string) => void };

/** A {@link RefVisitor} that adds each id to `refs`. */
export function addingTo(refs: LinkedRefs): RefVisitor {
  return {
    users: (id) => void refs.users.add(id),
    jobs: (id) => void refs.jobs.add(id),
    candidates: (id) => void refs.candidates.add(id),
    applications: (id) => void refs.applications.add(id),
  };
}

/** Calls `visit` with each record `interview` references (through `linked`'s applications too); an id may come twice. */
export function visitRefs(interview: Interview, linked: LinkedData, visit: RefVisitor): void {
  for (const person of interview.interviewers) if (person.userId) visit.users(person.userId);
  if (interview.applicationId) visit.applications(interview.applicationId);
  visitNamed(interview, linked, visit);
}

/** Calls `visit` with the candidate and job `interview` names (its application's, when `linked` holds it). */
function visitNamed(interview: Interview, linked: LinkedData, visit: Pick<RefVisitor, 'candidates' | 'jobs'>): void {
  const application = interview.applicationId ? ownEntry(linked.applications, interview.applicationId) : undefined;
  const candidateId = application?.candidateId ?? interview.candidateId;
  if (candidateId) visit.candidates(candidateId);
  const jobId = application?.jobId ?? interview.jobId;
  if (jobId) visit.jobs(jobId);
}

/**
 * `refs` (what `interviews` reference) once `linked` holds their applications, which may name other candidates and
 * jobs: its users and applications stand, its candidates and jobs are found again. Half the work of a new pass.
 */
export function renamedRefs(interviews: Iterable<Interview>, linked: LinkedData, refs: LinkedRefs): LinkedRefs {
  const named = { ...refs, candidates: new Set<string>(), jobs: new Set<string>() };
  const visit = addingTo(named);
  for (const interview of interviews) visitNamed(interview, linked, visit);
  return named;
}

function ownEntry<T>(table: Table<T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

// --- Applying what a refresh read ---

/** Builds the next {@link LinkedData} copy on write: a table a refresh did not change is the previous one's. */
export class LinkedBuilder {
  readonly #before: LinkedData;
  readonly #tables = new Map<LinkedModel, Record<string, unknown>>();
  #formerEmails: Record<string, string> | undefined;
  readonly #syncedAtMs: Partial<Record<LinkedModel, number>>;
  /**
   * The ids whose record changed, per model: the interviews that reference them are resolved again. Left empty when
   * the builder was told not to track them (a full walk resolves every interview anyway).
   */
  readonly changed: LinkedRefs = emptyRefs();
  readonly #track: boolean;

  constructor(before: LinkedData | undefined, options: { trackChanges?: boolean } = {}) {
    this.#before = before ?? NO_LINKED_DATA;
    this.#track = options.trackChanges ?? true;
    this.#syncedAtMs = { ...this.#before.syncedAtMs };
  }

  /** The data as it stands (the same object until a table is copied: walks read it once per record). */
  get current(): LinkedData {
    if (this.#current !== undefined) return this.#current;
    const table = <M extends LinkedModel>(model: M) => (this.#tables.get(model) ?? this.#before[model]) as Table<LinkedRecordOf[M]>;
    return (this.#current = {
      users: table('users'),
      jobs: table('jobs'),
      candidates: table('candidates'),
      applications: table('applications'),
      formerEmails: this.#formerEmails ?? this.#before.formerEmails,
      syncedAtMs: this.#syncedAtMs,
    });
  }
  #current: LinkedData | undefined;

  #own(model: LinkedModel): Record<string, unknown> {
    let table = this.#tables.get(model);
    if (table === undefined) {
      this.#tables.set(model, (table = Object.assign(ownTable<unknown>(), this.#before[model])));
      this.#current = undefined;
    }
    return table;
  }

  #formerOf(): Record<string, string> {
    if (this.#formerEmails === undefined) {
      this.#formerEmails = Object.assign(ownTable<string>(), this.#before.formerEmails);
      this.#current = undefined;
    }
    return this.#formerEmails;
  }

  /** A model was read up to `atMs` (a walk's start). */
  synced(model: LinkedModel, atMs: number): void {
    this.#syncedAtMs[model] = atMs;
  }

  /** Applies one record read: kept only when `wanted` says an interview references it (or it is held already). */
  apply<M extends LinkedModel>(model: M, record: ParsedLinked<M>, wanted: (id: string) => boolean): void {
    const old = ownEntry(this.current[model] as Table<LinkedRecordOf[M]>, record.id);
    if (old === undefined && !wanted(record.id)) return;
    if (record.value === 'deleted') {
      // A deleted user ends their access; their last good name and address stay (Kombo anonymises deleted records
      // later, and an anonymised name is no news). Other deleted records leave: their interviews keep their names.
      if (model === 'users') {
        const user = (old as LinkedUser | undefined) ?? { email: null, name: null, active: true };
        if (!user.active) return;
        this.#own(model)[record.id] = { ...user, active: false };
        this.#noteChange(model, record.id);
      } else if (old !== undefined) {
        delete this.#own(model)[record.id];
        this.#noteChange(model, record.id);
      }
      return;
    }
    if (old !== undefined && sameRecord(old, record.value)) return;
    if (model === 'users') this.#followEmail(record.id, old as LinkedUser | undefined, record.value as LinkedUser);
    this.#own(model)[record.id] = record.value;
    this.#noteChange(model, record.id);
  }

  #noteChange(model: LinkedModel, id: string): void {
    if (this.#track) this.changed[model].add(id);
  }

  /** A user's address changed: the old one becomes a former address of theirs, and the new one is theirs alone. */
  #followEmail(userId: string, old: LinkedUser | undefined, next: LinkedUser): void {
    if (next.email !== null && ownEntry(this.current.formerEmails, next.email) !== undefined) delete this.#formerOf()[next.email];
    if (old?.email && next.email !== old.email) this.#formerOf()[old.email] = userId;
  }

  /** Keeps only what `refs` references (a full walk: the records of the interviews it read). */
  retain(refs: LinkedRefs): void {
    for (const model of LINKED_MODELS) {
      const table = this.current[model];
      for (const id of Object.keys(table)) if (!refs[model].has(id)) delete this.#own(model)[id];
    }
    const former = this.current.formerEmails;
    for (const email of Object.keys(former)) {
      if (!refs.users.has(former[email]!)) delete this.#formerOf()[email];
    }
  }

  /** The data as final, its new tables frozen. */
  finish(): LinkedData {
    for (const table of this.#tables.values()) Object.freeze(table);
    if (this.#formerEmails) Object.freeze(this.#formerEmails);
    return Object.freeze({ ...this.current, syncedAtMs: Object.freeze({ ...this.#syncedAtMs }) });
  }
}

function sameRecord(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return Object.keys(y).every((key) => x[key] === y[key]);
}

/** What `after` changed of `before` (a refresh that built it copy on write from `before`). */
export function linkedDelta(before: LinkedData | undefined, after: LinkedData): LinkedDelta {
  const base = before ?? NO_LINKED_DATA;
  const delta: { -readonly [K in keyof LinkedDelta]: LinkedDelta[K] } = { formerEmails: after.formerEmails, syncedAtMs: after.syncedAtMs };
  for (const model of LINKED_MODELS) {
    const [old, next] = [base[model] as Table<unknown>, after[model] as Table<unknown>];
    if (old === next) continue;
    const changes = ownTable<unknown>();
    for (const id of Object.keys(next)) if (ownEntry(old, id) !== next[id]) changes[id] = next[id];
    for (const id of Object.keys(old)) if (!Object.hasOwn(next, id)) changes[id] = null;
    (delta as Record<string, unknown>)[model] = changes;
  }
  return delta;
}

/** `before` with `delta` applied (another replica's refresh). */
export function patchLinked(before: LinkedData | undefined, delta: LinkedDelta): LinkedData {
  const base = before ?? NO_LINKED_DATA;
  const tables = new Map<LinkedModel, Table<unknown>>();
  for (const model of LINKED_MODELS) {
    const changes = delta[model] as Table<unknown> | undefined;
    if (changes === undefined) continue;
    const table: Record<string, unknown> = Object.assign(ownTable<unknown>(), base[model] as Table<unknown>);
    for (const id of Object.keys(changes)) {
      if (changes[id] === null) delete table[id];
      else table[id] = changes[id];
    }
    tables.set(model, Object.freeze(table));
  }
  const table = <M extends LinkedModel>(model: M) => (tables.get(model) ?? base[model]) as Table<LinkedRecordOf[M]>;
  return Object.freeze({
    users: table('users'),
    jobs: table('jobs'),
    candidates: table('candidates'),
    applications: table('applications'),
    formerEmails: delta.formerEmails,
    syncedAtMs: delta.syncedAtMs,
  });
}

// --- Resolving an interview against the linked records ---

/**
 * `interview` as its linked records say it is now: the candidate's, job's and interviewers' names and addresses, the
 * link into the ATS, whether it is confidential. Where a record is not held, the interview's own embedded copy
 * stays. The same object when nothing differs; idempotent, so a resolved interview resolves to itself.
 */
export function resolveInterview(interview: Interview, linked: LinkedData): Interview {
  const application = interview.applicationId ? ownEntry(linked.applications, interview.applicationId) : undefined;
  const candidateId = application?.candidateId ?? interview.candidateId ?? null;
  const candidate = candidateId ? ownEntry(linked.candidates, candidateId) : undefined;
  const jobId = application?.jobId ?? interview.jobId;
  const job = jobId ? ownEntry(linked.jobs, jobId) : undefined;
  const candidateName = candidate?.name ?? interview.candidateName;
  const jobName = job?.name ?? interview.jobName;
  const known = application !== undefined || candidate !== undefined;
  const atsUrl = known ? (application?.remoteUrl ?? candidate?.remoteUrl ?? null) : (interview.atsUrl ?? null);
  // Until a model has been read once, nobody knows whether a search (or a candidate) is confidential: a first walk
  // whose /ats/jobs or /ats/candidates failed hides the names it cannot vouch for, rather than guess they may show.
  const jobUnknown = job === undefined && jobId !== null && linked.syncedAtMs.jobs === undefined;
  const candidateUnknown = candidate === undefined && candidateId !== null && linked.syncedAtMs.candidates === undefined;
  const confidential: Confidentiality | null =
    job?.confidential || jobUnknown
      ? 'job'
      : candidate?.confidential || candidateUnknown
        ? 'candidate'
        : job !== undefined || candidate !== undefined
          ? null
          : (interview.confidential ?? null);
  const interviewers = resolvePeople(interview.interviewers, linked);
  if (
    candidateName === interview.candidateName &&
    jobName === interview.jobName &&
    jobId === interview.jobId &&
    candidateId === (interview.candidateId ?? null) &&
    atsUrl === (interview.atsUrl ?? null) &&
    confidential === (interview.confidential ?? null) &&
    interviewers === interview.interviewers
  ) {
    return interview;
  }
  // Field by field, not a spread and deletes: a walk resolves every interview it read, and each resolved interview
  // then has one of a few shapes (a delete would turn it into a slow dictionary).
  const resolved: Mutable<Interview> = {
    id: interview.id,
    title: interview.title,
    startMs: interview.startMs,
    endMs: interview.endMs,
    address: interview.address,
    conferencingUrl: interview.conferencingUrl,
    candidateName,
    jobName,
    jobId,
    interviewers,
  };
  if (interview.applicationId !== undefined) resolved.applicationId = interview.applicationId;
  if (candidateId !== null) resolved.candidateId = candidateId;
  resolved.revisionMs = interview.revisionMs;
  if (atsUrl !== null) resolved.atsUrl = atsUrl;
  if (confidential !== null) resolved.confidential = confidential;
  return resolved as Interview;
}

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** The interviewers with their users' names and addresses; the same array when none differs. */
function resolvePeople(people: readonly Interviewer[], linked: LinkedData): readonly Interviewer[] {
  let changed = false;
  const next = people.map((person) => {
    const user = person.userId ? ownEntry(linked.users, person.userId) : undefined;
    if (user === undefined) return person;
    const email = user.email ?? person.email;
    const name = user.name ?? person.name;
    if (email === person.email && name === person.name) return person;
    changed = true;
    return Object.freeze({ ...person, email, name });
  });
  if (!changed) return people;
  // One person listed twice under two addresses (the old and the new) is one attendee.
  const seen = new Set<string>();
  return next.filter((person) => person.email === null || (!seen.has(person.email) && seen.add(person.email)));
}

// --- People: who an address belongs to, and whether they may see anything ---

/** Who an address leads to: the person's current address, whether they are active, their former addresses. */
export interface LinkedPerson {
  readonly email: string;
  readonly active: boolean;
  readonly userId: string;
  readonly formerEmails: readonly string[];
}

/** Each address (current or former) to its person, built once per {@link LinkedData}. */
const peopleIndexes = new WeakMap<LinkedData, Map<string, LinkedPerson>>();

/** The person `email` belongs to (their current or a former address), or undefined when no user record has it. */
export function personOf(linked: LinkedData | undefined, email: string): LinkedPerson | undefined {
  if (linked === undefined) return undefined;
  let index = peopleIndexes.get(linked);
  if (index === undefined) peopleIndexes.set(linked, (index = indexPeople(linked)));
  return index.get(email);
}

function indexPeople(linked: LinkedData): Map<string, LinkedPerson> {
  const formerByUser = new Map<string, string[]>();
  for (const email of Object.keys(linked.formerEmails)) {
    const userId = linked.formerEmails[email]!;
    const list = formerByUser.get(userId) ?? [];
    list.push(email);
    formerByUser.set(userId, list);
  }
  const index = new Map<string, LinkedPerson>();
  const current = new Map<string, LinkedPerson>();
  for (const userId of Object.keys(linked.users)) {
    const user = linked.users[userId]!;
    if (user.email === null) continue;
    const person: LinkedPerson = { email: user.email, active: user.active, userId, formerEmails: (formerByUser.get(userId) ?? []).sort() };
    current.set(user.email, person);
    for (const former of person.formerEmails) index.set(former, person);
  }
  // A current address wins over someone's former one (an address handed to a new colleague is theirs now).
  for (const [email, person] of current) index.set(email, person);
  return index;
}

// --- Confidential searches ---

/**
 * `interview` as a calendar may show it: of a confidential job, without the job, the candidate and the title (an ATS
 * title names them); of a confidential candidate, without the candidate and the title. Times, UID, room, join link and
 * the ATS link stay. The same object when nothing is hidden.
 */
export function redactConfidential(interview: Interview): Interview {
  if (!interview.confidential) return interview;
  return interview.confidential === 'job'
    ? { ...interview, title: null, candidateName: null, jobName: null }
    : { ...interview, title: null, candidateName: null };
}

/** `interviews` as pages and calendars may show them: redacted (see {@link redactConfidential}) unless `showNames`. */
export function shownInterviews(interviews: readonly Interview[], showNames: boolean): readonly Interview[] {
  if (showNames || !interviews.some((interview) => interview.confidential)) return interviews;
  return interviews.map(redactConfidential);
}

/**
 * Linked records this service saved itself (their checksum matched), read back without validating each one: every
 * table gets no prototype again, as its keys are the ATS's ids (an id named `constructor` must not find Object's).
 */
export function ownLinkedData(saved: LinkedData): LinkedData {
  const own = <T>(table: Table<T> | undefined): Table<T> => Object.assign(ownTable<T>(), table);
  return {
    users: own(saved.users),
    jobs: own(saved.jobs),
    candidates: own(saved.candidates),
    applications: own(saved.applications),
    formerEmails: own(saved.formerEmails),
    syncedAtMs: Object.assign(ownTable<number>(), saved.syncedAtMs),
  };
}
