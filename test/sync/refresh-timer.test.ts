import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRefreshTimer, delayToNextRefresh, refreshPhaseMs } from '../../src/sync/refresh-timer.js';

const INTERVAL = 60_000;

describe('createRefreshTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function timer(phaseMs: number, pendingUntilMs: () => number | undefined = () => undefined) {
    const due: number[] = [];
    const refresh = createRefreshTimer({ phaseMs: () => phaseMs, intervalMs: INTERVAL, now: Date.now, pendingUntilMs, due: () => due.push(Date.now()) });
    return { refresh, due };
  }

  it('comes due at its phase of every interval', () => {
    const { refresh, due } = timer(15_000);
    refresh.schedule();
    vi.advanceTimersByTime(3 * INTERVAL);
    expect(due).toEqual([15_000, 75_000, 135_000]);
  });

  it('waits whole intervals while the integration is pending, to the first moment at its phase after it may be asked again', () => {
    let pendingUntil: number | undefined = 200_000;
    const { refresh, due } = timer(15_000, () => pendingUntil);
    refresh.schedule();
    vi.advanceTimersByTime(200_000);
    expect(due).toEqual([]);
    pendingUntil = undefined;
    vi.advanceTimersByTime(2 * INTERVAL);
    expect(due).toEqual([15_000 + 4 * INTERVAL, 15_000 + 5 * INTERVAL]);
  });

  it('sets itself anew when scheduled again, and never again once stopped', () => {
    const { refresh, due } = timer(15_000);
    refresh.schedule();
    refresh.schedule();
    expect(vi.getTimerCount()).toBe(1);
    refresh.stop();
    refresh.schedule();
    vi.advanceTimersByTime(3 * INTERVAL);
    expect(due).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps no process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    timer(1).refresh.schedule();
    expect((spy.mock.results[0]!.value as NodeJS.Timeout).hasRef()).toBe(false);
    spy.mockRestore();
  });
});

describe('refreshPhaseMs and delayToNextRefresh', () => {
  it('spreads phases inside the interval, and the delay to the next one is never 0', () => {
    const phases = Array.from({ length: 10 }, (_, seq) => refreshPhaseMs(seq, INTERVAL));
    for (const phase of phases) expect(phase >= 0 && phase < INTERVAL).toBe(true);
    expect(new Set(phases).size).toBe(10);
    expect(delayToNextRefresh(15_000, 15_000, INTERVAL)).toBe(INTERVAL);
    expect(delayToNextRefresh(14_000, 15_000, INTERVAL)).toBe(1_000);
    expect(delayToNextRefresh(16_000, 15_000, INTERVAL)).toBe(INTERVAL - 1_000);
  });
});
