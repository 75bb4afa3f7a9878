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
  /** Every live interview, in id order. */
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

  private constructor(readonly data: SnapshotData) {
    const byId = new Map<string, Interview>();
    const byEmail = new Map<string, Interview[]>();
    const names = new Map<string, { name: string; revisionMs: number }>();
    for (const interview of data.interviews) {
      byId.set(interview.id, interview);
      for (const person of interview.interviewers) {
        if (person.email === null) continue;
        let list = byEmail.get(person.email);
        if (!list) byEmail.set(person.email, (list = []));
        list.push(interview);
        const known = names.get(person.email);
        if (person.name !== null && (!known || interview.revisionMs > known.revisionMs)) {
          names.set(person.email, { name: person.name, revisionMs: interview.revisionMs });
        }
      }
    }
    for (const list of byEmail.values()) list.sort(compareInterviews);
    this.byId = byId;
    this.byEmail = byEmail;
    this.names = new Map([
      ...Object.entries(data.formerNames ?? {}),
      ...[...names].map(([email, { name }]): [string, string] => [email, name]),
    ]);
  }

  /** Indexes `data` (already ordered and deduplicated, as {@link applyWalk} makes it). */
  static fromData(data: SnapshotData): Snapshot {
    return new Snapshot(data);
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
 * listed leave); an incremental one merges changes in (canceled and deleted records leave). An interview whose
 * content is unchanged keeps its old object, revision included, so its event's bytes stay the same; one whose
 * content changed without its timestamps moving gets a later revision, so SEQUENCE still grows.
 */
export function applyWalk(previous: Snapshot | undefined, walk: Walk): AppliedWalk {
  const before = previous?.integrationId === walk.integrationId ? previous : undefined;
  const next = new Map<string, Interview>(walk.kind === 'incremental' && before ? before.byId : []);
  for (const record of walk.records) {
    if (record.interview === null) next.delete(record.id);
    else next.set(record.id, record.interview);
  }

  const changed = new Set<string>();
  let changes = 0;
  for (const [id, fresh] of next) {
    const old = before?.byId.get(id);
    if (old === undefined) {
      changes++;
      emailsOf(fresh, changed);
    } else if (old !== fresh) {
      if (sameContent(old, fresh)) {
        next.set(id, old);
      } else {
        changes++;
        emailsOf(old, changed);
        emailsOf(fresh, changed);
        if (fresh.revisionMs <= old.revisionMs) next.set(id, { ...fresh, revisionMs: old.revisionMs + 1000 });
      }
    }
  }
  for (const [id, old] of before?.byId ?? []) {
    if (!next.has(id)) {
      changes++;
      emailsOf(old, changed);
    }
  }

  const interviews = [...next.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const live = new Set<string>();
  for (const interview of interviews) emailsOf(interview, live);
  const formerNames: Record<string, string> = {};
  for (const [email, name] of before?.names ?? []) if (!live.has(email)) formerNames[email] = name;
  // Filled in below, once the new names are known; frozen before anyone else sees the snapshot.
  const feedChangedAtMs: Record<string, number> = { ...before?.data.feedChangedAtMs };
  const snapshot = Snapshot.fromData({
    format: 1,
    integrationId: walk.integrationId,
    syncedAtMs: walk.startedAtMs,
    fullSyncedAtMs: walk.kind === 'full' ? walk.startedAtMs : (before?.data.fullSyncedAtMs ?? walk.startedAtMs),
    firstSyncedAtMs: before?.data.firstSyncedAtMs ?? walk.startedAtMs,
    interviews,
    feedChangedAtMs,
    formerNames,
  });
  // A renamed interviewer changes their calendar's name even when no event of theirs changed.
  for (const [email, name] of snapshot.names) if (before?.names.get(email) !== name) changed.add(email);
  for (const email of changed) {
    // Strictly later than before, so If-Modified-Since never mistakes a second change for the first.
    feedChangedAtMs[email] = Math.max(walk.startedAtMs, (feedChangedAtMs[email] ?? 0) + 1000);
  }
  Object.freeze(feedChangedAtMs);
  return { snapshot, changedEmails: changed, changes };
}
