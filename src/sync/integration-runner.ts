import type { Logger } from 'pino';
import type { IntegrationPatch, IntegrationRegistry } from '../integrations/integration-registry.js';
import type { IntegrationEntry } from '../integrations/registry-store.js';
import { tryFirstWalk } from './first-walk.js';
import { createRefreshTimer, refreshPhaseMs } from './refresh-timer.js';
import { isSetupPending, SETUP_PENDING_CODES } from './setup-pending.js';
import type { RefreshOptions, SyncEngine } from './sync-engine.js';
import type { RefreshSummary, SyncStatus } from './sync-status.js';

/** Where an integration stands, as the admin API and /healthz show it. */
export type IntegrationStatus = 'new' | 'ok' | 'failing' | 'pending' | 'paused';
/** Every {@link IntegrationStatus}, in the order counts of them are shown. */
export const INTEGRATION_STATUSES: readonly IntegrationStatus[] = ['new', 'ok', 'failing', 'pending', 'paused'];

/** How long a pending integration waits before it is asked again: minutes, not seconds. */
export const PENDING_RETRY_MS = 5 * 60_000;

/** One integration the service serves, with its own sync engine. */
export interface ServedIntegration {
  readonly id: string;
  readonly engine: SyncEngine;
  entry(): IntegrationEntry;
  status(): IntegrationStatus;
  /** It has a snapshot, or has settled into pending, paused or failing after its first walk gave up. */
  settled(): boolean;
}

/** What {@link createIntegrationRunner} needs. */
export interface IntegrationRunnerOptions {
  id: string;
  engine: SyncEngine;
  registry: IntegrationRegistry;
  intervalMs: number;
  /** How much after its phase this process's periodic refresh may come (the scheduler's `refreshSpreadMs`). */
  refreshSpreadMs?: number;
  logger: Logger;
  now: () => number;
  random: () => number;
  /** Sleeps between tries of the first walk. */
  backoffSleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Asks Kombo for the integration's tool and organisation (`GET /integrations/{id}`). */
  describe?: ((signal: AbortSignal) => Promise<IntegrationPatch | undefined>) | undefined;
  /** Whether walks may start on their own (the scheduler started, and is not closed). */
  live: () => boolean;
}

/** Runs one integration's walks: its first walk, its periodic refreshes, pausing and resuming. */
export interface IntegrationRunner extends ServedIntegration {
  /** One walk (see {@link SyncEngine.refresh}), with what follows from its outcome (pending, naming the integration). */
  walk(ask?: RefreshOptions): Promise<RefreshSummary>;
  /**
   * Starts walking, when live: a first walk now when there is no snapshot (retried with backoff), else a refresh in
   * `catchUpInMs` when given; then a refresh at its phase of every interval.
   */
  begin(catchUpInMs?: number): void;
  /**
   * Stops walking it (Kombo says INACTIVE or INVALID, in `state`); its feeds keep serving the last snapshot. With
   * `updatedAtMs` (Kombo's `updated_at`), only when newer than the last state applied: false when it was not.
   */
  pause(state: string, updatedAtMs?: number): Promise<boolean>;
  /** Walks it again, starting with a refresh now; with `updatedAtMs`, only when newer than the last state applied. */
  resume(updatedAtMs?: number): Promise<boolean>;
  /** Stops its timers and its walk in flight (removed, or shutdown); resolves once they have ended. */
  stop(reason: string): Promise<void>;
}

/** Where an integration stands: paused, pending or failing by its last walk's error, else ok once a walk succeeded. */
export function integrationStatus(paused: boolean, sync: SyncStatus): IntegrationStatus {
  if (paused) return 'paused';
  if (sync.consecutiveFailures > 0 && sync.lastFailure !== undefined) return SETUP_PENDING_CODES.has(sync.lastFailure.code ?? '') ? 'pending' : 'failing';
  return sync.lastSuccess ? 'ok' : 'new';
}

/** Names the integration in the registry from Kombo's answer; a failure leaves its name unknown for now. */
async function describeIntegration(
  id: string,
  ask: (signal: AbortSignal) => Promise<IntegrationPatch | undefined>,
  registry: IntegrationRegistry,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  try {
    const info = await ask(signal);
    // A runner stopped meanwhile writes nothing: its DATA_DIR may be gone (or taken over) once stop() has returned.
    if (info && registry.get(id) && !signal.aborted) await registry.update(id, info);
  } catch (error) {
    logger.debug({ integration: id, err: error }, 'could not read the integration from Kombo; its name stays unknown for now');
  }
}

