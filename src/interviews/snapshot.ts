import { sameContent, type Interview } from './interview.js';
import type { ParsedRecord } from './interview-schema.js';

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
  /** When each interviewer's feed last changed (their Last-Modified); kept after their last interview leaves. */
  readonly feedChangedAtMs: Readonly<Record<string, number>>;
  /**
   * The last known name of each interviewer who has no live interview any more, so their (now empty) calendar
   * keeps its name instead of turning into an email address.
   */
  readonly formerNames?: Readonly<Record<string, string>>;
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
    const byEmail = new Map(previous.byEmail);
    const names = new Map(previous.names);
    for (const email of touchedEmails) {
      const list = (previous.byEmail.get(email) ?? []).filter((interview) => !touchedIds.has(interview.id));
      for (const id of touchedIds) {
        const interview = byId.get(id);
        if (interview?.interviewers.some((person) => person.email === email)) list.push(interview);
      }
      list.sort(compareInterviews);
      if (list.length > 0) byEmail.set(email, list);
      else byEmail.delete(email);
      const name = nameIn(list, email);
      if (name !== undefined) names.set(email, name); // else their last known name stays
    }
    return new Snapshot(data, { byId, byEmail, names });
  }

  get integrationId(): string {
    return this.data.integrationId;
  }

  get size(): number {
    return this.data.interviews.length;
  }

  /** An interviewer's interviews, sorted; empty for an email with none. */
  interviewsOf(email: string): readonly Interview[] {
    return this.byEmail.get(email) ?? [];
  }

  /** When an interviewer's feed last changed; for an email never seen, the first walk's time. */
  feedChangedAt(email: string): number {
    return this.data.feedChangedAtMs[email] ?? this.data.firstSyncedAtMs;
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
  const names = new Map(Object.entries(data.formerNames ?? {}));
  for (const [email, list] of byEmail) {
    list.sort(compareInterviews);
    const name = nameIn(list, email);
    if (name !== undefined) names.set(email, name);
  }
  return { byId: byId ?? new Map(data.interviews.map((interview) => [interview.id, interview])), byEmail, names };
}

/** The name `email` goes by in `interviews`: from the most recently changed one that names them (ties: highest id). */
function nameIn(interviews: readonly Interview[], email: string): string | undefined {
  let best: { name: string; revisionMs: number; id: string } | undefined;
  for (const interview of interviews) {
    for (const person of interview.interviewers) {
      if (person.email !== email || person.name === null) continue;
      if (!best || interview.revisionMs > best.revisionMs || (interview.revisionMs === best.revisionMs && interview.id > best.id)) {
        best = { name: person.name, revisionMs: interview.revisionMs, id: interview.id };
      }
    }
  }
  return best?.name;
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
}

/** What a walk changed: the new snapshot and whose feeds must be rendered again. */
export interface AppliedWalk {
  readonly snapshot: Snapshot;
  readonly changedEmails: ReadonlySet<string>;
  /** Interviews added, changed or removed. */
  readonly changes: number;
}

function emailsOf(interview: Interview | undefined, into: Set<string>): void {
  for (const person of interview?.interviewers ?? []) if (person.email !== null) into.add(person.email);
}

/**
 * Builds the snapshot a successful walk leads to. A full walk replaces the set of interviews (records no longer
 * listed leave); an incremental one merges changes in (canceled and deleted records leave) and re-indexes only the
 * interviewers it touched. An interview whose content is unchanged keeps its old object, revision included, so its
 * event's bytes stay the same; one whose content changed without its timestamps moving gets a later revision, so
 * SEQUENCE still grows.
 */
export function applyWalk(previous: Snapshot | undefined, walk: Walk): AppliedWalk {
  const before = previous?.integrationId === walk.integrationId ? previous : undefined;
  return walk.kind === 'incremental' && before ? applyIncremental(before, walk) : applyFull(before, walk);
}

/** What to keep for an id the walk listed, given what the snapshot held: `undefined` when nothing changed. */
function settle(old: Interview | undefined, fresh: Interview): Interview | undefined {
  if (old === undefined) return fresh;
  if (old === fresh) return undefined;
  if (sameContent(old, fresh)) {
    // Only the job id moved (or arrived: snapshots saved before team feeds had none): a job's team feed changes, an
    // interviewer's event does not, so its revision and SEQUENCE stay.
    return old.jobId === fresh.jobId ? undefined : { ...fresh, revisionMs: old.revisionMs };
  }
  return fresh.revisionMs > old.revisionMs ? fresh : { ...fresh, revisionMs: old.revisionMs + 1000 };
}

