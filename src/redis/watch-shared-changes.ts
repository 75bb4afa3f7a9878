import type { Logger } from 'pino';
import type { StateListeners } from '../state/state-bundle.js';
import type { WalkCoordinator } from '../sync/walk-coordinator.js';
import type { RedisHub, WalkedNotice } from './create-redis-hub.js';
import type { RedisDocumentStore } from './redis-document-store.js';
import type { RedisLinkGenerationStore } from './redis-link-generation-store.js';

/** The Redis stores whose changes a replica follows and puts back. */
export interface WatchedStores {
  registry: RedisDocumentStore<unknown>;
  links: Pick<RedisLinkGenerationStore, 'field' | 'version' | 'putBack'>;
  coordinator: WalkCoordinator;
  /** Takes in a walk that changed nothing; the integration it is about (see `createRedisSnapshots`). */
  heard(notice: WalkedNotice): string | undefined;
}

/**
 * Turns the hub's change notices into `listeners`' calls: the registry, the revocations and each snapshot changed by
 * another replica; Redis back; Redis emptied, when the registry, the revocations and every snapshot held here go back.
 */
export function watchSharedChanges(hub: RedisHub, stores: WatchedStores, listeners: StateListeners, logger: Logger): void {
  // A notice that cannot be acted on now (a read failed) is asked for again by a check within a second.
  const follow = (field: string, what: string, action: () => Promise<unknown>) =>
    void action().catch((error: unknown) => {
      hub.retry(field);
      logger.warn({ err: error, field }, `could not ${what}; trying again within a second`);
    });
  hub.onNotice((notice) => {
    if (notice.field === stores.registry.field) {
      // Always followed: a save of this replica's own that met a conflict read the newer registry without following it.
      follow(notice.field, 'follow a change of the registry', () => listeners.registryChanged());
    } else if (notice.field === stores.links.field) {
      if (notice.version !== stores.links.version()) follow(notice.field, 'read revoked links', () => listeners.linksChanged());
    } else if (notice.field.startsWith('snap:')) {
      const integrationId = notice.field.slice('snap:'.length);
      follow(notice.field, 'take in a shared snapshot', () => listeners.snapshotChanged(integrationId, notice.version));
    }
  });
  // Another replica walked and found nothing new: the sync time moves on here too, with nothing read.
  hub.onWalked((notice) => {
    const integrationId = stores.heard(notice);
    if (integrationId !== undefined) follow(notice.field, 'take in a walk that changed nothing', () => listeners.snapshotWalked(integrationId));
  });
  hub.onUp(() => listeners.storeUp());
  // Redis came back without our data: put back the registry, the revocations and every snapshot held here.
  hub.onLost(async () => {
    await stores.registry.putBack();
    await stores.links.putBack();
    for (const held of listeners.heldSnapshots()) await stores.coordinator.putBack(held.integrationId, { data: held.data, version: held.version });
  });
}