/** Creates an {@link IntegrationRunner}. */
export function createIntegrationRunner(options: IntegrationRunnerOptions): IntegrationRunner {
  const { id, engine, registry, logger, now } = options;
  const stopping = new AbortController();
  let firstWalk: Promise<void> | undefined;
  let gaveUp = false;
  let pendingLogged = false;
  let described = false;
  /** The one `GET /integrations/{id}` in flight, awaited by stop() so nothing is written after it. */
  let describing: Promise<void> | undefined;
  const entry = () => registry.get(id) ?? { id, seq: 0, addedAtMs: 0, source: 'config', pausedAtMs: null, pausedState: null, tool: null, organization: null };
  const paused = () => entry().pausedAtMs !== null;
  const status = () => integrationStatus(paused(), engine.status());

  /** While pending: when it may be asked again, PENDING_RETRY_MS after its last try. */
  function pendingUntilMs(): number | undefined {
    if (status() !== 'pending') return undefined;
    return (Date.parse(engine.status().lastFailure?.at ?? '') || now()) + PENDING_RETRY_MS;
  }

  async function walk(ask: RefreshOptions = {}): Promise<RefreshSummary> {
    try {
      const summary = await engine.refresh(ask);
      if (summary.walkedElsewhere) return summary;
      if (pendingLogged) logger.info({ integration: id }, 'integration finished connecting; its feeds are live');
      pendingLogged = false;
      // Asked once: what the registry already knows (from an earlier process, or the integration-created webhook)
      // costs Kombo no request after a restart.
      const known = entry();
      if (!described && options.describe && !stopping.signal.aborted && known.tool === null && known.organization === null) {
        described = true;
        describing = describeIntegration(id, options.describe, registry, logger, stopping.signal);
      }
      return summary;
    } catch (error) {
      if (isSetupPending(error) && !pendingLogged) {
        pendingLogged = true;
        logger.info({ integration: id, code: error.code }, `integration is still being set up in Kombo; asking again in ${PENDING_RETRY_MS / 60_000} minutes`);
      }
      throw error;
    }
  }

  // Drawn once: the same walker keeps the earliest moment for this integration while it runs.
  const spreadMs = options.refreshSpreadMs ? Math.floor(options.random() * options.refreshSpreadMs) : 0;
  const timer = createRefreshTimer({
    phaseMs: () => refreshPhaseMs(entry().seq, options.intervalMs) + spreadMs,
    intervalMs: options.intervalMs,
    now,
    pendingUntilMs,
    due() {
      // Set before the first walk ended pending, this timer may come too early: pending waits its minutes.
      const waiting = (pendingUntilMs() ?? 0) > now();
      if (!paused() && firstWalk === undefined && !waiting) walk({ periodic: true }).catch(() => {}); // logged by the engine
    },
  });

  function startFirstWalk(): void {
    if (firstWalk || stopping.signal.aborted) return;
    firstWalk = tryFirstWalk({
      integrationId: id,
      walk: () => walk(),
      needed: () => !engine.hasSnapshot() && !paused(),
      pending: () => status() === 'pending',
      onGaveUp: () => (gaveUp = true),
      signal: stopping.signal,
      sleep: options.backoffSleep,
      random: options.random,
      logger,
    }).finally(() => {
      firstWalk = undefined;
    });
  }

  /**
   * Applies a state change Kombo sent at `updatedAtMs` (when it says), unless one sent later was applied already: a
   * retry of an older event delivered after a newer one changes nothing. True when applied.
   */
  async function applyState(updatedAtMs: number | undefined, patch: (known: IntegrationEntry) => IntegrationPatch): Promise<boolean> {
    let applied = false;
    await registry.update(id, (known) => {
      const last = known.stateUpdatedAtMs ?? null;
      applied = updatedAtMs === undefined || last === null || updatedAtMs > last;
      if (!applied) return undefined;
      return { ...patch(known), ...(updatedAtMs !== undefined ? { stateUpdatedAtMs: updatedAtMs } : {}) };
    });
    return applied;
  }

  function begin(catchUpInMs?: number): void {
    if (!options.live()) return;
    if (!engine.hasSnapshot() && !paused()) startFirstWalk();
    else if (catchUpInMs !== undefined && !paused()) {
      // A restored snapshot is as old as the last process left it: refresh it soon, but not all at the same second.
      const catchUp = setTimeout(() => {
        if (!stopping.signal.aborted) walk({ periodic: true }).catch(() => {});
      }, catchUpInMs);
      catchUp.unref?.();
      stopping.signal.addEventListener('abort', () => clearTimeout(catchUp), { once: true });
    }
    timer.schedule();
  }

  return {
    id,
    engine,
    entry,
    status,
    settled() {
      if (engine.hasSnapshot()) return true;
      const state = status();
      return state === 'pending' || state === 'paused' || (state === 'failing' && gaveUp);
    },
    walk,
    begin,
    async pause(state, updatedAtMs) {
      const wasPaused = paused();
      const applied = await applyState(updatedAtMs, (known) =>
        known.pausedAtMs === null ? { pausedAtMs: now(), pausedState: state } : { pausedState: state },
      );
      if (applied && !wasPaused && paused()) logger.warn({ integration: id, state }, 'integration paused: its feeds serve the last snapshot, nothing is walked');
      return applied;
    },
    async resume(updatedAtMs) {
      const wasPaused = paused();
      if (!(await applyState(updatedAtMs, () => ({ pausedAtMs: null, pausedState: null })))) return false;
      if (wasPaused) logger.info({ integration: id }, 'integration active again; refreshing');
      if (!engine.hasSnapshot()) begin();
      engine.requestRefresh();
      return true;
    },
    async stop(reason) {
      timer.stop();
      stopping.abort(new Error(reason));
      await engine.close();
      await firstWalk;
      await describing;
    },
  };
}
