import { describe, expect, it } from 'vitest';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { FIRST_WALK_BASE_DELAY_MS, FIRST_WALK_MAX_DELAY_MS, FIRST_WALK_TRIES_BEFORE_SETTLED, tryFirstWalk, type FirstWalkOptions } from '../../src/sync/first-walk.js';
import { captureLogger } from '../helpers/test-service.js';

const unavailable = () => new KomboError('Kombo answered 503', { kind: 'http', status: 503 });

/** A first walk that fails `failures` times (with what `error` makes), then succeeds. */
function tries(failures: number, overrides: Partial<FirstWalkOptions> & { error?: () => Error } = {}) {
  const { logger, logs } = captureLogger();
  const slept: number[] = [];
  let walks = 0;
  let succeeded = false;
  let gaveUp = 0;
  const options: FirstWalkOptions = {
    integrationId: 'greenhouse:test',
    async walk() {
      walks++;
      if (walks <= failures) throw (overrides.error ?? unavailable)();
      succeeded = true;
    },
    needed: () => !succeeded,
    pending: () => false,
    onGaveUp: () => void gaveUp++,
    signal: new AbortController().signal,
    sleep: async (ms) => void slept.push(ms),
    random: () => 1,
    logger,
    ...overrides,
  };
  return { run: () => tryFirstWalk(options), slept, walks: () => walks, gaveUp: () => gaveUp, logs };
}

describe('tryFirstWalk', () => {
  it('walks once when the first walk succeeds', async () => {
    const t = tries(0);
    await t.run();
    expect(t.walks()).toBe(1);
    expect(t.slept).toEqual([]);
  });

  it('backs off, doubling, up to the most, and says so each time', async () => {
    const t = tries(8);
    await t.run();
    expect(t.walks()).toBe(9);
    expect(t.slept).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, FIRST_WALK_MAX_DELAY_MS, FIRST_WALK_MAX_DELAY_MS, FIRST_WALK_MAX_DELAY_MS]);
    expect(t.logs.lines.filter((l) => l.msg === 'no snapshot yet; retrying the first walk')).toHaveLength(8);
    expect(t.logs.lines[0]).toMatchObject({ level: 'warn', integration: 'greenhouse:test', retryInMs: 1_000 });
  });

  it('jitters each wait between half of it and all of it', async () => {
    const t = tries(2, { random: () => 0 });
    await t.run();
    expect(t.slept).toEqual([FIRST_WALK_BASE_DELAY_MS / 2, FIRST_WALK_BASE_DELAY_MS]);
  });

  it('gives up holding readiness after so many tries, and goes on trying', async () => {
    const t = tries(FIRST_WALK_TRIES_BEFORE_SETTLED + 2);
    await t.run();
    expect(t.gaveUp()).toBe(3);
    expect(t.walks()).toBe(FIRST_WALK_TRIES_BEFORE_SETTLED + 3);
  });

  it('settles at once, and stops, when Kombo refuses in a way no retry fixes (a 4xx but 408 and 429)', async () => {
    const t = tries(5, { error: () => new KomboError('bad key', { kind: 'http', status: 401 }) });
    await t.run();
    expect([t.walks(), t.gaveUp()]).toEqual([1, 1]);
    const limited = tries(1, { error: () => new KomboError('slow down', { kind: 'http', status: 429 }) });
    await limited.run();
    expect([limited.walks(), limited.gaveUp()]).toEqual([2, 0]);
  });

  it('leaves a pending integration to the periodic schedule', async () => {
    const t = tries(5, { pending: () => true });
    await t.run();
    expect([t.walks(), t.gaveUp()]).toEqual([1, 0]);
    expect(t.slept).toEqual([]);
  });

  it('stops when the integration is stopped, or needs no first walk any more', async () => {
    const controller = new AbortController();
    const t = tries(5, { signal: controller.signal, sleep: async () => controller.abort() });
    await t.run();
    expect(t.walks()).toBe(1);
    const restored = tries(5, { needed: () => false });
    await restored.run();
    expect(restored.walks()).toBe(0);
  });
});
