import { sameContent, sameLinks, type Interview } from './interview.js';
import type { ParsedRecord } from './interview-schema.js';
import { ownTable } from '../storage/own-record.js';
import { LayeredMap } from './layered-map.js';
import { linkedDelta, patchLinked, type LinkedData, type LinkedDelta } from './linked-records.js';

const DAY_MS = 86_400_000;

/**
 * How long past the feed window an interviewer with no live interview keeps their entries in the side tables
 * (`feedChangedAtMs`, `formerNames`): long enough for a calendar client that polls rarely, or was offline for weeks,
 * to fetch the emptied calendar under its familiar name. After that their calendar is named by their address.
 */
export const FORMER_INTERVIEWER_MARGIN_DAYS = 30;

/** How long after their feed last changed an interviewer with no live interview stays in the side tables. */
export function formerInterviewerRetentionMs(feedPastDays: number): number {
  return (feedPastDays + FORMER_INTERVIEWER_MARGIN_DAYS) * DAY_MS;
}

/**
 * Days past the feed window an ended interview is still held: a feed's window moves a day at a time, from the clock of
 * whoever renders it, and an interview without an end lasts DEFAULT_DURATION_MINUTES (a day at most); two days cover
 * both, so no clock tick between two walks ever shows a gap.
 */
export const HELD_MARGIN_DAYS = 2;

/**
 * The start of what a walk at `nowMs` holds: interviews that ended (or, without an end, started) before it are not
 * kept, indexed, saved or replicated, as no feed can show them.
 */
export function heldFromMs(nowMs: number, feedPastDays: number): number {
  return Math.floor(nowMs / DAY_MS) * DAY_MS - (feedPastDays + HELD_MARGIN_DAYS) * DAY_MS;
}

/** Whether `interview` ended before `fromMs` (see {@link heldFromMs}): no feed shows it any more. */
export function endedBefore(interview: Pick<Interview, 'startMs' | 'endMs'>, fromMs: number): boolean {
  return (interview.endMs ?? interview.startMs) < fromMs;
}

/** What a snapshot is made of: plain data, so a store can write it to disk (or Redis) and read it back. */
export interface SnapshotData {
  readonly format: 1;
  readonly integrationId: string;
  /** Start of the last successful walk: the next incremental walk asks for changes after it (less an overlap). */
  readonly syncedAtMs: number;
  /** Start of the last successful full walk. */
  readonly fullSyncedAtMs: number;
  /** Start of the first walk ever applied: the Last-Modified of a feed that never had an event. */
  readonly firstSyncedAtMs: number;
  /** Every live interview (in the order a full walk listed them; an incremental one appends what it adds). */
  readonly interviews: readonly Interview[];
  /**
   * When each interviewer's feed last changed (their Last-Modified); kept after their last interview leaves, until
   * a full walk prunes it (see {@link formerInterviewerRetentionMs}).
   */
  readonly feedChangedAtMs: Readonly<Record<string, number>>;
  /**
   * The last known name of each interviewer who has no live interview any more, so their (now empty) calendar
   * keeps its name instead of turning into an email address; pruned with their `feedChangedAtMs` entry.
   */
  readonly formerNames?: Readonly<Record<string, string>>;
  /**
   * The latest `feedChangedAtMs` entry ever pruned: the Last-Modified of an email not in the table is at least this,
   * so pruning never moves a feed's Last-Modified back (a client's If-Modified-Since from before the last change of
   * a pruned interviewer must not get 304). Absent, as 0, in snapshots saved before pruning existed.
   */
  readonly prunedChangedAtMs?: number;
  /**
   * What the walk held (see {@link heldFromMs}): interviews that ended before this are not in `interviews`. Absent in
   * snapshots saved before the window was held, and where nothing is windowed (tests).
   */
  readonly heldFromMs?: number;
  /**
   * The ATS records interviews link to (users, jobs, candidates, applications), kept so a refresh can apply their
   * changes. Absent in snapshots saved before they were kept: the next walk fetches them.
   */
  readonly linked?: LinkedData;
}

/**
 * What an incremental walk changed, for replicas that hold the snapshot it started from: the interviews it added or
 * changed, the ids it removed, the interviewers whose lists it touched, the times, and the side-table entries of the
 * touched interviewers only (an entry absent for a touched email is one the walk deleted). An incremental walk writes
 * the side tables of the interviewers it touched and no others, so this is all a replica needs, and a delta costs what
 * changed, not the organisation's tables. (Deltas written whole by earlier releases read the same way.)
 */
