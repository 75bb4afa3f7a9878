import type { Logger } from 'pino';
import { isValidIntegrationId, MAX_INTEGRATION_ID_CHARS } from '../config.js';
import { StoreConflictError } from '../storage/store-errors.js';
import type { IntegrationEntry, IntegrationSource, RegistryData, RegistryStore } from './registry-store.js';

/** Most integrations one service serves; past it an add is refused, not silently dropped. */
export const MAX_INTEGRATIONS = 10_000;

/** Times a change is made again after another replica saved first, before it fails. */
const MAX_CONFLICT_RETRIES = 10;

/** Refused adds: an id that is not one, or a registry at its bound. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly reason: 'invalid_id' | 'full',
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** What can change about an integration after it was added. */
export type IntegrationPatch = Partial<Pick<IntegrationEntry, 'pausedAtMs' | 'pausedState' | 'stateUpdatedAtMs' | 'tool' | 'organization'>>;

/** Which integrations the service serves, and which were removed for good; every change is saved before it returns. */
export interface IntegrationRegistry {
  /**
   * Reads the saved registry and merges the configured integrations in (once; later calls wait for the same load).
   * Until then the registry holds just the configured ones; every change waits for it, so none overwrites a saved
   * registry unread.
   */
  load(): Promise<void>;
  list(): readonly IntegrationEntry[];
  get(id: string): IntegrationEntry | undefined;
  /** Adds `id` (bringing back one that was removed); `created` is false when it was served already. */
  add(id: string, source: IntegrationSource, info?: IntegrationPatch): Promise<{ entry: IntegrationEntry; created: boolean }>;
  /** Removes `id` for good; false when it was not served. */
  remove(id: string): Promise<boolean>;
  /**
   * Reads the store again (another replica changed it: a change notice) and tells `onChange`. Waits for changes in
   * flight here first.
   */
  reload(): Promise<void>;
  /**
   * Changes what is known about `id`; undefined when it is not served. `patch` may be a function of the entry as it is
   * when the change is made (after any change in flight, and again after a conflict with another process): it answers
   * undefined to change nothing.
   */
  update(id: string, patch: IntegrationPatch | ((entry: IntegrationEntry) => IntegrationPatch | undefined)): Promise<IntegrationEntry | undefined>;
  /** Whether `id` was removed for good (and is not served again since). */
  isRemoved(id: string): boolean;
  /** The ids removed for good. */
  removedIds(): string[];
  /**
   * Whether more than one integration is served now or ever was: a removed one counts (removals are kept), and so
   * does one dropped from the configuration after it had served calendars; once true it stays true, so neither
   * changes another integration's calendars. One dropped from the configuration that never served any (a mistyped
   * id: Kombo never described it) does not count, so the names it added go back.
   */
  servedSeveral(): boolean;
}

/** What the registry needs. */
export interface RegistryOptions {
  store: RegistryStore;
  /**
   * KOMBO_INTEGRATION_IDS (with KOMBO_INTEGRATION_ID): added unless removed for good earlier. The configuration owns
   * what it declared: on load, an integration it added (source `config` or `demo`) that it no longer names is dropped.
   */
  configured: readonly string[];
  /** How configured ids are marked (`demo` in demo mode). */
  configuredSource?: IntegrationSource;
  logger: Logger;
  now?: () => number;
  /** Told after every change (added, removed, paused, renamed), once it is saved. */
  onChange?: (entries: readonly IntegrationEntry[]) => void;
}

/** `known` with `change` applied (a patch, or a function of the entry giving one), or `known` itself when nothing changes. */
function patched(known: IntegrationEntry, change: IntegrationPatch | ((entry: IntegrationEntry) => IntegrationPatch | undefined)): IntegrationEntry {
  const patch = typeof change === 'function' ? change(known) : change;
  if (patch === undefined) return known;
  const next = { ...known, ...patch };
  return Object.keys(patch).every((key) => known[key as keyof IntegrationPatch] === next[key as keyof IntegrationPatch]) ? known : next;
}

/** Logs each integration the configuration names that was removed for good: it stays removed. */
function warnRemovedButConfigured(saved: RegistryData | undefined, configured: readonly string[], logger: Logger): void {
  const removed = new Set(saved?.removed.map((gone) => gone.id));
  for (const id of configured) {
    if (removed.has(id)) logger.warn({ integration: id }, 'the configuration names an integration that was removed; it stays removed (POST /admin/integrations brings it back)');
  }
}

/**
 * Drops from `entries` what an earlier configuration declared and this one no longer names (a mistyped id, since
 * fixed, or demo mode's companies in a live install), logging each; says how many went, and how many of those had
 * served real calendars (Kombo described them after a walk that succeeded; demo ones never count).
 */
function dropUndeclared(entries: Map<string, IntegrationEntry>, configured: readonly string[], logger: Logger): { dropped: number; served: number } {
  const declared = new Set(configured);
  let dropped = 0;
  let served = 0;
  for (const known of [...entries.values()]) {
    if ((known.source !== 'config' && known.source !== 'demo') || declared.has(known.id)) continue;
    entries.delete(known.id);
    dropped++;
    if (known.source === 'config' && (known.organization !== null || known.tool !== null)) served++;
    logger.warn(
      { integration: known.id, source: known.source },
      'the configuration no longer names this integration, which it had added: it is no longer served (its feeds answer 404); name it again in KOMBO_INTEGRATION_IDS, or POST /admin/integrations, to bring it back',
    );
  }
  return { dropped, served };
}

