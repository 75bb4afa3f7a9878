import type { Logger } from 'pino';
import { isValidIntegrationId, MAX_INTEGRATION_ID_CHARS } from '../config.js';
import type { IntegrationEntry, IntegrationSource, RegistryData, RegistryStore } from './registry-store.js';

/** Most integrations one service serves; past it an add is refused, not silently dropped. */
export const MAX_INTEGRATIONS = 10_000;

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
export type IntegrationPatch = Partial<Pick<IntegrationEntry, 'pausedAtMs' | 'pausedState' | 'tool' | 'organization'>>;

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
  /** Changes what is known about `id`; undefined when it is not served. */
  update(id: string, patch: IntegrationPatch): Promise<IntegrationEntry | undefined>;
  /**
   * Whether more than one integration is served now or ever was (a removed one counts, and removals are kept): once
   * true it stays true, so removing one integration never changes another's calendars.
   */
  servedSeveral(): boolean;
}

/** What the registry needs. */
export interface RegistryOptions {
  store: RegistryStore;
  /** KOMBO_INTEGRATION_IDS (with KOMBO_INTEGRATION_ID): added unless removed for good earlier. */
  configured: readonly string[];
  /** How configured ids are marked (`demo` in demo mode). */
  configuredSource?: IntegrationSource;
  logger: Logger;
  now?: () => number;
  /** Told after every change (added, removed, paused, renamed), once it is saved. */
  onChange?: (entries: readonly IntegrationEntry[]) => void;
}

/**
 * Creates the registry. On load, a configured integration that was removed through the admin API or a webhook stays
 * removed even while the configuration still names it: that is logged once, then.
 */
export function createIntegrationRegistry(options: RegistryOptions): IntegrationRegistry {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const source = options.configuredSource ?? 'config';
  let entries = new Map<string, IntegrationEntry>();
  let removed = new Map<string, number>();
  let nextSeq = 0;
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
  });
  // Saves run one after another, each writing the state as it is then: the last save always holds the last change.
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    const next = saving.then(() => store.save(data()));
    saving = next.catch(() => {});
    return next.then(() => options.onChange?.([...entries.values()]));
  };

  /** Saves a change; when the save fails the change is undone in memory too, so a retry finds nothing half done. */
  async function saveOrUndo(undo: () => void): Promise<void> {
    try {
      await save();
    } catch (error) {
      undo();
      throw error;
    }
  }

  let loading: Promise<void> | undefined;
  const load = () =>
    (loading ??= (async () => {
      const saved = await store.load();
      entries = new Map((saved?.integrations ?? []).map((known) => [known.id, known]));
      removed = new Map((saved?.removed ?? []).map((gone) => [gone.id, gone.removedAtMs]));
      nextSeq = saved?.nextSeq ?? 0;
      let changed = saved === undefined;
      for (const id of options.configured) {
        if (removed.has(id)) {
          logger.warn({ integration: id }, 'the configuration names an integration that was removed; it stays removed (POST /admin/integrations brings it back)');
          continue;
        }
        if (entries.has(id)) continue;
        entries.set(id, entry(id, source, {}));
        changed = true;
      }
      if (changed) await save();
      else options.onChange?.([...entries.values()]);
    })());

  return {
    load,
    list: () => [...entries.values()],
    get: (id) => entries.get(id),
    servedSeveral: () => entries.size + removed.size > 1,
    async add(id, from, info = {}) {
      if (!isValidIntegrationId(id)) {
        throw new RegistryError(`integration id must be 1 to ${MAX_INTEGRATION_ID_CHARS} characters without spaces around it or control characters`, 'invalid_id');
      }
      await load();
      const known = entries.get(id);
      if (known) return { entry: known, created: false };
      if (entries.size >= MAX_INTEGRATIONS) {
        throw new RegistryError(`this service already serves ${MAX_INTEGRATIONS} integrations, its limit`, 'full');
      }
      const added = entry(id, from, info);
      const removedAt = removed.get(id);
      entries.set(id, added);
      removed.delete(id);
      await saveOrUndo(() => {
        entries.delete(id);
        if (removedAt !== undefined) removed.set(id, removedAt);
      });
      return { entry: added, created: true };
    },
    async remove(id) {
      await load();
      const known = entries.get(id);
      if (!known) return false;
      entries.delete(id);
      removed.set(id, now());
      await saveOrUndo(() => {
        removed.delete(id);
        entries.set(id, known);
      });
      return true;
    },
    async update(id, patch) {
      await load();
      const known = entries.get(id);
      if (!known) return undefined;
      const next = { ...known, ...patch };
      if (Object.keys(patch).every((key) => known[key as keyof IntegrationPatch] === next[key as keyof IntegrationPatch])) return known;
      entries.set(id, next);
      await saveOrUndo(() => entries.set(id, known));
      return next;
    },
  };
}
