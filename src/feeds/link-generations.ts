import { appendFile, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ownRecord, ownTable } from '../storage/own-record.js';
import { StoreConflictError } from '../storage/store-errors.js';
import { readJsonFile } from '../storage/read-json-file.js';
import { writeFileAtomic } from '../storage/write-file-atomic.js';
import type { FeedIdentity, FeedTeam } from './feed-token.js';

/**
 * Revoked links: how many times each (integration, subject) had its link replaced. A subject is a person's normalised
 * email or a team feed; a token is current only when the generation bound into it is this number (0 when never
 * revoked, so every link issued before revocation existed keeps working until revoked).
 */
export interface LinkGenerationData {
  readonly format: 1;
  /** Integration id → subject key (see {@link subjectKey}) → generation (at least 1: a 0 is not stored). */
  readonly generations: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * One revocation or removal as a store writes it: each key it changed (integration id "\n" subject key, see
 * {@link subjectKey}) to its generation now, or null when the key is gone.
 */
export type LinkGenerationChange = ReadonlyMap<string, number | null>;

/**
 * Where link generations outlive the process. Embedded: files under DATA_DIR; replica mode: Redis.
 */
export interface LinkGenerationStore {
  /** The saved generations, or undefined when none were ever saved. Throws when a file exists but cannot be read. */
  load(): Promise<LinkGenerationData | undefined>;
  /**
   * What `load` reads, as one flat table (see {@link flattenGenerations}) the caller may keep: 50,000 entries read
   * without building a nested object of each integration's (which costs far more than the read).
   */
  loadTable?(): Promise<Map<string, number> | undefined>;
  /** Saves `data` whole: a reader sees the old data or the new, never a mix. */
  save(data: LinkGenerationData): Promise<void>;
  /**
   * Writes only what one change changed, over what this process last read or wrote here: a revocation writes one
   * entry, not the whole table. A store shared with other processes throws {@link StoreConflictError} when another
   * wrote since (read {@link changes} and make the change again). A store without it is saved whole every time.
   */
  write?(change: LinkGenerationChange): Promise<void>;
  /**
   * What other processes changed since this one last read or wrote here: each changed key's generation now (null:
   * gone), read without the rest of the table. Undefined when only a whole `load` can say (the change is too old to
   * be told apart, or the store lost its data).
   */
  changes?(): Promise<LinkGenerationChange | undefined>;
  /**
   * A store shared with other processes: when this process last confirmed with it that it holds every revocation it
   * holds (ms since the epoch, by the real clock its timeouts run on). Absent: a store of this process alone, whose
   * revocations are always its own.
   */
  confirmedAtMs?(): number;
  /** Confirms with the shared store now (one read; never rejects: a store away leaves it unconfirmed). */
  confirm?(): Promise<void>;
}

/**
 * Revoked subjects remembered at most, over every integration (a few MB of JSON when written whole, which only start-up
 * and compaction do). Past it a revocation is refused (409) rather than an older one forgotten, which would bring its
 * dead link back.
 */
export const MAX_REVOKED_LINKS = 50_000;

/** The link generations file's name under DATA_DIR. */
export const LINK_GENERATIONS_FILE = 'link-generations.json';
/** The changes made since {@link LINK_GENERATIONS_FILE} was last written whole, one JSON line each, under DATA_DIR. */
export const LINK_GENERATIONS_LOG_FILE = 'link-generations.log';
/**
 * A table smaller than this is written whole at every change (cheaper than a log of it); a larger one gets a line in
 * the log instead, and is written whole again once the log is as large as the table.
 */
export const LINK_GENERATIONS_WHOLE_WRITE_BYTES = 64 * 1024;
/**
 * How long a process that shares its revocations with others serves feeds without confirming with the shared store
 * that it holds every revocation: past it, feeds answer 503 (calendar clients keep their copy and retry) rather than
 * serve a link that may have been revoked elsewhere meanwhile.
 */
export const REVOCATIONS_CONFIRM_WINDOW_MS = 10_000;

/** A revocation the store cannot take. */
export class LinkGenerationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LinkGenerationError';
  }
}