export interface SnapshotDelta {
  readonly updated: readonly Interview[];
  readonly removed: readonly string[];
  readonly touchedEmails: readonly string[];
  readonly syncedAtMs: number;
  readonly fullSyncedAtMs: number;
  readonly firstSyncedAtMs: number;
  readonly feedChangedAtMs: Readonly<Record<string, number>>;
  readonly formerNames?: Readonly<Record<string, string>>;
  readonly prunedChangedAtMs?: number;
  readonly heldFromMs?: number;
  /** What the walk changed of the linked records; absent when it changed none. */
  readonly linked?: LinkedDelta;
}

/**
 * The delta that turns `before` into `after` (an incremental walk's result, with the interviewers it touched), or
 * undefined when `after` was not derived from `before` that way (a full walk rebuilds everything: share it whole).
 */
export function snapshotDelta(before: Snapshot, after: Snapshot, touchedEmails: ReadonlySet<string>): SnapshotDelta {
  const updated: Interview[] = [];
  const removed: string[] = [];
  if (after.byId !== before.byId) {
    // Objects an incremental walk kept are the very same: identity tells what it changed. Two versions of one base
    // differ only in their layers' keys; anything else is compared whole.
    const changed = LayeredMap.over(after.byId).keysChangedSince(before.byId);
    if (changed !== undefined) {
      for (const id of changed) {
        const interview = after.byId.get(id);
        if (interview === undefined) {
          if (before.byId.has(id)) removed.push(id);
        } else if (before.byId.get(id) !== interview) {
          updated.push(interview);
        }
      }
    } else {
      for (const [id, interview] of after.byId) if (before.byId.get(id) !== interview) updated.push(interview);
      for (const id of before.byId.keys()) if (!after.byId.has(id)) removed.push(id);
    }
  }
  const { feedChangedAtMs, formerNames = {} } = after.data;
  const changedAt = sideTable<number>();
  const names = sideTable<string>();
  for (const email of touchedEmails) {
    const at = ownEntry(feedChangedAtMs, email);
    if (at !== undefined) changedAt[email] = at;
    const name = ownEntry(formerNames, email);
    if (name !== undefined) names[email] = name;
  }
  // Whatever else a walk adds to the data (an optional field of its own) travels as the data carries it.
  const { format: _format, integrationId: _integrationId, linked, ...rest } = fieldsOf(after.data);
  return {
    ...rest,
    updated,
    removed,
    touchedEmails: [...touchedEmails],
    feedChangedAtMs: changedAt,
    formerNames: names,
    // The linked records travel as what changed of them, never as the whole tables.
    ...(linked !== undefined && linked !== before.data.linked ? { linked: linkedDelta(before.data.linked, linked) } : {}),
  };
}

/**
 * An immutable, indexed view of every live interview. A refresh builds a new one and swaps it in whole; nothing
 * ever edits one in place.
 */
export class Snapshot {
  readonly byId: ReadonlyMap<string, Interview>;
  /** Each interviewer's interviews, sorted by start then id: a feed never scans the whole snapshot. */
  readonly byEmail: ReadonlyMap<string, readonly Interview[]>;
  /** Each interviewer's display name, from their most recently changed interview, else their last known one. */
  readonly names: ReadonlyMap<string, string>;

  private constructor(readonly data: SnapshotData, indexes: Indexes) {
    ({ byId: this.byId, byEmail: this.byEmail, names: this.names } = indexes);
  }

  /** Indexes `data` whole (a snapshot read back from a store). */
  static fromData(data: SnapshotData): Snapshot {
    return new Snapshot(data, indexAll(data));
  }

  /**
   * `snapshot` without the side-table entries of `emails` (interviewers with no live interview), whose latest
   * change time joins the Last-Modified floor; its interviews and their indexes are shared, not copied.
   */
  static pruned(snapshot: Snapshot, emails: ReadonlySet<string>): Snapshot {
    const { feedChangedAtMs, formerNames = {} } = snapshot.data;
    let floor = snapshot.data.prunedChangedAtMs ?? 0;
    const changedAt = sideTable<number>();
    for (const email of Object.keys(feedChangedAtMs)) {
      const at = feedChangedAtMs[email]!;
      if (emails.has(email)) floor = Math.max(floor, at);
      else changedAt[email] = at;
    }
    const names = sideTable<string>();
    for (const email of Object.keys(formerNames)) if (!emails.has(email)) names[email] = formerNames[email]!;
    const index = new Map<string, string>();
    for (const [email, name] of snapshot.names) if (!emails.has(email)) index.set(email, name);
    const data = copyData(snapshot.data, { feedChangedAtMs: Object.freeze(changedAt), formerNames: Object.freeze(names), prunedChangedAtMs: floor });
    return new Snapshot(data, { byId: snapshot.byId, byEmail: snapshot.byEmail, names: index });
  }

