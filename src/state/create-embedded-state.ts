import { createFileLinkFetchStore } from '../feeds/link-fetches.js';
import { createFileLinkGenerationStore } from '../feeds/link-generations.js';
import { createFileRegistryStore } from '../integrations/registry-store.js';
import { createFileSnapshotStore } from '../interviews/snapshot-store.js';
import { createMemoryState } from './create-memory-state.js';
import type { StateBundle } from './state-bundle.js';
import { createFileWebhookIds } from './webhook-ids.js';

/**
 * The bundle of one process serving alone (no REDIS_URL): the registry, snapshots, revocations, link fetches and the
 * webhook ids seen in files under `dataDir` (a replayed webhook stays a replay across a restart); sessions, sign-ins
 * in progress and rate-limit counts in memory (a restart signs people out, which costs each one sign-in).
 */
export function createEmbeddedState(options: { dataDir: string }): StateBundle {
  return {
    ...createMemoryState({
      registry: createFileRegistryStore(options.dataDir),
      snapshots: createFileSnapshotStore(options.dataDir),
      links: createFileLinkGenerationStore(options.dataDir),
      fetches: createFileLinkFetchStore(options.dataDir),
    }),
    webhookIds: ({ now }) => createFileWebhookIds({ dir: options.dataDir, now }),
  };
}
