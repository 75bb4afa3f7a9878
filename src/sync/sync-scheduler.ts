import type { Logger } from 'pino';
import type { IntegrationPatch, IntegrationRegistry } from '../integrations/integration-registry.js';
import type { IntegrationEntry, IntegrationSource } from '../integrations/registry-store.js';
import { KomboError } from '../kombo/kombo-error.js';
import type { SyncEngine } from './sync-engine.js';
import { SETUP_PENDING_CODES } from './setup-pending.js';
import type { RefreshSummary, SyncStatus } from './sync-status.js';
import { createWalkSlot, type WalkSlot, type WalkSlots } from './walk-slots.js';

/** Where an integration stands, as the admin API and /healthz show it. */
export type IntegrationStatus = 'new' | 'ok' | 'failing' | 'pending' | 'paused';
export const INTEGRATION_STATUSES: readonly IntegrationStatus[] = ['new', 'ok', 'failing', 'pending', 'paused'];

/** How long a pending integration waits before it is asked again: minutes, not seconds. */
export const PENDING_RETRY_MS = 5 * 60_000;
/** First wait between tries of an integration's first walk, while it has no snapshot; it doubles after each failure... */
export const FIRST_WALK_BASE_DELAY_MS = 1_000;
/** ...up to this. */
export const FIRST_WALK_MAX_DELAY_MS = 30_000;
/**
 * Failed first walks after which an integration without a snapshot counts as settled (failing) for /readyz: with the
 * backoff above, about three minutes. Long enough that a Kombo hiccup at start-up keeps a one-integration service
 * unready as it always was (its feeds could only answer 503), short enough that one broken customer never holds a
 * thousand others' readiness. An answer no retry can fix (a 4xx other than 408 and 429) settles it at once.
 */
export const FIRST_WALK_TRIES_BEFORE_SETTLED = 10;
/** The golden ratio's fractional part: integration n refreshes at frac(n × this) of the interval, an even spread for any n. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** One integration the service serves, with its own sync engine. */
export interface ServedIntegration {
  readonly id: string;
  readonly engine: SyncEngine;
  entry(): IntegrationEntry;
  status(): IntegrationStatus;
  /** It has a snapshot, or has settled into pending, paused or failing after its first walk gave up. */
  settled(): boolean;
}

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
  /** Removes `id` for good and deletes everything held of it; false when it was not served. */
  remove(id: string): Promise<boolean>;
  /** Stops walking `id` (Kombo says INACTIVE or INVALID); its feeds keep serving the last snapshot. */
  pause(id: string, state: string): Promise<boolean>;
  /** Walks `id` again, starting with a refresh now. */
  resume(id: string): Promise<boolean>;
  /**
   * Reads the registry again (another replica changed it) and follows it: starts the integrations added there (their
   * snapshot comes from the shared store), drops those removed there (their shared state is the remover's to delete).
   */
  reconcile(): Promise<void>;
  /** Every integration has a snapshot or has settled: /readyz. */
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
  /** Drops what this process holds of an integration another replica removed (its snapshot and cached feeds). */
  forgetLocally?: (id: string) => void;
  /** Asks Kombo for the integration's tool and organisation (`GET /integrations/{id}`). */
  describe?: (id: string, slot: WalkSlot) => Promise<IntegrationPatch | undefined>;
  intervalMs: number;
  logger: Logger;
  now?: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** The moment in [0, interval) at which the integration added `seq`-th refreshes, every interval. */
export function refreshPhaseMs(seq: number, intervalMs: number): number {
  return Math.floor(((seq * GOLDEN) % 1) * intervalMs);
}

/** Milliseconds from `nowMs` to the integration's next refresh: the next moment at its phase, never 0. */
export function delayToNextRefresh(nowMs: number, phaseMs: number, intervalMs: number): number {
  const delay = (((phaseMs - nowMs) % intervalMs) + intervalMs) % intervalMs;
  return delay === 0 ? intervalMs : delay;
}

interface Runtime extends ServedIntegration {
  readonly slot: WalkSlot;
  timer: NodeJS.Timeout | undefined;
  firstWalk: Promise<void> | undefined;
  gaveUp: boolean;
  pendingLogged: boolean;
  described: boolean;
  stop: AbortController;
}