/** The wire shape of saved link generations, checked wherever they are read back (a file, Redis). */
export const linkGenerationDataSchema = z.object({
  format: z.literal(1),
  generations: ownRecord(ownRecord(z.number().int().positive())),
}) satisfies z.ZodType<LinkGenerationData>;

/** Keeps link generations in memory only (tests). */
export function createMemoryLinkGenerationStore(initial?: LinkGenerationData): LinkGenerationStore & { saved: LinkGenerationData | undefined } {
  const store = {
    saved: initial,
    async load() {
      return store.saved;
    },
    async save(data: LinkGenerationData) {
      store.saved = data;
    },
  };
  return store;
}

/** The flat table of `data`: integration id "\n" subject key → generation (integration ids hold no line break). */
export function flattenGenerations(data: LinkGenerationData | undefined): Map<string, number> {
  const table = new Map<string, number>();
  for (const [integrationId, subjects] of Object.entries(data?.generations ?? {})) {
    for (const [subject, generation] of Object.entries(subjects)) table.set(`${integrationId}\n${subject}`, generation);
  }
  return table;
}

/** A flat table (see {@link flattenGenerations}) as saved data, with `change` made on it when given. */
export function generationData(table: ReadonlyMap<string, number>, change?: LinkGenerationChange): LinkGenerationData {
  const generations = ownTable<Record<string, number>>();
  const put = (key: string, generation: number) => {
    const split = key.indexOf('\n');
    (generations[key.slice(0, split)] ??= ownTable())[key.slice(split + 1)] = generation;
  };
  for (const [key, generation] of table) if (!change?.has(key)) put(key, generation);
  for (const [key, generation] of change ?? []) if (generation !== null) put(key, generation);
  return { format: 1, generations };
}

/** Makes `change` on `table`; answers how to undo it. */
export function applyGenerationChange(table: Map<string, number>, change: LinkGenerationChange): LinkGenerationChange {
  const undo = new Map<string, number | null>();
  for (const [key, generation] of change) {
    undo.set(key, table.get(key) ?? null);
    if (generation === null) table.delete(key);
    else table.set(key, generation);
  }
  return undo;
}

/** A line of the log: a key and its generation now (null: gone). */
const logLineSchema = z.object({ k: z.string().includes('\n'), g: z.number().int().positive().nullable() });

/**
 * Keeps link generations as `link-generations.json` under `dir`, written atomically, and the changes since in
 * `link-generations.log`, one line each: a revocation appends a line of its one entry instead of writing 50,000. The
 * table is written whole again (and the log emptied) while it is small, or once the log is as large as it. An
 * unreadable file is fatal at start-up: serving on without it would bring every revoked link back. A last log line cut
 * short was being written when a process died, before its revocation was answered: it is left out.
 */
