import type { Logger } from 'pino';
import type { IntegrationPatch, IntegrationRegistry } from '../integrations/integration-registry.js';
import type { IntegrationSource } from '../integrations/registry-store.js';
import { createIntegrationRunner, type IntegrationRunner, type ServedIntegration } from './integration-runner.js';
import { createIntegrationSet } from './integration-set.js';
import type { SyncEngine } from './sync-engine.js';
import type { RefreshSummary, SyncStatus } from './sync-status.js';
import { createWalkSlot, type WalkSlot, type WalkSlots } from './walk-slots.js';

export { INTEGRATION_STATUSES, PENDING_RETRY_MS, type IntegrationStatus, type ServedIntegration } from './integration-runner.js';
export { delayToNextRefresh, refreshPhaseMs } from './refresh-timer.js';

/** What a state change did: applied, ignored as older than the last one applied, or not of an integration served. */
export type StateChangeOutcome = 'applied' | 'stale' | 'unknown';

/** Runs every integration's walks: the first one, the periodic ones spread over the interval, and on demand. */
export interface SyncScheduler {
  /** Loads the registry and each integration's last saved snapshot; true when any snapshot was restored. */
  restore(): Promise<boolean>;
  /**
   * Starts walking: a first walk now for each integration without a snapshot (retried with backoff, through
   * `options.sleep`); one refresh of each restored one, spread evenly over the first interval; then periodic
   * refreshes of every one at its phase.
   */
  start(options?: { sleep?: (ms: number, signal: AbortSignal) => Promise<void> }): void;
  list(): readonly ServedIntegration[];
  get(id: string): ServedIntegration | undefined;
  /** The integration `id` names, or the only one when `id` is undefined and exactly one is served. */
  resolve(id: string | undefined): ServedIntegration | undefined;
  /** Refreshes one integration now and waits (see {@link SyncEngine.refresh}); the id may be left out while only one is served. */
  refresh(options?: { full?: boolean; integration?: string; confirmRemovals?: boolean }): Promise<RefreshSummary>;
  /** Asks one integration for a refresh without waiting (webhooks); unknown ids are ignored. */
  requestRefresh(id?: string): void;
  /** The sync status of the only integration (one-integration callers and tests). */
  status(): SyncStatus;
  add(id: string, source: IntegrationSource, info?: IntegrationPatch): Promise<{ integration: ServedIntegration; created: boolean }>;
  /**
   * Removes `id` for good and deletes everything held of it; false when it is not served and nothing of it is left.
   * Safe to repeat: asked again after a removal that failed half way (the registry saved, a delete not), on any
   * process, it deletes what is left.
   */
  remove(id: string): Promise<boolean>;
  /**
   * Deletes what is held of each of `stored` (integrations some store holds data of) that the registry, read afresh,
   * lists as removed: a removal that never finished, before a restart. An integration the registry does not know at
   * all is left alone (a registry lost or replaced is no reason to delete a customer's revocations). Resolves with the
   * ids swept.
   */
  sweep(stored: Iterable<string>): Promise<string[]>;
  /**
   * Stops walking `id` (Kombo says INACTIVE or INVALID); its feeds keep serving the last snapshot. With `updatedAtMs`
   * (Kombo's `updated_at`), only when newer than the last state change applied.
   */
  pause(id: string, state: string, updatedAtMs?: number): Promise<StateChangeOutcome>;
  /** Walks `id` again, starting with a refresh now; with `updatedAtMs`, only when newer than the last state applied. */
  resume(id: string, updatedAtMs?: number): Promise<StateChangeOutcome>;
  /**
   * Reads the registry again (another process changed it) and follows it: starts the integrations added there (their
   * snapshot comes from the shared store), drops those removed there (their shared state is the remover's to delete).
   */
  reconcile(): Promise<void>;
  /**
   * /readyz: every integration has a snapshot or has settled, and at least one serves a snapshot (while none does,
   * every feed answers 503). With none served (integrations arrive by webhook or the admin API), it is ready.
   */
  ready(): boolean;
  /** Stops every timer and walk (shutdown). */
  close(): Promise<void>;
}