  /** `snapshot` as of a later walk that changed nothing: only its sync time moves; its indexes are shared. */
  static resynced(snapshot: Snapshot, syncedAtMs: number): Snapshot {
    return new Snapshot(copyData(snapshot.data, { syncedAtMs }), { byId: snapshot.byId, byEmail: snapshot.byEmail, names: snapshot.names });
  }

  /** Indexes the data of a full walk, whose interviews by id the walk built already. */
  static fromWalk(data: SnapshotData, byId: ReadonlyMap<string, Interview>): Snapshot {
    return new Snapshot(data, indexAll(data, byId));
  }

  /**
   * The snapshot after an incremental walk: `previous`'s indexes with only the lists of `touchedEmails` rebuilt, so
   * a refresh that changed a few interviews costs about as much as those interviews, not the organisation.
   */
  static derive(
    previous: Snapshot,
    data: SnapshotData,
    byId: ReadonlyMap<string, Interview>,
    touchedIds: ReadonlySet<string>,
    touchedEmails: ReadonlySet<string>,
  ): Snapshot {
    // Nobody's list changed (the common refresh): the same indexes serve on, copied for no one.
    if (touchedEmails.size === 0) return new Snapshot(data, { byId, byEmail: previous.byEmail, names: previous.names });
    // Only the touched interviewers' lists are new: every other one is shared with `previous`, and so is the map of
    // them. (Names, one short string per person, are copied: a Map is what readers compare and list.)
    const byEmail = new Map<string, readonly Interview[] | undefined>();
    const names = new Map(previous.names);
    // What the walk added to each touched interviewer's list, in one pass over the touched interviews: a panel of n
    // interviewers then costs n, not n² (each of them scanning every touched interview for their email).
    const added = new Map<string, Interview[]>();
    for (const id of touchedIds) {
      const interview = byId.get(id);
      for (const person of interview?.interviewers ?? []) {
        if (person.email === null || !touchedEmails.has(person.email)) continue;
        let list = added.get(person.email);
        if (!list) added.set(person.email, (list = []));
        if (list.at(-1) !== interview) list.push(interview!);
      }
    }
    const listed = new Set<Interview>();
    for (const email of touchedEmails) {
      const list = (previous.byEmail.get(email) ?? []).filter((interview) => !touchedIds.has(interview.id));
      list.push(...(added.get(email) ?? []));
      list.sort(compareInterviews);
      byEmail.set(email, list.length > 0 ? list : undefined);
      for (const interview of list) listed.add(interview);
    }
    // Their names, from their lists (else their last known name stays).
    for (const [email, name] of namesIn(listed, touchedEmails)) names.set(email, name);
    return new Snapshot(data, { byId, byEmail: LayeredMap.over(previous.byEmail).with(byEmail), names });
  }

  /**
   * `previous` with `delta` applied (another replica's incremental walk): the same indexes the walker's
   * {@link Snapshot.derive} built, from the same interviews and touched interviewers, so both serve the same bytes.
   */
  static patched(previous: Snapshot, delta: SnapshotDelta): Snapshot {
    let byId = previous.byId;
    const touchedIds = new Set<string>();
    if (delta.updated.length > 0 || delta.removed.length > 0) {
      const changes = new Map<string, Interview | undefined>();
      for (const id of delta.removed) changes.set(id, undefined);
      for (const interview of delta.updated) changes.set(interview.id, interview);
      for (const id of changes.keys()) touchedIds.add(id);
      byId = LayeredMap.over(previous.byId).with(changes);
    }
    // The touched interviewers' entries as the walk left them (absent: deleted); everyone else's stay.
    const changedAt = sideTable(previous.data.feedChangedAtMs);
    const names = sideTable(previous.data.formerNames);
    const deltaNames = delta.formerNames ?? {};
    for (const email of delta.touchedEmails) {
      const at = ownEntry(delta.feedChangedAtMs, email);
      if (at === undefined) delete changedAt[email];
      else changedAt[email] = at;
      const name = ownEntry(deltaNames, email);
      if (name === undefined) delete names[email];
      else names[email] = name;
    }
    const { updated: _updated, removed: _removed, touchedEmails: _touched, linked: linkedChange, ...fields } = delta;
    const { linked: linkedBefore, ...kept } = fieldsOf(previous.data);
    const linked = linkedChange !== undefined ? patchLinked(linkedBefore, linkedChange) : linkedBefore;
    const data = withInterviews(
      {
        ...kept,
        ...fields,
        format: 1,
        integrationId: previous.integrationId,
        feedChangedAtMs: Object.freeze(changedAt),
        formerNames: Object.freeze(names),
        ...(linked !== undefined ? { linked } : {}),
      },
      byId,
    );
    return Snapshot.derive(previous, data, byId, touchedIds, new Set(delta.touchedEmails));
  }

