import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';
import { LeaseBusyError, type LeaseAnswer, type WalkCoordinator, type WalkLease } from '../../src/sync/walk-coordinator.js';
import { linkSignals } from '../../src/link-signals.js';
import { pause, takeWalkLease, type TakeWalkLeaseOptions } from '../../src/sync/walk-lease.js';

const ID = 'greenhouse:test';

function lease(token: number): WalkLease {
  return {
    token,
    grantedAtMs: 1_000 + token,
    signal: new AbortController().signal,
    publish: async () => ({ version: token, lineage: 'x' }),
    release: async () => {},
  };
}

/** A coordinator whose answers the test lists: `busy` (held elsewhere), `grant`, or an error to throw. */
function scriptedCoordinator(script: Array<'busy' | 'grant' | Error>, leaseMs = 3_000) {
  let asks = 0;
  const coordinator: WalkCoordinator = {
    leaseMs,
    shared: true,
    async acquire(): Promise<LeaseAnswer> {
      const step = script[Math.min(asks, script.length - 1)]!;
      asks++;
      if (step instanceof Error) throw step;
      return { lease: step === 'grant' ? lease(asks) : undefined, nowMs: 100 * asks };
    },
    newer: async () => undefined,
    putBack: async () => {},
  };
  return { coordinator, asks: () => asks };
}

function options(coordinator: WalkCoordinator, overrides: Partial<TakeWalkLeaseOptions> = {}): TakeWalkLeaseOptions & { told: unknown[] } {
  const told: unknown[] = [];
  return {
    coordinator,
    integrationId: ID,
    wait: true,
    pollMs: 1,
    signal: new AbortController().signal,
    stopped: () => new Error('stopped'),
    now: () => 0,
    onStore: (down) => told.push(down ?? 'reachable'),
    told,
    ...overrides,
  };
}

describe('takeWalkLease', () => {
  it('takes a free lease at once, with the coordinator’s time of the ask', async () => {
    const { coordinator } = scriptedCoordinator(['grant']);
    const o = options(coordinator);
    const taken = await takeWalkLease(o);
    expect(taken.lease?.token).toBe(1);
    expect(taken.askedAtMs).toBe(100);
    expect(o.told).toEqual(['reachable']);
  });

  it('waits for a lease another walker holds, and keeps the time of the first ask', async () => {
    const { coordinator, asks } = scriptedCoordinator(['busy', 'busy', 'grant']);
    const taken = await takeWalkLease(options(coordinator));
    expect(asks()).toBe(3);
    expect(taken.lease?.token).toBe(3);
    expect(taken.askedAtMs).toBe(100);
  });

  it('answers at once without a lease when told not to wait (a periodic refresh)', async () => {
    const { coordinator, asks } = scriptedCoordinator(['busy', 'grant']);
    expect(await takeWalkLease(options(coordinator, { wait: false }))).toEqual({ lease: undefined, askedAtMs: 100 });
    expect(asks()).toBe(1);
  });

  it('gives up with LeaseBusyError after about twice a lease’s life', async () => {
    const { coordinator, asks } = scriptedCoordinator(['busy'], 3_000);
    let clock = 0;
    const taking = takeWalkLease(options(coordinator, { now: () => (clock += 1_000) }));
    await expect(taking).rejects.toBeInstanceOf(LeaseBusyError);
    await expect(taking).rejects.toThrow(/another replica kept walking greenhouse:test for 1\d s/);
    expect(asks()).toBeGreaterThan(5);
  });

  it('tells of a store it cannot reach, and throws; other errors are thrown as they are', async () => {
    const down = new StoreUnavailableError('Redis did not answer within 1000 ms');
    const unreachable = options(scriptedCoordinator([down]).coordinator);
    await expect(takeWalkLease(unreachable)).rejects.toBe(down);
    expect(unreachable.told).toEqual([down]);

    const broken = new Error('bug');
    const other = options(scriptedCoordinator([broken]).coordinator);
    await expect(takeWalkLease(other)).rejects.toBe(broken);
    expect(other.told).toEqual([]);
  });

  it('stops waiting when its signal aborts (shutdown), and leaves no listener on it', async () => {
    const { coordinator } = scriptedCoordinator(['busy']);
    const controller = new AbortController();
    const taking = takeWalkLease(options(coordinator, { signal: controller.signal, pollMs: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(new Error('shutting down'));
    await expect(taking).rejects.toThrow('stopped');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no listener on the signal after many polls', async () => {
    const { coordinator } = scriptedCoordinator([...Array<'busy'>(50).fill('busy'), 'grant']);
    const controller = new AbortController();
    await takeWalkLease(options(coordinator, { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('pause', () => {
  it('resolves after its time, or at once when the signal aborts, and leaves no listener either way', async () => {
    const controller = new AbortController();
    const started = Date.now();
    await pause(20, controller.signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const paused = pause(60_000, controller.signal);
    controller.abort();
    await paused;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await pause(60_000, controller.signal); // already aborted: at once
  });
});

describe('linkSignals', () => {
  it('aborts when either signal does, with its reason', () => {
    const engine = new AbortController();
    const leaseLost = new AbortController();
    const linked = linkSignals(engine.signal, leaseLost.signal);
    expect(linked.signal.aborted).toBe(false);
    const reason = new Error('lease lost');
    leaseLost.abort(reason);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe(reason);
    // Aborted, it holds on to neither signal.
    expect(getEventListeners(engine.signal, 'abort')).toHaveLength(0);
  });

  it('is aborted from the start when a signal already is', () => {
    const reason = new Error('closed');
    const linked = linkSignals(new AbortController().signal, AbortSignal.abort(reason));
    expect(linked.signal.reason).toBe(reason);
  });

  it('leaves nothing on a long-lived signal once disposed, however many walks linked to it', () => {
    const engine = new AbortController();
    for (let n = 0; n < 100; n++) linkSignals(engine.signal, new AbortController().signal).dispose();
    expect(getEventListeners(engine.signal, 'abort')).toHaveLength(0);
    const live = linkSignals(engine.signal);
    expect(getEventListeners(engine.signal, 'abort')).toHaveLength(1);
    live.dispose();
    engine.abort();
    expect(live.signal.aborted).toBe(false);
  });

  it('aborts by its own hand too (a timeout), with that reason, and then holds on to no signal', () => {
    const walk = new AbortController();
    const attempt = linkSignals(walk.signal);
    const reason = new DOMException('timed out', 'TimeoutError');
    attempt.abort(reason);
    expect(attempt.signal.reason).toBe(reason);
    expect(getEventListeners(walk.signal, 'abort')).toHaveLength(0);
    expect(walk.signal.aborted).toBe(false);
  });
});