/** What the scheduler works with. */
export interface SyncSchedulerOptions {
  registry: IntegrationRegistry;
  slots: WalkSlots;
  /** Builds the engine of one integration; its Kombo client must sleep through `slot.sleep`. */
  createEngine: (id: string, slot: WalkSlot) => SyncEngine;
  /** Deletes everything held of a removed integration: its snapshot in memory and in the store, its cached feeds. */
  forget: (id: string) => Promise<void>;
  /** Whether any store still holds something of `id` (a removal that failed half way left it). */
  holds?: (id: string) => Promise<boolean>;
  /** Drops what this process holds of an integration another process removed (its snapshot and cached feeds). */
  forgetLocally?: (id: string) => void;
  /** Asks Kombo for the integration's tool and organisation (`GET /integrations/{id}`). */
  describe?: (id: string, slot: WalkSlot, signal: AbortSignal) => Promise<IntegrationPatch | undefined>;
  intervalMs: number;
  /**
   * Where walkers share their walks: each integration's periodic refresh comes up to this much after its phase, by an
   * amount this process draws once per integration. The walker with the earliest moment walks it, round after round;
   * the others hear of that walk before their moment comes and ask the shared store nothing (0: no spread).
   */
  refreshSpreadMs?: number;
  logger: Logger;
  now?: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** Creates a {@link SyncScheduler}. */
export function createSyncScheduler(options: SyncSchedulerOptions): SyncScheduler {
  const { logger, registry, describe } = options;
  let started = false;
  let closed = false;
  let backoffSleep: (ms: number, signal: AbortSignal) => Promise<void> = options.sleep;
  let reconciling: Promise<void> = Promise.resolve();
  const served = createIntegrationSet(
    (id) =>
      createIntegrationRunner({
        id,
        engine: options.createEngine(id, createWalkSlot(options.slots, options.sleep)),
        registry,
        intervalMs: options.intervalMs,
        refreshSpreadMs: options.refreshSpreadMs ?? 0,
        logger,
        now: options.now ?? Date.now,
        random: options.random ?? Math.random,
        backoffSleep: (ms, signal) => backoffSleep(ms, signal),
        describe: describe && ((signal) => describe(id, createWalkSlot(options.slots, options.sleep), signal)),
        live: () => started && !closed,
      }),
    () => closed,
  );
  const listed = () => registry.list().map((entry) => entry.id);

  async function changeState(id: string, change: (runner: IntegrationRunner) => Promise<boolean>): Promise<StateChangeOutcome> {
    let outcome: StateChangeOutcome = 'unknown';
    await served.with(id, async (runner) => void (outcome = (await change(runner)) ? 'applied' : 'stale'));
    return outcome;
  }
  for (const id of listed()) served.add(id);

  /** Follows the registry another process changed: drops the integrations removed there, starts those added. */
  async function follow(): Promise<void> {
    if (closed) return;
    await registry.reload();
    const added = await served.align(listed(), (id) => {
      options.forgetLocally?.(id);
      logger.info({ integration: id }, 'integration removed by another replica');
    });
    for (const runner of added) {
      await runner.engine.restore().catch((error: unknown) => logger.warn({ integration: runner.id, err: error }, 'could not read the shared snapshot yet'));
      logger.info({ integration: runner.id }, 'integration added by another replica');
      runner.begin();
    }
  }

  return {
    reconcile() {
      const next = reconciling.then(follow);
      reconciling = next.catch(() => {}); // the caller says so, and asks again
      return next;
    },
    async restore() {
      await registry.load();
      await served.align(listed());
      let restored = false;
      for (const runner of served.list()) {
        if (await runner.engine.restore()) restored = true;
      }
      return restored;
    },
    start(startOptions = {}) {
      if (started || closed) return;
      started = true;
      if (startOptions.sleep) backoffSleep = startOptions.sleep;
      const all = served.list();
      all.forEach((runner, n) => runner.begin(Math.floor((n * options.intervalMs) / all.length)));
    },
    list: served.list,
    get: served.get,
    resolve: served.resolve,
    refresh(refreshOptions = {}) {
      const runner = served.resolve(refreshOptions.integration);
      if (runner === undefined) {
        const message = refreshOptions.integration === undefined ? `integration must be named: ${served.size} are served` : `unknown integration`;
        return Promise.reject(new UnknownIntegrationError(message));
      }
      return runner.walk({ full: refreshOptions.full ?? false, confirmRemovals: refreshOptions.confirmRemovals ?? false });
    },
    requestRefresh(id) {
      const runner = served.resolve(id);
      if (runner && runner.entry().pausedAtMs === null) runner.engine.requestRefresh();
    },
    status() {
      const runner = served.resolve(undefined);
      if (runner === undefined) throw new UnknownIntegrationError(`status() needs exactly one integration; ${served.size} are served`);
      return runner.engine.status();
    },
    async add(id, source, info) {
      const { created } = await registry.add(id, source, info);
      let runner = served.get(id);
      // Known to the registry but never run (an add whose first answer failed after the registry took it): start it.
      const builtNow = runner === undefined;
      if (!runner) {
        runner = served.add(id);
        await runner.engine.restore();
      }
      if (created || builtNow) {
        if (created) logger.info({ integration: id, source }, 'integration added');
        runner.begin();
        // Its first walk starts now, whether or not the timers run (tests drive walks by hand).
        if (!started) runner.walk().catch(() => {});
      }
      return { integration: runner, created };
    },
    async remove(id) {
      const runner = served.get(id);
      const removed = await registry.remove(id);
      if (runner) await served.drop(runner);
      // Removed before: done, unless that removal failed after the registry was saved; then what is left goes now.
      if (!removed && !runner && !(registry.isRemoved(id) && (await options.holds?.(id)))) return false;
      await options.forget(id);
      logger.info({ integration: id }, 'integration removed; its snapshot and feeds are deleted');
      return true;
    },
    async sweep(stored) {
      const ids = [...new Set(stored)];
      const unserved = () => ids.filter((id) => registry.isRemoved(id) && served.get(id) === undefined);
      if (unserved().length === 0) return [];
      // Another process may have added one since this one read the registry: read it again first.
      await registry.reload();
      const swept: string[] = [];
      for (const id of unserved()) {
        await options.forget(id);
        swept.push(id);
        logger.warn({ integration: id }, 'deleted what was still held of an integration removed earlier (a removal that did not finish)');
      }
      return swept;
    },
    pause: (id, state, updatedAtMs) => changeState(id, (runner) => runner.pause(state, updatedAtMs)),
    resume: (id, updatedAtMs) => changeState(id, (runner) => runner.resume(updatedAtMs)),
    ready() {
      const all = served.list();
      return all.every((runner) => runner.settled()) && (all.length === 0 || all.some((runner) => runner.engine.hasSnapshot()));
    },
    async close() {
      closed = true;
      await Promise.all(served.list().map((runner) => runner.stop('shutting down')));
    },
  };
}

/** A refresh asked of an integration that is not served (or of none, while several are). */
export class UnknownIntegrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownIntegrationError';
  }
}