  get integrationId(): string {
    return this.data.integrationId;
  }

  get size(): number {
    return this.byId.size;
  }

  /** An interviewer's interviews, sorted; empty for an email with none. */
  interviewsOf(email: string): readonly Interview[] {
    return this.byEmail.get(email) ?? [];
  }

  /**
   * When an interviewer's feed last changed; for an email not in the table (never seen, or pruned), the first walk's
   * time or the latest pruned change, whichever is later.
   */
  feedChangedAt(email: string): number {
    return ownEntry(this.data.feedChangedAtMs, email) ?? Math.max(this.data.firstSyncedAtMs, this.data.prunedChangedAtMs ?? 0);
  }

  #teams: Map<string | null, readonly Interview[]> | undefined;
  /**
   * Every interview (`null`), or those of one job, sorted as feeds list them: sorted once per snapshot and team, so a
   * team feed's render does not copy and sort the organisation each time.
   */
  teamInterviews(jobId: string | null): readonly Interview[] {
    this.#teams ??= new Map();
    let list = this.#teams.get(jobId);
    if (list === undefined) {
      const all = this.data.interviews;
      list = (jobId === null ? [...all] : all.filter((interview) => interview.jobId === jobId)).sort(compareInterviews);
      // Only jobs that have interviews are kept: a request for any other id costs a pass, not a table entry.
      if (jobId === null || list.length > 0) this.#teams.set(jobId, list);
    }
    return list;
  }

  #lastChangedAt: number | undefined;
  /** When any interviewer's feed last changed (a team feed's Last-Modified): computed once per snapshot. */
  lastChangedAt(): number {
    if (this.#lastChangedAt === undefined) {
      let latest = Math.max(this.data.firstSyncedAtMs, this.data.prunedChangedAtMs ?? 0);
      for (const at of Object.values(this.data.feedChangedAtMs)) if (at > latest) latest = at;
      this.#lastChangedAt = latest;
    }
    return this.#lastChangedAt;
  }
}

interface Indexes {
  byId: ReadonlyMap<string, Interview>;
  byEmail: ReadonlyMap<string, readonly Interview[]>;
  names: ReadonlyMap<string, string>;
}

/** Every index of `data`; `byId` when the caller has it already. */
function indexAll(data: SnapshotData, byId?: ReadonlyMap<string, Interview>): Indexes {
  const byEmail = new Map<string, Interview[]>();
  for (const interview of data.interviews) {
    for (const person of interview.interviewers) {
      if (person.email === null) continue;
      let list = byEmail.get(person.email);
      if (!list) byEmail.set(person.email, (list = []));
      list.push(interview);
    }
  }
  const formerNames = data.formerNames ?? {};
  const names = new Map<string, string>();
  for (const email of Object.keys(formerNames)) names.set(email, formerNames[email]!);
  for (const list of byEmail.values()) list.sort(compareInterviews);
  for (const [email, name] of namesIn(data.interviews, null)) names.set(email, name);
  return { byId: byId ?? new Map(data.interviews.map((interview) => [interview.id, interview])), byEmail, names };
}

/**
 * The name each interviewer goes by in `interviews` (only those of `emails`, when given): from the most recently
 * changed interview that names them (ties: highest id). One pass over every listed person.
 */
function namesIn(interviews: Iterable<Interview>, emails: ReadonlySet<string> | null): Map<string, string> {
  const best = new Map<string, { name: string; revisionMs: number; id: string }>();
  for (const interview of interviews) {
    for (const person of interview.interviewers) {
      if (person.email === null || person.name === null || (emails !== null && !emails.has(person.email))) continue;
      const known = best.get(person.email);
      if (!known || interview.revisionMs > known.revisionMs || (interview.revisionMs === known.revisionMs && interview.id > known.id)) {
        best.set(person.email, { name: person.name, revisionMs: interview.revisionMs, id: interview.id });
      }
    }
  }
  return new Map([...best].map(([email, { name }]) => [email, name]));
}

