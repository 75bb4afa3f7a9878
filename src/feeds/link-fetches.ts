import { join } from 'node:path';
import { z } from 'zod';
import { ownRecord, ownTable } from '../storage/own-record.js';
import { readJsonFile } from '../storage/read-json-file.js';
import { writeFileAtomic } from '../storage/write-file-atomic.js';

/** Which calendar fetched a link, told apart by its User-Agent. */
export type FeedClient = 'google' | 'outlook' | 'apple' | 'other';

/*
 * What the clients send, as seen in feed servers' logs:
 *   Google Calendar's importer:       "Google-Calendar-Importer"
 *   Outlook on the web / Exchange:    "Microsoft.Exchange/15.20 (Windows NT 10.0; Win64; x64)"
 *   Outlook for Windows:              "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
 *   Apple Calendar on iOS (and macOS since 13): "iOS/17.4 (21E219) dataaccessd/1.0"
 *   Apple Calendar on macOS:          "macOS/14.4 (23E214) CalendarAgent/988", "Mac+OS+X/10.10.5 (14F27) CalendarAgent/316.1"
 */
const CLIENT_PATTERNS: readonly (readonly [FeedClient, RegExp])[] = [
  ['google', /Google-Calendar-Importer/i],
  ['outlook', /Microsoft\.Exchange\/|Microsoft Outlook|Microsoft Office\//i],
  ['apple', /dataaccessd\/|CalendarAgent\/|\biCal\//i],
];

/** The calendar a User-Agent belongs to; anything else, or none, is `other`. */
export function classifyClient(userAgent: string | undefined): FeedClient {
  if (userAgent === undefined) return 'other';
  for (const [client, pattern] of CLIENT_PATTERNS) if (pattern.test(userAgent)) return client;
  return 'other';
}

/** The last fetch of one link. */
export interface LinkFetch {
  readonly atMs: number;
  readonly client: FeedClient;
}

/** Every recorded fetch, by integration then normalised email: what the store persists. */
export interface LinkFetchData {
  readonly format: 1;
  readonly fetches: Readonly<Record<string, Readonly<Record<string, LinkFetch>>>>;
}

/** Where recorded fetches outlive the process (embedded: a JSON file under DATA_DIR). */
export interface LinkFetchStore {
  /** The saved fetches, or undefined when none were saved. Throws when a file exists but cannot be read. */
  load(): Promise<LinkFetchData | undefined>;
  save(data: LinkFetchData): Promise<void>;
  /** Other replicas write here too: each flush also reads theirs back, the newest fetch of each link winning. */
  readonly shared?: boolean;
  /** Deletes an integration's fetches (a shared store, whose saves never delete). */
  forget?(integrationId: string): Promise<void>;
}

/** Links whose last fetch is remembered at most (about 100 bytes each in memory and on disk); more are not recorded. */
export const MAX_RECORDED_FETCHES = 200_000;
/** How often recorded fetches are written (when any changed); at shutdown too. No write per request. */
export const LINK_FETCH_FLUSH_INTERVAL_MS = 60_000;
/** Distinct User-Agent strings whose client is remembered; the table is emptied when full. */
export const MAX_KNOWN_USER_AGENTS = 256;

/** The fetch file's name under DATA_DIR. */
export const LINK_FETCHES_FILE = 'link-fetches.json';

const dataSchema = z.object({
  format: z.literal(1),
  fetches: ownRecord(ownRecord(z.object({ atMs: z.number(), client: z.enum(['google', 'outlook', 'apple', 'other']) }))),
}) satisfies z.ZodType<LinkFetchData>;

/** Keeps recorded fetches in memory only (tests). */
export function createMemoryLinkFetchStore(): LinkFetchStore & { saved: LinkFetchData | undefined; saves: number } {
  const store = {
    saved: undefined as LinkFetchData | undefined,
    saves: 0,
    async load() {
      return store.saved;
    },
    async save(data: LinkFetchData) {
      store.saves++;
      store.saved = data;
    },
  };
  return store;
}

/**
 * Keeps recorded fetches as `link-fetches.json` under `dir`. Unlike link generations, losing it loses nothing that
 * matters: an unreadable file is reported by `load` and the caller starts empty.
 */
export function createFileLinkFetchStore(dir: string): LinkFetchStore {
  const path = join(dir, LINK_FETCHES_FILE);
  return {
    async load() {
      const read = await readJsonFile(path, dataSchema, 'a file of link fetches', (message, cause) => new Error(message, { cause }));
      return read?.data;
    },
    save: (data) => writeFileAtomic(path, JSON.stringify(data)),
  };
}

/** When each person's link was last fetched and by which calendar: recorded in memory, written now and then. */
export interface LinkFetches {
  /** Loads what was saved (start-up); an unreadable file is logged by the caller and the record starts empty. */
  restore(): Promise<void>;
  /** Records a fetch of a person's link now (the feed path: a Map lookup and two field writes, no I/O). */
  record(integrationId: string, email: string, userAgent: string | undefined): void;
  /** The last fetch of a person's link, or undefined when never fetched (or not recorded). */
  get(integrationId: string, email: string): LinkFetch | undefined;
  /** Writes what changed since the last flush, if anything did. */
  flush(): Promise<void>;
  /** Forgets an integration's fetches (it was removed), on disk too. */
  forget(integrationId: string): Promise<void>;
  /** Forgets an integration's fetches here only (another replica removed it, and its store). */
  forgetLocally(integrationId: string): void;
  /** The integrations with a fetch recorded (the start-up sweep forgets those removed). */
  integrations(): string[];
}

interface Entry {
  atMs: number;
  client: FeedClient;
}

/** Creates {@link LinkFetches} over `store`. */
export function createLinkFetches(options: { store: LinkFetchStore; now?: () => number; maxEntries?: number }): LinkFetches {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? MAX_RECORDED_FETCHES;
  // Keyed by integration id "\n" email; entries are updated in place, so a repeated fetch allocates nothing.
  const entries = new Map<string, Entry>();
  const clients = new Map<string, FeedClient>();
  let dirty = false;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (step: () => Promise<void>): Promise<void> => {
    const next = queue.then(step);
    queue = next.catch(() => {});
    return next;
  };

  function clientOf(userAgent: string | undefined): FeedClient {
    if (userAgent === undefined) return 'other';
    let client = clients.get(userAgent);
    if (client === undefined) {
      if (clients.size >= MAX_KNOWN_USER_AGENTS) clients.clear();
      clients.set(userAgent, (client = classifyClient(userAgent)));
    }
    return client;
  }

  function toData(): LinkFetchData {
    const fetches = ownTable<Record<string, LinkFetch>>();
    for (const [key, entry] of entries) {
      const split = key.indexOf('\n');
      (fetches[key.slice(0, split)] ??= ownTable())[key.slice(split + 1)] = { atMs: entry.atMs, client: entry.client };
    }
    return { format: 1, fetches };
  }

  const flush = () =>
    serial(async () => {
      if (dirty) {
        dirty = false;
        try {
          await options.store.save(toData());
        } catch (error) {
          dirty = true; // tried again at the next flush
          throw error;
        }
      }
      if (options.store.shared) await restore();
    });

  /** Takes in what the store holds: per link, the newer of its fetch there and the one recorded here. */
  async function restore(): Promise<void> {
    const data = await options.store.load();
    for (const [integrationId, people] of Object.entries(data?.fetches ?? {})) {
      for (const [email, fetch] of Object.entries(people)) {
        const key = `${integrationId}\n${email}`;
        const entry = entries.get(key);
        if (entry !== undefined) {
          if (entry.atMs < fetch.atMs) Object.assign(entry, { atMs: fetch.atMs, client: fetch.client });
          continue;
        }
        if (entries.size >= maxEntries) return;
        entries.set(key, { atMs: fetch.atMs, client: fetch.client });
      }
    }
  }

  function drop(integrationId: string): boolean {
    const prefix = `${integrationId}\n`;
    let removed = false;
    for (const key of [...entries.keys()]) {
      if (key.startsWith(prefix)) {
        entries.delete(key);
        removed = true;
      }
    }
    return removed;
  }

  return {
    restore,
    record(integrationId, email, userAgent) {
      const key = `${integrationId}\n${email}`;
      const entry = entries.get(key);
      if (entry !== undefined) {
        entry.atMs = now();
        entry.client = clientOf(userAgent);
      } else if (entries.size < maxEntries) {
        entries.set(key, { atMs: now(), client: clientOf(userAgent) });
      } else return;
      dirty = true;
    },
    get(integrationId, email) {
      const entry = entries.get(`${integrationId}\n${email}`);
      return entry === undefined ? undefined : { atMs: entry.atMs, client: entry.client };
    },
    flush,
    forgetLocally: (integrationId) => void drop(integrationId),
    integrations() {
      const ids = new Set<string>();
      for (const key of entries.keys()) ids.add(key.slice(0, key.indexOf('\n')));
      return [...ids];
    },
    forget(integrationId) {
      const removed = drop(integrationId);
      const { store } = options;
      if (store.forget) return serial(() => store.forget!(integrationId));
      if (!removed) return queue.then(() => {});
      dirty = true;
      return flush();
    },
  };
}