/**
 * Creates the registry. On load, a configured integration that was removed through the admin API or a webhook stays
 * removed even while the configuration still names it: that is logged once, then. One the configuration added and no
 * longer names is dropped (logged too); those added at run time (the admin API, webhooks) stay.
 */
export function createIntegrationRegistry(options: RegistryOptions): IntegrationRegistry {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const source = options.configuredSource ?? 'config';
  let entries = new Map<string, IntegrationEntry>();
  let removed = new Map<string, number>();
  let nextSeq = 0;
  let droppedServing = false;
  for (const id of options.configured) entries.set(id, entry(id, source, {}));

  function entry(id: string, from: IntegrationSource, info: IntegrationPatch): IntegrationEntry {
    return {
      id,
      seq: nextSeq++,
      addedAtMs: now(),
      source: from,
      pausedAtMs: info.pausedAtMs ?? null,
      pausedState: info.pausedState ?? null,
      tool: info.tool ?? null,
      organization: info.organization ?? null,
    };
  }

  const data = (): RegistryData => ({
    format: 1,
    nextSeq,
    integrations: [...entries.values()],
    removed: [...removed].map(([id, removedAtMs]) => ({ id, removedAtMs })),
    ...(droppedServing ? { servedSeveral: true } : {}),
  });
  const notify = () => options.onChange?.([...entries.values()]);

  /** Takes in what the store holds (and the configured integrations it lacks); true when that added any. */
  function adopt(saved: RegistryData | undefined): boolean {
    entries = new Map((saved?.integrations ?? []).map((known) => [known.id, known]));
    removed = new Map((saved?.removed ?? []).map((gone) => [gone.id, gone.removedAtMs]));
    nextSeq = saved?.nextSeq ?? 0;
    droppedServing = saved?.servedSeveral ?? false;
    let changed = saved === undefined;
    for (const id of options.configured) {
      if (removed.has(id) || entries.has(id)) continue;
      entries.set(id, entry(id, source, {}));
      changed = true;
    }
    return changed;
  }

  // Changes run one after another. Each is made on the state as it is then and saved before it counts: when the save
  // fails the state goes back to what it was, and when another replica saved first (a conflict) the store is read
  // again and the change made once more on what it holds, so neither replica's change is lost.
  let queue: Promise<unknown> = Promise.resolve();
  function mutate<T>(change: () => T): Promise<T> {
    const next = queue.then(async () => {
      for (let attempt = 1; ; attempt++) {
        const before = { entries: new Map(entries), removed: new Map(removed), nextSeq };
        const result = change();
        if (entries.size === before.entries.size && removed.size === before.removed.size && [...entries].every(([id, known]) => before.entries.get(id) === known)) {
          return result; // nothing changed: nothing to save
        }
        try {
          await store.save(data());
          notify();
          return result;
        } catch (error) {
          entries = before.entries;
          removed = before.removed;
          nextSeq = before.nextSeq;
          if (!(error instanceof StoreConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
          adopt(await store.load());
        }
      }
    });
    queue = next.catch(() => {});
    return next;
  }

  let loading: Promise<void> | undefined;
  const load = () =>
    (loading ??= (async () => {
      const saved = await store.load();
      warnRemovedButConfigured(saved, options.configured, logger);
      const added = adopt(saved);
      // Only at load: replicas started with another configuration (a rolling deploy) never drop each other's on a reload.
      const { dropped, served } = dropUndeclared(entries, options.configured, logger);
      if (served > 0 && entries.size + removed.size + served > 1) droppedServing = true;
      if (dropped > 0 || added) {
        try {
          await store.save(data());
        } catch (error) {
          if (!(error instanceof StoreConflictError)) throw error;
          // Another replica saved first: take what it saved (with the configured ids added on the next change).
          adopt(await store.load());
        }
      }
      notify();
    })());

  /** A change is made only on a loaded registry, so none overwrites a saved one unread. */
  const afterLoad = <T>(change: () => T) => load().then(() => mutate(change));

  return {
    load,
    async reload() {
      await load();
      await mutate(() => undefined); // waits for changes in flight
      const before = entries;
      adopt(await store.load());
      if (entries !== before) notify();
    },
    list: () => [...entries.values()],
    get: (id) => entries.get(id),
    servedSeveral: () => droppedServing || entries.size + removed.size > 1,
    async add(id, from, info = {}) {
      if (!isValidIntegrationId(id)) {
        throw new RegistryError(`integration id must be 1 to ${MAX_INTEGRATION_ID_CHARS} characters without spaces around it or control characters`, 'invalid_id');
      }
      return afterLoad(() => {
        const known = entries.get(id);
        if (known) return { entry: known, created: false };
        if (entries.size >= MAX_INTEGRATIONS) {
          throw new RegistryError(`this service already serves ${MAX_INTEGRATIONS} integrations, its limit`, 'full');
        }
        const added = entry(id, from, info);
        entries.set(id, added);
        removed.delete(id);
        return { entry: added, created: true };
      });
    },
    remove: (id) =>
      afterLoad(() => {
        if (!entries.has(id)) return false;
        entries.delete(id);
        removed.set(id, now());
        return true;
      }),
    isRemoved: (id) => removed.has(id) && !entries.has(id),
    removedIds: () => [...removed.keys()].filter((id) => !entries.has(id)),
    update: (id, change) =>
      afterLoad(() => {
        const known = entries.get(id);
        if (!known) return undefined;
        const next = patched(known, change);
        if (next !== known) entries.set(id, next);
        return next;
      }),
  };
}
