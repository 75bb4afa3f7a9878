import type { Logger } from 'pino';
import type { LinkFetchStore } from '../feeds/link-fetches.js';
import type { LinkGenerationStore } from '../feeds/link-generations.js';
import type { PageSessions } from './page-sessions.js';
import type { RegistryStore } from '../integrations/registry-store.js';
import type { SnapshotData } from '../interviews/snapshot.js';
import type { SnapshotStore } from '../interviews/snapshot-store.js';
import type { WalkCoordinator } from '../sync/walk-coordinator.js';
import type { CounterOptions, ExpiringCounters } from './expiring-counters.js';
import type { PendingSignInBounds, PendingSignIns } from './pending-sign-ins.js';
import type { WebhookIds } from './webhook-ids.js';

/** Where a shared store stands, for /healthz: `name` is the key it is shown under, `health()` its state. */
export interface StoreHealth {
  readonly name: string;
  health(): { readonly status: 'up' | 'down'; readonly since: string };
}

/** A snapshot this process holds, put back when the store lost its data. */
export interface HeldSnapshot {
  readonly integrationId: string;
  readonly data: SnapshotData;
  readonly version: number;
}

/**
 * What the composition root does when the store learns of a change made elsewhere (another process, a store that
 * restarted empty). A returned promise that rejects is asked for again shortly.
 */
export interface StateListeners {
  /** The registry of integrations was changed elsewhere (or a save here met a conflict): follow it. */
  registryChanged(): Promise<unknown>;
  /** Revocations were changed elsewhere: read them again. */
  linksChanged(): Promise<unknown>;
  /** The integration's shared snapshot is at `version` now, possibly one this process holds already. */
  snapshotChanged(integrationId: string, version: number): Promise<unknown>;
  /** Another process walked the integration and found nothing new (nothing to read): its sync time moves on here. */
  snapshotWalked(integrationId: string): Promise<unknown>;
  /** The store answers again after it did not: walks asked for meanwhile may run now. */
  storeUp(): void;
  /** The store lost its data: the snapshots this process holds, put back with the registry and the revocations. */
  heldSnapshots(): Iterable<HeldSnapshot>;
}

/**
 * Every store the service keeps state in, chosen once by the composition root: embedded (memory and DATA_DIR files)
 * or shared by several processes. Nothing above it knows which one it got.
 */
export interface StateBundle {
  /** The integrations served (added and removed at run time). */
  readonly registry: RegistryStore;
  /** The last good snapshot of each integration. */
  readonly snapshots: SnapshotStore;
  /**
   * Which process walks each integration, and how a walk's result reaches the others and outlives the process, its
   * problems logged to `logger` (a process alone: every lease granted, each snapshot saved to `snapshots`). One per
   * bundle: a second call gives the same coordinator.
   */
  coordinator(logger: Logger): WalkCoordinator;
  /** Each link's current generation (revocations). */
  readonly links: LinkGenerationStore;
  /** When each link was last fetched, and by which calendar. */
  readonly fetches: LinkFetchStore;
  /** The page sessions (admin page and /me), lasting `ttlMs` by `now`. */
  sessions(options: { ttlMs: number; now: () => number }): PageSessions;
  /** The OpenID Connect sign-ins in progress, bounded per client address and in all (the defaults unless `bounds` says). */
  pendingSignIns(bounds?: PendingSignInBounds): PendingSignIns;
  /** The webhook ids seen, each remembered for the replay window by `now`. */
  webhookIds(options: { now: () => number }): WebhookIds;
  /**
   * Counts that expire, for rate limits (wrong secrets, link resets): in this process's memory, or shared by every
   * process. Each call gives the counters of `name`; two calls with one name count together only in a shared store.
   */
  counters(options: CounterOptions): ExpiringCounters;
  /** Where a shared store stands, shown on /healthz; undefined when there is none to reach. */
  readonly health: StoreHealth | undefined;
  /** Waits until the store answers (start-up); throws StoreUnavailableError after `timeoutMs`. */
  connect(timeoutMs: number): Promise<void>;
  /** Lets go of connections and timers (shutdown). */
  close(): Promise<void>;
  /** Tells `listeners` of changes made elsewhere; an embedded bundle never does. */
  watch(listeners: StateListeners): void;
}

/** The four stores that hold data worth keeping, which tests and the embedded bundle choose one by one. */
export type DataStores = Pick<StateBundle, 'registry' | 'snapshots' | 'links' | 'fetches'>;
