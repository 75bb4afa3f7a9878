import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createIntegrationRegistry } from '../../src/integrations/integration-registry.js';
import { createMemoryRegistryStore } from '../../src/integrations/registry-store.js';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { createIntegrationRunner, integrationStatus, PENDING_RETRY_MS, type IntegrationRunnerOptions } from '../../src/sync/integration-runner.js';
import type { RefreshOptions, SyncEngine } from '../../src/sync/sync-engine.js';
import { createSyncStatus, type RefreshSummary } from '../../src/sync/sync-status.js';
import { captureLogger } from '../helpers/test-service.js';

const ID = 'greenhouse:test';
const INTERVAL = 60_000;
const pending = () => new KomboError('setting up', { kind: 'http', status: 503, code: 'INTEGRATION.SETUP_SYNC_PENDING' });

function summary(extra: Partial<RefreshSummary> = {}): RefreshSummary {
  return { kind: 'full', startedAt: new Date(Date.now()).toISOString(), durationMs: 1, pages: 1, requests: 1, interviews: 1, interviewers: 1, changes: 1, changedFeeds: 1, rejectedRecords: 0, ...extra };
}

/** An engine whose walks answer from a list (a summary, or an error to throw; then successes), recording each ask. */
function stubEngine(answers: Array<Error | Partial<RefreshSummary>> = []) {
  const status = createSyncStatus(Date.now);
  const asks: RefreshOptions[] = [];
  let snapshot = false;
  let closed = false;
  let requested = 0;
  const engine: SyncEngine = {
    restore: async () => false,
    async refresh(ask = {}) {
      asks.push(ask);
      const answer = answers.shift() ?? {};
      if (answer instanceof Error) {
        status.failed(ask.full ? 'full' : 'incremental', answer);
        throw answer;
      }
      const done = summary(answer);
      if (!done.walkedElsewhere) status.succeeded(done);
      snapshot = true;
      return done;
    },
    adopt: async () => false,
    version: () => 0,
    requestRefresh: () => void requested++,
    status: () => status.view({ running: false, held: null }),
    hasSnapshot: () => snapshot,
    close: async () => void (closed = true),
  };
  return { engine, asks, requested: () => requested, closed: () => closed, serve: () => (snapshot = true) };
}

async function runnerWith(stub: ReturnType<typeof stubEngine>, overrides: Partial<IntegrationRunnerOptions> = {}) {
  const { logger, logs } = captureLogger();
  const registry = createIntegrationRegistry({ store: createMemoryRegistryStore(), configured: [ID], logger, now: Date.now });
  await registry.load();
  const slept: number[] = [];
  const runner = createIntegrationRunner({
    id: ID,
    engine: stub.engine,
    registry,
    intervalMs: INTERVAL,
    logger,
    now: Date.now,
    random: () => 1,
    backoffSleep: async (ms) => void slept.push(ms),
    live: () => true,
    ...overrides,
  });
  return { runner, registry, logs, slept };
}

describe('integrationStatus', () => {
  it('is paused over everything, then pending or failing by the last failure, then ok after a success, else new', () => {
    const status = createSyncStatus(Date.now);
    expect(integrationStatus(false, status.view({ running: false, held: null }))).toBe('new');
    status.succeeded(summary());
    expect(integrationStatus(false, status.view({ running: false, held: null }))).toBe('ok');
    status.failed('full', pending());
    expect(integrationStatus(false, status.view({ running: false, held: null }))).toBe('pending');
    status.failed('full', new KomboError('down', { kind: 'http', status: 503 }));
    expect(integrationStatus(false, status.view({ running: false, held: null }))).toBe('failing');
    expect(integrationStatus(true, status.view({ running: false, held: null }))).toBe('paused');
  });
});

