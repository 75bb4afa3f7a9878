import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWebhookCooldown } from '../../src/sync/webhook-cooldown.js';

const INTERVAL = 5_000;

/** A cooldown over a pretend flight: `walk` starts a walk (the test ends it with `end`), as the engine's flight would. */
function cooldownOverWalks() {
  let busy = false;
  const started: number[] = [];
  const cooldown = createWebhookCooldown({
    intervalMs: INTERVAL,
    busy: () => busy,
    walk() {
      busy = true;
      started.push(Date.now());
      cooldown.walkStarted();
    },
  });
  return {
    cooldown,
    started,
    /** A walk started by anyone else (a refresh asked for). */
    otherWalk() {
      busy = true;
      cooldown.walkStarted();
    },
    end() {
      busy = false;
      cooldown.idle();
    },
  };
}

describe('createWebhookCooldown', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a walk at once for a change when nothing runs', () => {
    const { cooldown, started } = cooldownOverWalks();
    cooldown.request();
    expect(started).toEqual([0]);
  });

  it('makes any number of changes told during a walk into exactly one more walk, after it', () => {
    const { cooldown, started, otherWalk, end } = cooldownOverWalks();
    otherWalk();
    for (let n = 0; n < 5; n++) cooldown.request();
    expect(started).toEqual([]);
    vi.advanceTimersByTime(60_000);
    end();
    expect(started).toEqual([60_000]);
    end();
    expect(started).toEqual([60_000]);
  });

  it('starts the walks it makes at least the interval apart: changes inside it make one walk at its end', () => {
    const { cooldown, started, end } = cooldownOverWalks();
    cooldown.request();
    vi.advanceTimersByTime(100);
    end();
    for (let n = 0; n < 3; n++) {
      vi.advanceTimersByTime(1_000);
      cooldown.request();
    }
    expect(started).toEqual([0]);
    vi.advanceTimersByTime(INTERVAL - 3_100 - 1);
    expect(started).toEqual([0]);
    vi.advanceTimersByTime(1);
    expect(started).toEqual([0, INTERVAL]);
  });

  it('drops a change a walk that started after it reads anyway (any walk reads every change told so far)', () => {
    const { cooldown, started, otherWalk, end } = cooldownOverWalks();
    cooldown.request();
    end();
    cooldown.request(); // inside the interval: waits for its end
    otherWalk(); // an asked-for walk starts meanwhile and reads that change
    end();
    vi.advanceTimersByTime(INTERVAL);
    expect(started).toEqual([0]);
  });

  it('asks again at the end of the interval for a walk that could not run (a request during the failed walk)', () => {
    const { cooldown, started, end } = cooldownOverWalks();
    cooldown.request();
    cooldown.request(); // the walk failed (the store unreachable): asked again while it still runs
    end();
    expect(started).toEqual([0]);
    vi.advanceTimersByTime(INTERVAL);
    expect(started).toEqual([0, INTERVAL]);
  });

  it('keeps no process alive: its timer is unref’d', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const { cooldown } = cooldownOverWalks();
    cooldown.request();
    const timer = spy.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    spy.mockRestore();
  });

  it('starts nothing once closed, and stops its timer', () => {
    const { cooldown, started, end } = cooldownOverWalks();
    cooldown.request();
    end();
    cooldown.request();
    cooldown.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(INTERVAL);
    cooldown.request();
    cooldown.idle();
    expect(started).toEqual([0]);
  });
});