/** The parts of a new snapshot's data that are filled in once its indexes exist, then frozen. */
function lateFields(before: Snapshot | undefined) {
  return {
    feedChangedAtMs: { ...before?.data.feedChangedAtMs } as Record<string, number>,
    formerNames: { ...before?.data.formerNames } as Record<string, string>,
  };
}

function finish(
  snapshot: Snapshot,
  late: ReturnType<typeof lateFields>,
  changed: Set<string>,
  changes: number,
  startedAtMs: number,
): AppliedWalk {
  for (const email of changed) {
    // Strictly later than before, so If-Modified-Since never mistakes a second change for the first.
    late.feedChangedAtMs[email] = Math.max(startedAtMs, (late.feedChangedAtMs[email] ?? 0) + 1000);
    const name = snapshot.names.get(email);
    if (!snapshot.byEmail.has(email) && name !== undefined) late.formerNames[email] = name;
    else delete late.formerNames[email];
  }
  Object.freeze(late.feedChangedAtMs);
  Object.freeze(late.formerNames);
  return { snapshot, changedEmails: changed, changes };
}

function dataOf(before: Snapshot | undefined, walk: Walk, interviews: readonly Interview[], late: ReturnType<typeof lateFields>): SnapshotData {
  return {
    format: 1,
    integrationId: walk.integrationId,
    syncedAtMs: walk.startedAtMs,
    fullSyncedAtMs: walk.kind === 'full' ? walk.startedAtMs : (before?.data.fullSyncedAtMs ?? walk.startedAtMs),
    firstSyncedAtMs: before?.data.firstSyncedAtMs ?? walk.startedAtMs,
    interviews,
    ...late,
  };
}

function applyFull(before: Snapshot | undefined, walk: Walk): AppliedWalk {
  const next = new Map<string, Interview>();
  for (const record of walk.records) {
    if (record.interview === null) next.delete(record.id);
    else next.set(record.id, record.interview);
  }
  if (before && walk.rejectedIds && walk.rejectedIds.length > 0) {
    // An invalid record is no news about its interview: it keeps its last good version, as an incremental walk does.
    const unanswered = new Set(walk.rejectedIds);
    for (const record of walk.records) unanswered.delete(record.id);
    for (const id of unanswered) {
      const old = before.byId.get(id);
      if (old) next.set(id, old);
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
    emailsOf(old, changed);
    emailsOf(kept, changed);
    next.set(id, kept);
  }
  for (const [id, old] of before?.byId ?? []) {
    if (!next.has(id)) {
      changes++;
      emailsOf(old, changed);
    }
  }
  const late = lateFields(before);
  // Only the names the walk did not see again stay former names; the constructor indexes the rest.
  const live = new Set<string>();
  for (const interview of next.values()) emailsOf(interview, live);
  for (const email of live) delete late.formerNames[email];
  for (const [email, name] of before?.names ?? []) if (!live.has(email)) late.formerNames[email] = name;
  const snapshot = Snapshot.fromWalk(dataOf(before, walk, [...next.values()], late), next);
  // A renamed interviewer changes their calendar's name even when no event of theirs changed.
  for (const [email, name] of snapshot.names) if (before?.names.get(email) !== name) changed.add(email);
  return finish(snapshot, late, changed, changes, walk.startedAtMs);
}

function applyIncremental(before: Snapshot, walk: Walk): AppliedWalk {
  // The last record for an id wins, as it would on Kombo's side.
  const latest = new Map<string, Interview | null>();
  for (const record of walk.records) latest.set(record.id, record.interview);
  const updates = new Map<string, Interview | null>();
  const changed = new Set<string>();
  for (const [id, fresh] of latest) {
    const old = before.byId.get(id);
    const kept = fresh === null ? (old === undefined ? undefined : null) : settle(old, fresh);
    if (kept === undefined) continue;
    updates.set(id, kept);
    emailsOf(old, changed);
    if (kept) emailsOf(kept, changed);
  }
  const late = lateFields(before);
  // Nothing moved (the common refresh): the same index serves on, and only the walk's time is new.
  let byId = before.byId;
  let interviews = before.data.interviews;
  if (updates.size > 0) {
    const next = new Map(before.byId);
    for (const [id, kept] of updates) {
      if (kept === null) next.delete(id);
      else next.set(id, kept);
    }
    byId = next;
    interviews = [...next.values()];
  }
  const snapshot = Snapshot.derive(before, dataOf(before, walk, interviews, late), byId, new Set(updates.keys()), changed);
  return finish(snapshot, late, changed, updates.size, walk.startedAtMs);
}