describe('createIntegrationRunner', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says once that Kombo is still setting the integration up, and once that it is live when a walk gets through', async () => {
    const stub = stubEngine([pending(), pending()]);
    const { runner, logs } = await runnerWith(stub);
    await expect(runner.walk()).rejects.toThrow('setting up');
    await expect(runner.walk()).rejects.toThrow('setting up');
    expect(runner.status()).toBe('pending');
    await runner.walk();
    expect(logs.lines.map((l) => l.msg)).toEqual([
      `integration is still being set up in Kombo; asking again in ${PENDING_RETRY_MS / 60_000} minutes`,
      'integration finished connecting; its feeds are live',
    ]);
    expect(runner.status()).toBe('ok');
  });

  it('names the integration once, after its first walk of its own, unless the registry already knows it', async () => {
    const stub = stubEngine([{ walkedElsewhere: true }]);
    let asked = 0;
    const { runner, registry } = await runnerWith(stub, { describe: async () => (asked++, { tool: 'Greenhouse', organization: 'Acme' }) });
    await runner.walk();
    expect(asked).toBe(0);
    await runner.walk();
    await runner.walk();
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toBe(1);
    expect(registry.get(ID)).toMatchObject({ tool: 'Greenhouse', organization: 'Acme' });
  });

  it('stops only once the naming request in flight is over, and writes nothing it answered after the stop', async () => {
    const stub = stubEngine();
    let seen: AbortSignal | undefined;
    let answer: (patch: { tool: string; organization: string }) => void = () => {};
    const { runner, registry } = await runnerWith(stub, {
      describe: (signal) => ((seen = signal), new Promise((resolve) => (answer = resolve))),
    });
    await runner.walk();
    let stopped = false;
    const stopping = runner.stop('shutting down').then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(seen?.aborted).toBe(true);
    expect(stopped).toBe(false);
    answer({ tool: 'Greenhouse', organization: 'Acme' });
    await stopping;
    expect(registry.get(ID)).toMatchObject({ tool: null, organization: null });
  });

  it('begins with a first walk, retried with backoff, when nothing is served', async () => {
    const stub = stubEngine([new KomboError('down', { kind: 'http', status: 503 }), new KomboError('down', { kind: 'http', status: 503 })]);
    const { runner, slept } = await runnerWith(stub);
    expect(runner.settled()).toBe(false);
    runner.begin();
    await vi.advanceTimersByTimeAsync(0);
    expect(stub.asks).toHaveLength(3);
    expect(slept).toEqual([1_000, 2_000]);
    expect(runner.settled()).toBe(true);
  });

  it('begins a restored integration with a catch-up refresh, then refreshes it at its phase of every interval', async () => {
    const stub = stubEngine();
    stub.serve();
    const { runner } = await runnerWith(stub);
    runner.begin(5_000);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(stub.asks).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(stub.asks).toEqual([{ periodic: true }]);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(stub.asks).toHaveLength(4);
    expect(stub.asks.every((ask) => ask.periodic)).toBe(true);
  });

  it('does nothing on its own until live', async () => {
    const stub = stubEngine();
    const { runner } = await runnerWith(stub, { live: () => false });
    runner.begin(0);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(stub.asks).toEqual([]);
  });

  it('walks nothing while paused, and on resume refreshes at once', async () => {
    const stub = stubEngine();
    stub.serve();
    const { runner, registry, logs } = await runnerWith(stub);
    runner.begin();
    await runner.pause('INACTIVE');
    await runner.pause('INVALID');
    expect(registry.get(ID)).toMatchObject({ pausedAtMs: 0, pausedState: 'INVALID' });
    expect(runner.status()).toBe('paused');
    expect(runner.settled()).toBe(true);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(stub.asks).toEqual([]);
    await runner.resume();
    expect(registry.get(ID)).toMatchObject({ pausedAtMs: null, pausedState: null });
    expect(stub.requested()).toBe(1);
    expect(logs.lines.map((l) => l.msg)).toEqual([
      'integration paused: its feeds serve the last snapshot, nothing is walked',
      'integration active again; refreshing',
    ]);
  });

  it('stops its timers and its engine, and waits for its first walk to end', async () => {
    const stub = stubEngine(Array.from({ length: 20 }, () => new KomboError('down', { kind: 'http', status: 503 })));
    let wake!: () => void;
    const { runner } = await runnerWith(stub, { backoffSleep: (_ms, signal) => new Promise<void>((resolve) => ((wake = resolve), signal.addEventListener('abort', () => resolve()))) });
    runner.begin();
    await vi.advanceTimersByTimeAsync(0);
    expect(stub.asks).toHaveLength(1);
    await runner.stop('integration removed');
    expect(stub.closed()).toBe(true);
    wake();
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(stub.asks).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