export function createFileLinkGenerationStore(dir: string): LinkGenerationStore {
  const path = join(dir, LINK_GENERATIONS_FILE);
  const logPath = join(dir, LINK_GENERATIONS_LOG_FILE);
  const fail = (message: string, cause?: unknown) => new LinkGenerationError(message, { cause });
  /** What the files hold, as last read or written here. */
  let held: Map<string, number> | undefined;
  let tableBytes = 0;
  let logBytes = 0;
  let torn = false;

  async function readLog(): Promise<string> {
    try {
      return await readFile(logPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw fail(`cannot read ${logPath}: ${(error as Error).message}`, error);
    }
  }

  async function loadTable(): Promise<Map<string, number> | undefined> {
    const read = await readJsonFile(path, linkGenerationDataSchema, 'a file of link generations', fail);
    const log = await readLog();
    const table = flattenGenerations(read?.data);
    const lines = log.split('\n');
    torn = lines.at(-1) !== '';
    for (const [at, line] of lines.entries()) {
      if (line === '') continue;
      let parsed: z.infer<typeof logLineSchema> | undefined;
      try {
        parsed = logLineSchema.parse(JSON.parse(line));
      } catch (error) {
        if (at === lines.length - 1) break; // cut short by a crash
        throw fail(`${logPath} line ${at + 1} is not a change of link generations`, error);
      }
      applyGenerationChange(table, new Map([[parsed.k, parsed.g]]));
    }
    held = table;
    tableBytes = read === undefined ? 0 : (await stat(path)).size;
    logBytes = Buffer.byteLength(log);
    return read === undefined && log === '' ? undefined : new Map(table);
  }

  async function saveWhole(table: ReadonlyMap<string, number>): Promise<void> {
    const json = JSON.stringify(generationData(table));
    await writeFileAtomic(path, json);
    // The table holds every change the log did: a crash before the log goes only makes them read twice.
    await rm(logPath, { force: true });
    tableBytes = Buffer.byteLength(json);
    logBytes = 0;
    torn = false;
  }

  return {
    async load() {
      const table = await loadTable();
      return table === undefined ? undefined : generationData(table);
    },
    loadTable,
    async save(data) {
      const table = flattenGenerations(data);
      await saveWhole(table);
      held = table;
    },
    async write(change) {
      const table = held ?? (await loadTable(), held!);
      const undo = applyGenerationChange(table, change);
      try {
        const lines = [...change].map(([k, g]) => JSON.stringify({ k, g })).join('\n') + '\n';
        const lineBytes = Buffer.byteLength(lines);
        if (tableBytes + logBytes < LINK_GENERATIONS_WHOLE_WRITE_BYTES || logBytes + lineBytes > tableBytes) {
          await saveWhole(table);
        } else {
          await appendFile(logPath, `${torn ? '\n' : ''}${lines}`, { mode: 0o600 });
          torn = false;
          logBytes += lineBytes;
        }
      } catch (error) {
        applyGenerationChange(table, undo);
        throw error;
      }
    },
  };
}

/** A link's subject within its integration: "p:" + email, "j:" + job id, or "*" (every interview). */
export function subjectKey(subject: { readonly email?: string | undefined; readonly team?: FeedTeam | undefined }): string {
  if (subject.email !== undefined) return `p:${subject.email}`;
  if (subject.team === undefined) throw new Error('a link names a person or a team');
  return subject.team === 'all' ? '*' : `j:${subject.team.job}`;
}

/** The current generation of every link, read on the feed path without I/O; revocations saved before they count. */
export interface LinkGenerations {
  /** Loads the saved generations (start-up, before the first feed is served). */
  restore(): Promise<void>;
  /** Reads what another process changed in the store (a change notice): only what changed, where the store can tell. */
  reload(): Promise<void>;
  /** The current generation of a subject's link in an integration (0: never revoked). */
  current(integrationId: string, subject: string): number;
  /** Whether `identity`'s token is of its subject's current generation: the feed route's check, one Map lookup. */
  isCurrent(identity: FeedIdentity): boolean;
  /** Revokes a subject's link: saves its next generation (that one entry), then serves it; returns it. */
  bump(integrationId: string, subject: string): Promise<number>;
  /** Forgets every generation of an integration (it was removed); again, it changes nothing. */
  forget(integrationId: string): Promise<void>;
  /** The integrations whose people's revocations are held (a removed one keeps only its floor, and is not listed). */
  integrations(): string[];
  /**
   * Whether this process may serve feeds: it holds every revocation, as confirmed with a shared store within
   * {@link REVOCATIONS_CONFIRM_WINDOW_MS} (a store of its own process: always). One comparison on the feed path.
   */
  confirmed(): boolean;
  /**
   * Confirms with a shared store now, when not confirmed lately (the first feed after a quiet spell: nothing asks the
   * store while no feed is asked for); resolves with {@link confirmed}, never rejects.
   */
  confirm(): Promise<boolean>;
  /** When the revocations were last confirmed with a shared store (ms); undefined for a store of this process alone. */
  confirmedAtMs(): number | undefined;
}

/** The subject key of an integration's floor: no real subject ("p:", "j:", "*") is spelled like it. */
const FLOOR_SUBJECT = '#';

/**
 * Creates {@link LinkGenerations} over `store`; `maxEntries` defaults to {@link MAX_REVOKED_LINKS}. `clock` (the real
 * one) measures how long ago a shared store confirmed the revocations held here.
 */
export function createLinkGenerations(store: LinkGenerationStore, maxEntries = MAX_REVOKED_LINKS, clock: () => number = Date.now): LinkGenerations {
  // Flat, keyed by integration id "\n" subject key (integration ids hold no line break): one lookup per feed request.
  // Changed in place, once a change is saved: never a copy of 50,000 entries per revocation.
  let current = new Map<string, number>();
  // Changes are made one at a time, each saved before it is served: a revocation answered is on disk.
  let queue: Promise<unknown> = Promise.resolve();
  // Another replica may have saved first (a conflict): take in what it changed and make the change once more on that.
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await step();
        } catch (error) {
          if (!(error instanceof StoreConflictError) || attempt >= 10) throw error;
          await catchUp();
        }
      }
    });
    queue = next.catch(() => {});
    return next;
  };

  /** A subject's generation: its own, or the integration's floor (set when it was removed), whichever is higher. */
  function generationOf(integrationId: string, key: string): number {
    return Math.max(current.get(key) ?? 0, current.get(`${integrationId}\n${FLOOR_SUBJECT}`) ?? 0);
  }

  /** Saves `change` (only it, where the store can), then serves it. */
  async function commit(change: LinkGenerationChange): Promise<void> {
    if (store.write) await store.write(change);
    else await store.save(generationData(current, change));
    applyGenerationChange(current, change);
  }

  async function restore(): Promise<void> {
    current = store.loadTable ? ((await store.loadTable()) ?? new Map()) : flattenGenerations(await store.load());
  }

  /** Takes in what other processes changed: only that, where the store can tell it, else everything again. */
  async function catchUp(): Promise<void> {
    const change = store.changes ? await store.changes() : undefined;
    if (change === undefined) await restore();
    else applyGenerationChange(current, change);
  }

  const confirmedAtMs = store.confirmedAtMs?.bind(store);
  const confirmed = confirmedAtMs ? () => clock() - confirmedAtMs() <= REVOCATIONS_CONFIRM_WINDOW_MS : () => true;
  return {
    restore,
    // Read between changes made here, never in the middle of one.
    reload: () => serial(catchUp),
    current: (integrationId, subject) => generationOf(integrationId, `${integrationId}\n${subject}`),
    isCurrent(identity) {
      const bound = identity.generation ?? 0;
      // Nothing revoked yet (the usual case): no lookup at all.
      if (current.size === 0) return bound === 0;
      if (identity.email === undefined && identity.team === undefined) return false;
      const key = identity.email !== undefined ? `${identity.integrationId}\np:${identity.email}` : `${identity.integrationId}\n${subjectKey(identity)}`;
      return generationOf(identity.integrationId, key) === bound;
    },
    bump: (integrationId, subject) =>
      serial(async () => {
        const key = `${integrationId}\n${subject}`;
        const generation = generationOf(integrationId, key) + 1;
        if (!current.has(key) && current.size >= maxEntries) {
          throw new LinkGenerationError(`cannot revoke more than ${maxEntries} links (MAX_REVOKED_LINKS)`);
        }
        await commit(new Map([[key, generation]]));
        return generation;
      }),
    forget: (integrationId) =>
      serial(async () => {
        // The people's generations go (they name people of a customer who left), but not what they protected: when
        // any link of the integration was revoked, one number for the whole integration stays, above every generation
        // it had, so no revoked link works again if the integration is added back (every earlier link of it then
        // stays dead too: which were revoked is what was forgotten). Only the floor left: forgotten already.
        const prefix = `${integrationId}\n`;
        const floor = `${prefix}${FLOOR_SUBJECT}`;
        let highest = 0;
        const change = new Map<string, number | null>();
        for (const [key, generation] of current) {
          if (!key.startsWith(prefix)) continue;
          highest = Math.max(highest, generation);
          if (key !== floor) change.set(key, null);
        }
        if (change.size === 0) return;
        change.set(floor, highest + 1);
        await commit(change);
      }),
    integrations() {
      const ids = new Set<string>();
      for (const key of current.keys()) {
        const split = key.indexOf('\n');
        if (key.slice(split + 1) !== FLOOR_SUBJECT) ids.add(key.slice(0, split));
      }
      return [...ids];
    },
    confirmed,
    async confirm() {
      if (!confirmed()) await store.confirm?.();
      return confirmed();
    },
    confirmedAtMs: () => confirmedAtMs?.(),
  };
}
