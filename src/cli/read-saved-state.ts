import pino from 'pino';
import type { Config } from '../config.js';
import { createIntegrationRegistry } from '../integrations/integration-registry.js';
import { createFileRegistryStore } from '../integrations/registry-store.js';
import { normalizeEmail } from '../interviews/normalize-email.js';
import { Snapshot } from '../interviews/snapshot.js';
import { createFileSnapshotStore } from '../interviews/snapshot-store.js';

/** Why a link of an integration would not work: `fatal` when it certainly answers 404, else only a doubt. */
export interface Unserved {
  fatal: boolean;
  message: string;
}

/** What the service's saved state (under DATA_DIR) says about the links a command is about to print. */
export interface SavedState {
  /** Why links of `integrationId` would not work once the service starts with this configuration; undefined when they would. */
  whyUnserved(integrationId: string): Unserved | undefined;
  /** The interviews `email` has in the last saved snapshot of `integrationId`; undefined when none can be read here. */
  interviewsOf(integrationId: string, email: string): Promise<number | undefined>;
  /** When that snapshot was taken (ISO 8601), for a warning to date what it says. */
  syncedAt(integrationId: string): Promise<string | undefined>;
}

/**
 * Reads the registry and snapshots the service keeps under DATA_DIR, never writing them. The registry is read as the
 * service reads it at start-up (configured ids merged in, removed ones kept out, ones the configuration no longer
 * names dropped), so "served" means served by the service this configuration starts. With REDIS_URL the state lives
 * in Redis, which this does not read: only the configuration is checked, and an id it does not name is a doubt.
 */
export async function readSavedState(config: Config): Promise<SavedState> {
  const configured = new Set(config.kombo.integrationIds);
  let served: ReadonlySet<string> = configured;
  if (config.redis === undefined) {
    const file = createFileRegistryStore(config.dataDir);
    const registry = createIntegrationRegistry({
      store: { load: () => file.load(), save: async () => {} },
      configured: config.kombo.integrationIds,
      configuredSource: config.demo ? 'demo' : 'config',
      logger: pino({ level: 'silent' }),
    });
    await registry.load(); // throws RegistryFileError for a registry that is there but unreadable
    served = new Set(registry.list().map((entry) => entry.id));
  }
  const snapshots = new Map<string, Promise<Snapshot | undefined>>();
  const snapshotOf = (integrationId: string) => {
    let snapshot = snapshots.get(integrationId);
    if (snapshot === undefined) {
      // A snapshot file that cannot be read tells nothing: no warning rather than a wrong one.
      snapshot = config.redis !== undefined ? Promise.resolve(undefined) : createFileSnapshotStore(config.dataDir).load(integrationId).then((data) => (data ? Snapshot.fromData(data) : undefined), () => undefined);
      snapshots.set(integrationId, snapshot);
    }
    return snapshot;
  };

  return {
    whyUnserved(integrationId) {
      if (served.has(integrationId)) return undefined;
      const named = [...served].join(', ') || 'none';
      if (config.redis !== undefined) {
        return {
          fatal: false,
          message: `warning: the configuration does not name the integration ${JSON.stringify(integrationId)}, and with REDIS_URL the registry lives in Redis, which this command does not read: check it is in GET /admin/integrations before handing out this link`,
        };
      }
      if (configured.has(integrationId)) {
        return { fatal: true, message: `the integration ${JSON.stringify(integrationId)} was removed, so its links answer 404 (POST /admin/integrations brings it back); served: ${named}` };
      }
      return {
        fatal: true,
        message: `unknown integration ${JSON.stringify(integrationId)}: the service does not serve it, so its links would answer 404. Served: ${named}. Check the spelling, or add it (KOMBO_INTEGRATION_IDS, or POST /admin/integrations)`,
      };
    },
    async interviewsOf(integrationId, email) {
      return (await snapshotOf(integrationId))?.interviewsOf(normalizeEmail(email)).length;
    },
    async syncedAt(integrationId) {
      const snapshot = await snapshotOf(integrationId);
      return snapshot ? new Date(snapshot.data.syncedAtMs).toISOString() : undefined;
    },
  };
}
