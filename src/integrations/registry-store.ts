import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../storage/read-json-file.js';
import { writeFileAtomic } from '../storage/write-file-atomic.js';

/** How an integration came to be served. */
export type IntegrationSource = 'config' | 'api' | 'webhook' | 'demo';

/** One integration the service serves, as the registry keeps it. */
export interface IntegrationEntry {
  readonly id: string;
  /** Order of addition: fixes the integration's place in the refresh schedule, so refreshes spread evenly. */
  readonly seq: number;
  readonly addedAtMs: number;
  readonly source: IntegrationSource;
  /** Set while Kombo says the integration is INACTIVE or INVALID: its feeds serve the last snapshot, nothing is walked. */
  readonly pausedAtMs: number | null;
  readonly pausedState: string | null;
  /**
   * The `updated_at` of the last state change Kombo sent that was applied (integration-state-changed): one sent
   * earlier and delivered later (a retry) is older, and ignored. Absent in registries saved before it was kept.
   */
  readonly stateUpdatedAtMs?: number | null;
  /** From Kombo's `GET /integrations/{id}`: `tool.label` (or the webhook's `tool`). */
  readonly tool: string | null;
  /** From Kombo's `GET /integrations/{id}`: `end_user.organization_name`. */
  readonly organization: string | null;
}

/** An integration removed for good: it stays removed even while KOMBO_INTEGRATION_IDS still names it. */
export interface RemovedIntegration {
  readonly id: string;
  readonly removedAtMs: number;
}

/** Everything the registry persists: small (a few hundred bytes per integration), written whole. */
export interface RegistryData {
  readonly format: 1;
  readonly nextSeq: number;
  readonly integrations: readonly IntegrationEntry[];
  readonly removed: readonly RemovedIntegration[];
  /**
   * Set when an integration that had served calendars was dropped from the configuration while another was served:
   * calendar names keep their organisation, as after a removal. Absent in registries saved before it existed.
   */
  readonly servedSeveral?: boolean;
}

/**
 * Where the registry of integrations outlives the process. Embedded: a JSON file under DATA_DIR; the Redis store of
 * the replicas issue implements the same two calls.
 */
export interface RegistryStore {
  /** The saved registry, or undefined when none was ever saved. Throws when one exists but cannot be read. */
  load(): Promise<RegistryData | undefined>;
  /** Saves `data` whole: a reader sees the old registry or the new one, never a mix. */
  save(data: RegistryData): Promise<void>;
}

const text = z.string().max(1_000).nullable();
/** The wire shape of a saved registry, checked wherever one is read back (a file, Redis). */
export const registryDataSchema = z.object({
  format: z.literal(1),
  nextSeq: z.number().int().nonnegative(),
  integrations: z.array(
    z.object({
      id: z.string().min(1).max(1_000),
      seq: z.number().int().nonnegative(),
      addedAtMs: z.number(),
      source: z.enum(['config', 'api', 'webhook', 'demo']),
      pausedAtMs: z.number().nullable(),
      pausedState: text,
      stateUpdatedAtMs: z.number().nullable().optional(),
      tool: text,
      organization: text,
    }),
  ),
  removed: z.array(z.object({ id: z.string().min(1).max(1_000), removedAtMs: z.number() })),
  servedSeveral: z.boolean().optional(),
}) satisfies z.ZodType<RegistryData>;

/** A registry file that is there but cannot be used: start-up stops rather than forget who was removed. */
export class RegistryFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryFileError';
  }
}

/** Keeps the registry in memory only (tests). */
export function createMemoryRegistryStore(initial?: RegistryData): RegistryStore & { saved: RegistryData | undefined } {
  const store = {
    saved: initial,
    async load() {
      return store.saved;
    },
    async save(data: RegistryData) {
      store.saved = data;
    },
  };
  return store;
}

/** The registry file's name under DATA_DIR. */
export const REGISTRY_FILE = 'integrations.json';

/**
 * Keeps the registry as `integrations.json` under `dir`, written to a temporary file and renamed over the old one.
 * Unlike a snapshot, an unreadable registry is fatal: serving on without it could bring back an integration that was
 * removed (a customer who left) or drop ones that were added.
 */
export function createFileRegistryStore(dir: string): RegistryStore {
  const path = join(dir, REGISTRY_FILE);
  return {
    async load() {
      const read = await readJsonFile(path, registryDataSchema, 'a registry of integrations', (message, cause) => new RegistryFileError(message, { cause }));
      return read?.data;
    },
    save: (data) => writeFileAtomic(path, JSON.stringify(data)),
  };
}