/** Creates a {@link SyncScheduler}. */
export function createSyncScheduler(options: SyncSchedulerOptions): SyncScheduler {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const { registry } = options;
  const runtimes = new Map<string, Runtime>();
  let started = false;
  let closed = false;
  let backoffSleep: (ms: number, signal: AbortSignal) => Promise<void> = options.sleep;

  function failedLast(status: SyncStatus): boolean {
    return status.consecutiveFailures > 0 && status.lastFailure !== undefined;
  }

  function statusOf(runtime: Runtime): IntegrationStatus {
    if (runtime.entry().pausedAtMs !== null) return 'paused';
    const status = runtime.engine.status();
    if (failedLast(status)) return SETUP_PENDING_CODES.has(status.lastFailure?.code ?? '') ? 'pending' : 'failing';
    return status.lastSuccess ? 'ok' : 'new';
  }

  function build(id: string): Runtime {
    const slot = createWalkSlot(options.slots, options.sleep);
    const engine = options.createEngine(id, slot);
    const runtime: Runtime = {
      id,
      engine,
      slot,
      timer: undefined,
      firstWalk: undefined,
      gaveUp: false,
      pendingLogged: false,
      described: false,
      stop: new AbortController(),
      entry: () => registry.get(id) ?? { id, seq: 0, addedAtMs: 0, source: 'config', pausedAtMs: null, pausedState: null, tool: null, organization: null },
      status: () => statusOf(runtime),
      settled() {
        if (engine.hasSnapshot()) return true;
        const status = statusOf(runtime);
        return status === 'pending' || status === 'paused' || (status === 'failing' && runtime.gaveUp);
      },
    };
    runtimes.set(id, runtime);
    return runtime;
  }

  for (const entry of registry.list()) build(entry.id);

  /** One walk of `runtime`, with what follows from its outcome (pending, describing the integration). */
  async function walk(runtime: Runtime, full = false, confirmRemovals = false, periodic = false): Promise<RefreshSummary> {
    try {
      const summary = await runtime.engine.refresh({ full, confirmRemovals, periodic });
      if (summary.walkedElsewhere) return summary;
      if (runtime.pendingLogged) logger.info({ integration: runtime.id }, 'integration finished connecting; its feeds are live');
      runtime.pendingLogged = false;
      // Asked once: what the registry already knows (from an earlier process, or the integration-created webhook)
      // costs Kombo no request after a restart.
      const known = runtime.entry();
      if (!runtime.described && options.describe && !closed && known.tool === null && known.organization === null) {
        runtime.described = true;
        void describe(runtime);
      }
      return summary;
    } catch (error) {
      if (error instanceof KomboError && error.code !== undefined && SETUP_PENDING_CODES.has(error.code) && !runtime.pendingLogged) {
        runtime.pendingLogged = true;
        logger.info({ integration: runtime.id, code: error.code }, `integration is still being set up in Kombo; asking again in ${PENDING_RETRY_MS / 60_000} minutes`);
      }
      throw error;
    }
  }

  async function describe(runtime: Runtime): Promise<void> {
    try {
      const info = await options.describe!(runtime.id, createWalkSlot(options.slots, options.sleep));
      if (info && registry.get(runtime.id)) await registry.update(runtime.id, info);
    } catch (error) {
      logger.debug({ integration: runtime.id, err: error }, 'could not read the integration from Kombo; its name stays unknown for now');
    }
  }

  /** While `runtime` is pending: when it may be asked again, PENDING_RETRY_MS after its last try. */
  function pendingUntilMs(runtime: Runtime): number | undefined {
    if (statusOf(runtime) !== 'pending') return undefined;
    return (Date.parse(runtime.engine.status().lastFailure?.at ?? '') || now()) + PENDING_RETRY_MS;
  }

  /** Refreshes `runtime` at its phase of every interval (or later while Kombo says it is being set up). */
  function schedule(runtime: Runtime): void {
    if (closed || !started || runtimes.get(runtime.id) !== runtime) return;
    clearTimeout(runtime.timer);
    let delay = delayToNextRefresh(now(), refreshPhaseMs(runtime.entry().seq, options.intervalMs), options.intervalMs);
    const pendingUntil = pendingUntilMs(runtime);
    if (pendingUntil !== undefined) while (now() + delay < pendingUntil) delay += options.intervalMs;
    runtime.timer = setTimeout(() => {
      runtime.timer = undefined;
      // Set before the first walk ended pending, this timer may come too early: pending waits its minutes.
      const waiting = (pendingUntilMs(runtime) ?? 0) > now();
      if (runtime.entry().pausedAtMs === null && runtime.firstWalk === undefined && !waiting) {
        walk(runtime, false, false, true).catch(() => {}); // logged by the engine; the last snapshot serves on
      }
      schedule(runtime);
    }, delay);
    runtime.timer.unref?.();
  }

  /** Tries the first walk of an integration without a snapshot, backing off, until it succeeds or settles. */
  function firstWalk(runtime: Runtime): void {
    if (runtime.firstWalk || closed) return;
    const { signal } = runtime.stop;
    runtime.firstWalk = (async () => {
      let delay = FIRST_WALK_BASE_DELAY_MS;
      for (let tries = 1; !signal.aborted && !runtime.engine.hasSnapshot() && runtime.entry().pausedAtMs === null; tries++) {
        try {
          await walk(runtime);
          return;
        } catch (error) {
          if (signal.aborted) return;
          const fatal = error instanceof KomboError && error.kind === 'http' && error.status !== undefined && error.status < 500 && error.status !== 408 && error.status !== 429;
          if (tries >= FIRST_WALK_TRIES_BEFORE_SETTLED || fatal) runtime.gaveUp = true;
          // Pending or refused outright: the periodic schedule asks again, in minutes, not in a tight loop.
          if (statusOf(runtime) === 'pending' || fatal) return;
          const wait = Math.round(delay / 2 + (random() * delay) / 2);
          logger.warn({ integration: runtime.id, retryInMs: wait }, 'no snapshot yet; retrying the first walk');
          await backoffSleep(wait, signal).catch(() => {});
          delay = Math.min(FIRST_WALK_MAX_DELAY_MS, delay * 2);
        }
      }
    })().finally(() => {
      runtime.firstWalk = undefined;
    });
  }

  function begin(runtime: Runtime, catchUpInMs?: number): void {
    if (!started || closed) return;
    if (!runtime.engine.hasSnapshot() && runtime.entry().pausedAtMs === null) firstWalk(runtime);
    else if (catchUpInMs !== undefined && runtime.entry().pausedAtMs === null) {
      // A restored snapshot is as old as the last process left it: refresh it soon, but not all at the same second.
      const timer = setTimeout(() => {
        if (!closed && runtimes.get(runtime.id) === runtime) walk(runtime, false, false, true).catch(() => {});
      }, catchUpInMs);
      timer.unref?.();
      runtime.stop.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }
    schedule(runtime);
  }

  function resolve(id: string | undefined): Runtime | undefined {
    if (id !== undefined) return runtimes.get(id);
    return runtimes.size === 1 ? runtimes.values().next().value : undefined;
  }

  async function drop(runtime: Runtime): Promise<void> {
    runtimes.delete(runtime.id);
    clearTimeout(runtime.timer);
    runtime.stop.abort(new Error('integration removed'));
    await runtime.engine.close();
    await runtime.firstWalk;
  }

  let reconciling: Promise<void> = Promise.resolve();

  return {
    reconcile() {
      const next = reconciling.then(async () => {
        if (closed) return;
        await registry.reload();
        const ids = new Set(registry.list().map((entry) => entry.id));
        for (const runtime of [...runtimes.values()]) {
          if (ids.has(runtime.id)) continue;
          await drop(runtime);
          options.forgetLocally?.(runtime.id);
          logger.info({ integration: runtime.id }, 'integration removed by another replica');
        }
        for (const id of ids) {
          if (runtimes.has(id) || closed) continue;
          const runtime = build(id);
          await runtime.engine.restore().catch((error: unknown) => logger.warn({ integration: id, err: error }, 'could not read the shared snapshot yet'));
          logger.info({ integration: id }, 'integration added by another replica');
          begin(runtime);
        }
      });
      reconciling = next.catch(() => {}); // the caller says so, and asks again
      return next;
    },
    async restore() {
      await registry.load();
      const ids = new Set(registry.list().map((entry) => entry.id));
      for (const runtime of [...runtimes.values()]) if (!ids.has(runtime.id)) await drop(runtime);
      for (const id of ids) if (!runtimes.has(id)) build(id);
      let restored = false;
      for (const runtime of runtimes.values()) {
        if (await runtime.engine.restore()) restored = true;
      }
      return restored;
    },
    start(startOptions = {}) {
      if (started || closed) return;
      started = true;
      if (startOptions.sleep) backoffSleep = startOptions.sleep;
      const all = [...runtimes.values()];
      all.forEach((runtime, n) => begin(runtime, Math.floor((n * options.intervalMs) / all.length)));
    },
    list: () => [...runtimes.values()],
    get: (id) => runtimes.get(id),
    resolve,
    refresh(refreshOptions = {}) {
      const runtime = refreshOptions.integration === undefined ? resolve(undefined) : runtimes.get(refreshOptions.integration);
      if (runtime === undefined) {
        const message = refreshOptions.integration === undefined ? `integration must be named: ${runtimes.size} are served` : `unknown integration`;
        return Promise.reject(new UnknownIntegrationError(message));
      }
      return walk(runtime, refreshOptions.full ?? false, refreshOptions.confirmRemovals ?? false);
    },
    requestRefresh(id) {
      const runtime = resolve(id);
      if (runtime && runtime.entry().pausedAtMs === null) runtime.engine.requestRefresh();
    },
    status() {
      const runtime = resolve(undefined);
      if (runtime === undefined) throw new UnknownIntegrationError(`status() needs exactly one integration; ${runtimes.size} are served`);
      return runtime.engine.status();
    },
    async add(id, source, info) {
      const { created } = await registry.add(id, source, info);
      let runtime = runtimes.get(id);
      // Known to the registry but never run (an add whose first answer failed after the registry took it): start it.
      const builtNow = runtime === undefined;
      if (!runtime) {
        runtime = build(id);
        await runtime.engine.restore();
      }
      if (created || builtNow) {
        if (created) logger.info({ integration: id, source }, 'integration added');
        begin(runtime);
        // Its first walk starts now, whether or not the timers run (tests drive walks by hand).
        if (!started) walk(runtime).catch(() => {});
      }
      return { integration: runtime, created };
    },
    async remove(id) {
      const runtime = runtimes.get(id);
      const removed = await registry.remove(id);
      if (runtime) await drop(runtime);
      if (!removed && !runtime) return false;
      await options.forget(id);
      logger.info({ integration: id }, 'integration removed; its snapshot and feeds are deleted');
      return true;
    },
    async pause(id, state) {
      const runtime = runtimes.get(id);
      if (!runtime) return false;
      if (runtime.entry().pausedAtMs === null) {
        await registry.update(id, { pausedAtMs: now(), pausedState: state });
        logger.warn({ integration: id, state }, 'integration paused: its feeds serve the last snapshot, nothing is walked');
      } else {
        await registry.update(id, { pausedState: state });
      }
      return true;
    },
    async resume(id) {
      const runtime = runtimes.get(id);
      if (!runtime) return false;
      const wasPaused = runtime.entry().pausedAtMs !== null;
      await registry.update(id, { pausedAtMs: null, pausedState: null });
      if (wasPaused) logger.info({ integration: id }, 'integration active again; refreshing');
      if (!runtime.engine.hasSnapshot()) begin(runtime);
      runtime.engine.requestRefresh();
      return true;
    },
    ready() {
      for (const runtime of runtimes.values()) if (!runtime.settled()) return false;
      return true;
    },
    async close() {
      closed = true;
      for (const runtime of runtimes.values()) {
        clearTimeout(runtime.timer);
        runtime.stop.abort(new Error('shutting down'));
      }
      await Promise.all([...runtimes.values()].map(async (runtime) => {
        await runtime.engine.close();
        await runtime.firstWalk;
      }));
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
