import type { FeedService } from './feeds/feed-service.js';
import type { LinkGenerations } from './feeds/link-generations.js';
import type { HeldSnapshot, StateBundle } from './state/state-bundle.js';
import type { SyncScheduler } from './sync/sync-scheduler.js';

/**
 * Follows what other processes change in a shared state bundle: a registry changed elsewhere is reconciled, revoked
 * links are read again, a newer snapshot is taken in; walks asked for while the store was away run once it is back;
 * and what this process holds is handed over when the store lost its data. An embedded bundle calls none of these.
 */
export function followSharedChanges(options: { state: StateBundle; sync: SyncScheduler; links: LinkGenerations; feeds: FeedService }): void {
  const { sync, links, feeds } = options;
  options.state.watch({
    registryChanged: () => sync.reconcile(),
    linksChanged: () => links.reload(),
    async snapshotChanged(integrationId, version) {
      const engine = sync.get(integrationId)?.engine;
      if (engine && version > engine.version()) await engine.adopt();
    },
    snapshotWalked: async (integrationId) => void (await sync.get(integrationId)?.engine.adopt()),
    storeUp() {
      for (const integration of sync.list()) if (integration.engine.status().waitingForStore) sync.requestRefresh(integration.id);
    },
    *heldSnapshots(): Generator<HeldSnapshot> {
      for (const integration of sync.list()) {
        const snapshot = feeds.snapshot(integration.id);
        const version = integration.engine.version();
        if (snapshot && version > 0) yield { integrationId: integration.id, data: snapshot.data, version };
      }
    },
  });
}
