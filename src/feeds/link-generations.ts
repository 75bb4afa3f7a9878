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
 * Where link generations outlive the process. Embedded: a JSON file under DATA_DIR; a Redis store implements the same
 * two calls.
 */
export interface LinkGenerationStore {
  /** The saved generations, or undefined when none were ever saved. Throws when a file exists but cannot be read. */
  load(): Promise<LinkGenerationData | undefined>;
  /** Saves `data` whole: a reader sees the old data or the new, never a mix. */
  save(data: LinkGenerationData): Promise<void>;
}

/**
 * Revoked subjects remembered at most, over every integration: a few MB of JSON written whole on a revocation. Past
 * it a revocation is refused (409) rather than an older one forgotten, which would bring its dead link back.
 */
export const MAX_REVOKED_LINKS = 50_000;

/** The link generations file's name under DATA_DIR. */
export const LINK_GENERATIONS_FILE = 'link-generations.json';

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

/**
 * Keeps link generations as `link-generations.json` under `dir`, written atomically. An unreadable file is fatal at
 * start-up: serving on without it would bring every revoked link back.
 */
export function createFileLinkGenerationStore(dir: string): LinkGenerationStore {
  const path = join(dir, LINK_GENERATIONS_FILE);
  return {
    async load() {
      const read = await readJsonFile(path, linkGenerationDataSchema, 'a file of link generations', (message, cause) => new LinkGenerationError(message, { cause }));
      return read?.data;
    },
    save: (data) => writeFileAtomic(path, JSON.stringify(data)),
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
  /** Reads the store again: another replica revoked a link (a change notice). */
  reload(): Promise<void>;
  /** The current generation of a subject's link in an integration (0: never revoked). */
  current(integrationId: string, subject: string): number;
  /** Whether `identity`'s token is of its subject's current generation: the feed route's check, one Map lookup. */
  isCurrent(identity: FeedIdentity): boolean;
  /** Revokes a subject's link: saves its next generation, then serves it; returns it. */
  bump(integrationId: string, subject: string): Promise<number>;
  /** Forgets every generation of an integration (it was removed). */
  forget(integrationId: string): Promise<void>;
}

/** The subject key of an integration's floor: no real subject ("p:", "j:", "*") is spelled like it. */
const FLOOR_SUBJECT = '#';

/** Creates {@link LinkGenerations} over `store`; `maxEntries` defaults to {@link MAX_REVOKED_LINKS}. */
export function createLinkGenerations(store: LinkGenerationStore, maxEntries = MAX_REVOKED_LINKS): LinkGenerations {
  // Flat, keyed by integration id "\n" subject key (integration ids hold no line break): one lookup per feed request.
  let current = new Map<string, number>();
  // Changes are made one at a time, each saved before it is served: a revocation answered is on disk.
  let queue: Promise<unknown> = Promise.resolve();
  // Another replica may have saved first (a conflict): read the store again and make the change once more on it.
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await step();
        } catch (error) {
          if (!(error instanceof StoreConflictError) || attempt >= 10) throw error;
          await restore();
        }
      }
    });
    queue = next.catch(() => {});
    return next;
  };

  function toData(map: ReadonlyMap<string, number>): LinkGenerationData {
    const generations = ownTable<Record<string, number>>();
    for (const [key, generation] of map) {
      const split = key.indexOf('\n');
      (generations[key.slice(0, split)] ??= ownTable())[key.slice(split + 1)] = generation;
    }
    return { format: 1, generations };
  }

  /** A subject's generation: its own, or the integration's floor (set when it was removed), whichever is higher. */
  function generationOf(integrationId: string, key: string): number {
    return Math.max(current.get(key) ?? 0, current.get(`${integrationId}\n${FLOOR_SUBJECT}`) ?? 0);
  }

  async function commit(next: Map<string, number>): Promise<void> {
    await store.save(toData(next));
    current = next;
  }

  async function restore(): Promise<void> {
    const data = await store.load();
    const next = new Map<string, number>();
    for (const [integrationId, subjects] of Object.entries(data?.generations ?? {})) {
      for (const [subject, generation] of Object.entries(subjects)) next.set(`${integrationId}\n${subject}`, generation);
    }
    current = next;
  }

  return {
    restore,
    // Read between changes made here, never in the middle of one.
    reload: () => serial(restore),
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
        if (generation === 1 && current.size >= maxEntries) {
          throw new LinkGenerationError(`cannot revoke more than ${maxEntries} links (MAX_REVOKED_LINKS)`);
        }
        const next = new Map(current);
        next.set(key, generation);
        await commit(next);
        return generation;
      }),
    forget: (integrationId) =>
      serial(async () => {
        // The people's generations go (they name people of a customer who left), but not what they protected: when
        // any link of the integration was revoked, one number for the whole integration stays, above every generation
        // it had, so no revoked link works again if the integration is added back (every earlier link of it then
        // stays dead too: which were revoked is what was forgotten).
        const prefix = `${integrationId}\n`;
        let highest = 0;
        const next = new Map<string, number>();
        for (const [key, generation] of current) {
          if (key.startsWith(prefix)) highest = Math.max(highest, generation);
          else next.set(key, generation);
        }
        if (highest === 0) return;
        next.set(`${prefix}${FLOOR_SUBJECT}`, highest + 1);
        await commit(next);
      }),
  };
}