/** Sorts events by start, then id, so every render lists them in the same order. */
export function compareInterviews(a: Interview, b: Interview): number {
  return a.startMs - b.startMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The outcome of one successful walk. */
export interface Walk {
  readonly kind: 'full' | 'incremental';
  readonly integrationId: string;
  readonly startedAtMs: number;
  /** Every record the walk read, in the order read; a later record for an id wins. */
  readonly records: readonly ParsedRecord[];
  /**
   * The ids of records that failed validation. Such an interview keeps its last good version, in a full walk as in
   * an incremental one, unless the walk also read a valid record for the id.
   */
  readonly rejectedIds?: readonly string[];
  /** The linked records as the walk left them; absent: those of the snapshot it applies to stay. */
  readonly linked?: LinkedData;
}

/** What a walk changed: the new snapshot and whose feeds must be rendered again. */
export interface AppliedWalk {
  readonly snapshot: Snapshot;
  readonly changedEmails: ReadonlySet<string>;
  /** Interviews added, changed or removed. */
  readonly changes: number;
  /**
   * Interviews a feed showed that the walk removed (no longer listed, canceled, deleted): what the mass-removal guard
   * counts. Interviews that aged out of the window, or that an edit moved before it, are no removal.
   */
  readonly removals: number;
  /** Interviews that left because they ended before the held window (aged out, or moved there by an edit). */
  readonly agedOut: number;
}

function emailsOf(interview: Interview | undefined, into: Set<string>): void {
  for (const person of interview?.interviewers ?? []) if (person.email !== null) into.add(person.email);
}

/**
 * Stands in a walk's changed feeds (and in `feedChangedAtMs`) for an interview no interviewer's email leads to: it
 * is in team feeds only, whose cache and Last-Modified must see it come, change and go all the same. No normalised
 * email is empty.
 */
export const TEAM_FEEDS_ONLY = '';

/** The feeds a change to `interview` touches: its interviewers', or {@link TEAM_FEEDS_ONLY} when none has an email. */
function feedsOf(interview: Interview | undefined, into: Set<string>): void {
  if (interview === undefined) return;
  emailsOf(interview, into);
  if (!interview.interviewers.some((person) => person.email !== null)) into.add(TEAM_FEEDS_ONLY);
}

/**
 * Builds the snapshot a successful walk leads to. A full walk replaces the set of interviews (records no longer
 * listed leave); an incremental one merges changes in (canceled and deleted records leave) and re-indexes only the
 * interviewers it touched. An interview whose content is unchanged keeps its old object, revision included, so its
 * event's bytes stay the same; one whose content changed without its timestamps moving gets a later revision, so
 * SEQUENCE still grows.
 */
export function applyWalk(previous: Snapshot | undefined, walk: Walk, options: ApplyOptions = {}): AppliedWalk {
  const before = previous?.integrationId === walk.integrationId ? previous : undefined;
  const fromMs = options.heldFromMs;
  const applied = walk.kind === 'incremental' && before ? applyIncremental(before, walk, fromMs) : applyFull(before, walk, fromMs);
  const retainMs = options.formerInterviewerRetentionMs;
  return walk.kind === 'full' && retainMs !== undefined ? pruneFormerInterviewers(applied, walk.startedAtMs - retainMs) : applied;
}

/** How a walk is applied. */
export interface ApplyOptions {
  /**
   * A full walk drops from the side tables every interviewer with no live interview whose feed last changed longer
   * ago than this (see {@link formerInterviewerRetentionMs}); unset, nobody is dropped.
   */
  formerInterviewerRetentionMs?: number;
  /**
   * Interviews that ended before this (see {@link heldFromMs}) are not kept: those the walk lists are dropped, and
   * held ones leave, without counting as removals. Unset, every dated interview is kept.
   */
  heldFromMs?: number;
}

/**
 * Drops the side-table entries of interviewers with no live interview whose feed last changed before `cutoffMs`,
 * so the tables hold the people of the window, not everyone ever seen. Their calendars are empty already; each now
 * takes its address as its name, so its cached feed goes.
 */
function pruneFormerInterviewers(applied: AppliedWalk, cutoffMs: number): AppliedWalk {
  const { snapshot } = applied;
  const table = snapshot.data.feedChangedAtMs;
  const stale = new Set<string>();
  for (const email of Object.keys(table)) if (table[email]! < cutoffMs && !snapshot.byEmail.has(email)) stale.add(email);
  if (stale.size === 0) return applied;
  const changedEmails = new Set(applied.changedEmails);
  for (const email of stale) changedEmails.add(email);
  return { ...applied, snapshot: Snapshot.pruned(snapshot, stale), changedEmails };
}

/** What to keep for an id the walk listed, given what the snapshot held: `undefined` when nothing changed. */
function settle(old: Interview | undefined, fresh: Interview): Interview | undefined {
  if (old === undefined) return fresh;
  if (old === fresh) return undefined;
  if (sameContent(old, fresh)) {
    // Only the job id moved (or arrived: snapshots saved before team feeds had none): a job's team feed changes, an
    // interviewer's event does not, so its revision and SEQUENCE stay. Likewise the ids of linked ATS records,
    // which later changes of those records are applied by.
    return old.jobId === fresh.jobId && sameLinks(old, fresh) ? undefined : { ...fresh, revisionMs: old.revisionMs };
  }
  return fresh.revisionMs > old.revisionMs ? fresh : { ...fresh, revisionMs: old.revisionMs + 1000 };
}

const NO_NAMES: Readonly<Record<string, string>> = Object.freeze(sideTable<string>());

/**
 * A table keyed by email: the ATS's text, so it has no prototype (an interviewer called `constructor` or `__proto__`
 * is an entry like any other, never an inherited member), filled from `from` when given.
 */
export function sideTable<T>(from?: Readonly<Record<string, T>>): Record<string, T> {
  return Object.assign(ownTable<T>(), from);
}

/** `table[key]` when the table itself holds it; a table read back from JSON still has Object.prototype's members. */
function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The side tables of a new snapshot, filled in once its indexes exist. Copy on write: they are the previous
 * snapshot's own (never mutated) objects until a walk writes to one, so a refresh that changed nothing copies
 * nothing, however many interviewers the tables hold.
 */
class LateFields {
  #changedAt: Record<string, number>;
  #names: Record<string, string>;
  #ownChangedAt = false;
  #ownNames = false;
  readonly prunedChangedAtMs: number;

  constructor(before: Snapshot | undefined) {
    this.#changedAt = (before?.data.feedChangedAtMs ?? sideTable<number>()) as Record<string, number>;
    this.#names = (before?.data.formerNames ?? NO_NAMES) as Record<string, string>;
    this.prunedChangedAtMs = before?.data.prunedChangedAtMs ?? 0;
  }

  get feedChangedAtMs(): Readonly<Record<string, number>> {
    return this.#changedAt;
  }

  get formerNames(): Readonly<Record<string, string>> {
    return this.#names;
  }

  /**
   * Records a change of `email`'s feed: strictly later than the last (or than any pruned one), so If-Modified-Since
   * never mistakes a second change for the first.
   */
  changed(email: string, atMs: number): void {
    if (!this.#ownChangedAt) [this.#changedAt, this.#ownChangedAt] = [sideTable(this.#changedAt), true];
    this.#changedAt[email] = Math.max(atMs, (ownEntry(this.#changedAt, email) ?? this.prunedChangedAtMs) + 1000);
  }

  setFormerName(email: string, name: string): void {
    if (ownEntry(this.#names, email) === name) return;
    if (!this.#ownNames) [this.#names, this.#ownNames] = [sideTable(this.#names), true];
    this.#names[email] = name;
  }

  dropFormerName(email: string): void {
    if (!Object.hasOwn(this.#names, email)) return;
    if (!this.#ownNames) [this.#names, this.#ownNames] = [sideTable(this.#names), true];
    delete this.#names[email];
  }

  /** The tables as final: the copies this walk made are frozen. */
  freeze(): Pick<SnapshotData, 'feedChangedAtMs' | 'formerNames' | 'prunedChangedAtMs'> {
    if (this.#ownChangedAt) Object.freeze(this.#changedAt);
    if (this.#ownNames) Object.freeze(this.#names);
    return { feedChangedAtMs: this.#changedAt, formerNames: this.#names, prunedChangedAtMs: this.prunedChangedAtMs };
  }
}

function lateFields(before: Snapshot | undefined): LateFields {
  return new LateFields(before);
}

function finish(
  snapshot: Snapshot,
  late: LateFields,
  changed: Set<string>,
  counts: Pick<AppliedWalk, 'changes' | 'removals' | 'agedOut'>,
  startedAtMs: number,
): AppliedWalk {
  for (const email of changed) {
    late.changed(email, startedAtMs);
    const name = snapshot.names.get(email);
    // A name no live interview gives any more (none left, or they no longer name this person) is kept as a former
    // name: the snapshot read back whole (a restart, another replica) then names them as this one does.
    if (name !== undefined && !namedByLiveInterview(snapshot, email)) late.setFormerName(email, name);
    else late.dropFormerName(email);
  }
  const tables = late.freeze();
  // The data was built (by this walk, and not yet published) before the tables were written to: it takes the
  // tables as they ended.
  Object.assign(snapshot.data, tables);
  return { snapshot, changedEmails: changed, ...counts };
}

/** Whether one of `email`'s live interviews gives their name. */
function namedByLiveInterview(snapshot: Snapshot, email: string): boolean {
  return snapshot.interviewsOf(email).some((interview) => interview.interviewers.some((person) => person.email === email && person.name !== null));
}

function dataOf(
  before: Snapshot | undefined,
  walk: Walk,
  interviews: PropertyDescriptor,
  late: LateFields,
  fromMs: number | undefined,
): SnapshotData {
  const { interviews: _interviews, ...kept } = before?.data ?? {};
  const fields = {
    ...kept,
    format: 1 as const,
    integrationId: walk.integrationId,
    syncedAtMs: walk.startedAtMs,
    fullSyncedAtMs: walk.kind === 'full' ? walk.startedAtMs : (before?.data.fullSyncedAtMs ?? walk.startedAtMs),
    firstSyncedAtMs: before?.data.firstSyncedAtMs ?? walk.startedAtMs,
    feedChangedAtMs: late.feedChangedAtMs,
    formerNames: late.formerNames,
    prunedChangedAtMs: late.prunedChangedAtMs,
    ...(fromMs !== undefined ? { heldFromMs: fromMs } : {}),
    ...((walk.linked ?? before?.data.linked) !== undefined ? { linked: walk.linked ?? before?.data.linked } : {}),
  };
  return Object.defineProperty(fields, 'interviews', interviews) as SnapshotData;
}

/** `data.interviews` as a property of another snapshot's data: a list made when first read is shared, not made. */
function interviewsOf(data: SnapshotData): PropertyDescriptor {
  return Object.getOwnPropertyDescriptor(data, 'interviews') ?? { value: data.interviews, enumerable: true };
}

/** `interviews` as a plain property. */
function listed(interviews: readonly Interview[]): PropertyDescriptor {
  return { value: interviews, enumerable: true, writable: true };
}

/**
 * An `interviews` list made from `byId` when first read: an incremental walk that changed a few interviews does not
 * copy the others into a new list; a save or a team feed makes it once per snapshot, when it needs it.
 */
function lazyInterviews(byId: ReadonlyMap<string, Interview>): PropertyDescriptor {
  let list: readonly Interview[] | undefined;
  return { enumerable: true, get: () => (list ??= Object.freeze([...byId.values()])) };
}

/**
 * `fields` with an `interviews` list made from `byId` when first read (see {@link lazyInterviews}).
 */
function withInterviews(fields: Omit<SnapshotData, 'interviews'>, byId: ReadonlyMap<string, Interview>): SnapshotData {
  return Object.defineProperty({ ...fields }, 'interviews', lazyInterviews(byId)) as SnapshotData;
}

/** A copy of `data` with `changes`, its `interviews` (made when first read) shared, not made. */
/** Every field of `data` but its interviews, without building the list (it may be made on first read). */
function fieldsOf(data: SnapshotData): Omit<SnapshotData, 'interviews'> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(data)) if (key !== 'interviews') fields[key] = (data as unknown as Record<string, unknown>)[key];
  return fields as unknown as Omit<SnapshotData, 'interviews'>;
}
function copyData(data: SnapshotData, changes: Partial<Omit<SnapshotData, 'interviews'>>): SnapshotData {
  return Object.assign(Object.defineProperties({}, Object.getOwnPropertyDescriptors(data)), changes) as SnapshotData;
}

/** Whether an interview is outside the held window `fromMs` (undefined: nothing is). */
function outside(interview: Interview, fromMs: number | undefined): boolean {
  return fromMs !== undefined && endedBefore(interview, fromMs);
}

function applyFull(before: Snapshot | undefined, walk: Walk, fromMs: number | undefined): AppliedWalk {
  const next = new Map<string, Interview>();
  // Ids the walk lists as ended before the window: they leave without being removals.
  const past = new Set<string>();
  for (const record of walk.records) {
    if (record.interview === null) {
      next.delete(record.id);
      if (record.reason === 'past') past.add(record.id);
      else past.delete(record.id);
    } else if (outside(record.interview, fromMs)) {
      next.delete(record.id);
      past.add(record.id);
    } else {
      next.set(record.id, record.interview);
      past.delete(record.id);
    }
  }
  if (before && walk.rejectedIds && walk.rejectedIds.length > 0) {
    // An invalid record is no news about its interview: it keeps its last good version, as an incremental walk does.
    const unanswered = new Set(walk.rejectedIds);
    for (const record of walk.records) unanswered.delete(record.id);
    for (const id of unanswered) {
      const old = before.byId.get(id);
      if (old && !outside(old, fromMs)) next.set(id, old);
    }
  }
  const changed = new Set<string>();
  let changes = 0;
  for (const [id, fresh] of next) {
    const old = before?.byId.get(id);
    const kept = settle(old, fresh);
    if (kept === undefined) {
      if (old) next.set(id, old);
      continue;
    }
    changes++;
    feedsOf(old, changed);
    feedsOf(kept, changed);
    next.set(id, kept);
  }
  let removals = 0;
  let agedOut = 0;
  for (const [id, old] of before?.byId ?? []) {
    if (!next.has(id)) {
      changes++;
      feedsOf(old, changed);
      if (past.has(id) || outside(old, fromMs)) agedOut++;
      else removals++;
    }
  }
  const late = lateFields(before);
  // Only the names the walk did not see again stay former names; the constructor indexes the rest.
  const live = new Set<string>();
  for (const interview of next.values()) emailsOf(interview, live);
  for (const email of live) late.dropFormerName(email);
  for (const [email, name] of before?.names ?? []) if (!live.has(email)) late.setFormerName(email, name);
  const snapshot = Snapshot.fromWalk(dataOf(before, walk, listed([...next.values()]), late, fromMs), next);
  // A renamed interviewer changes their calendar's name even when no event of theirs changed.
  for (const [email, name] of snapshot.names) if (before?.names.get(email) !== name) changed.add(email);
  return finish(snapshot, late, changed, { changes, removals, agedOut }, walk.startedAtMs);
}

function applyIncremental(before: Snapshot, walk: Walk, fromMs: number | undefined): AppliedWalk {
  // The last record for an id wins, as it would on Kombo's side.
  const latest = new Map<string, ParsedRecord>();
  for (const record of walk.records) latest.set(record.id, record);
  const updates = new Map<string, Interview | null>();
  const changed = new Set<string>();
  let removals = 0;
  let agedOut = 0;
  for (const [id, record] of latest) {
    const old = before.byId.get(id);
    const fresh = record.interview !== null && outside(record.interview, fromMs) ? null : record.interview;
    const kept = fresh === null ? (old === undefined ? undefined : null) : settle(old, fresh);
    if (kept === undefined) continue;
    updates.set(id, kept);
    feedsOf(old, changed);
    if (kept) feedsOf(kept, changed);
    else if (record.interview !== null || record.reason === 'past' || outside(old!, fromMs)) agedOut++;
    else removals++;
  }
  // The window moved on (a new day) since the snapshot was held: what ended before it leaves now, one pass a day.
  if (fromMs !== undefined && !(before.data.heldFromMs !== undefined && before.data.heldFromMs >= fromMs)) {
    for (const [id, old] of before.byId) {
      if (!updates.has(id) && endedBefore(old, fromMs)) {
        updates.set(id, null);
        feedsOf(old, changed);
        agedOut++;
      }
    }
  }
  const late = lateFields(before);
  // Nothing moved (the common refresh): the same index serves on, and only the walk's time is new.
  const byId = updates.size === 0 ? before.byId : LayeredMap.over(before.byId).with([...updates].map(([id, kept]) => [id, kept ?? undefined] as const));
  const interviews = updates.size === 0 ? interviewsOf(before.data) : lazyInterviews(byId);
  const snapshot = Snapshot.derive(
    before,
    dataOf(before, walk, interviews, late, fromMs ?? before.data.heldFromMs),
    byId,
    new Set(updates.keys()),
    changed,
  );
  return finish(snapshot, late, changed, { changes: updates.size, removals, agedOut }, walk.startedAtMs);
}
