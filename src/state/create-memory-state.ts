import { createMemoryLinkFetchStore } from '../feeds/link-fetches.js';
import { createMemoryLinkGenerationStore } from '../feeds/link-generations.js';
import { createMemoryPageSessions } from './page-sessions.js';
import { createMemoryRegistryStore } from '../integrations/registry-store.js';
import { createMemorySnapshotStore } from '../interviews/snapshot-store.js';
import { createMemoryCounters } from './expiring-counters.js';
import { createMemoryPendingSignIns } from './pending-sign-ins.js';
import { createLocalWalkCoordinator } from '../sync/local-walk-coordinator.js';
import type { WalkCoordinator } from '../sync/walk-coordinator.js';
import type { DataStores, StateBundle } from './state-bundle.js';
import { createMemoryWebhookIds } from './webhook-ids.js';

/**
 * A bundle held in this process alone: each of `stores` given, every other store in memory (tests start from it, and
 * the embedded bundle gives it its DATA_DIR files). There is nothing to connect to and nothing changes elsewhere.
 */
export function createMemoryState(stores: Partial<DataStores> = {}): StateBundle {
  const snapshots = stores.snapshots ?? createMemorySnapshotStore();
  let coordinator: WalkCoordinator | undefined;
  return {
    registry: stores.registry ?? createMemoryRegistryStore(),
    snapshots,
    coordinator: (logger) => (coordinator ??= createLocalWalkCoordinator({ store: snapshots, logger })),
    links: stores.links ?? createMemoryLinkGenerationStore(),
    fetches: stores.fetches ?? createMemoryLinkFetchStore(),
    sessions: (options) => createMemoryPageSessions(options),
    pendingSignIns: (bounds) => createMemoryPendingSignIns(bounds),
    webhookIds: (options) => createMemoryWebhookIds(options),
    counters: (options) => createMemoryCounters(options),
    health: undefined,
    connect: async () => {},
    close: async () => {},
    watch: () => {},
  };
}
