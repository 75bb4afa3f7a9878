import { describe, expect, it } from 'vitest';
import { createMemoryLinkFetchStore } from '../../src/feeds/link-fetches.js';
import { createSecretLimiter, SECRET_FAILURES_PER_WINDOW } from '../../src/http/limits/secret-limiter.js';
import { createMemoryRegistryStore } from '../../src/integrations/registry-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { snapshotData } from '../helpers/factories.js';

describe('the memory state bundle', () => {
  it('uses the stores it is given and memory for every other', async () => {
    const registry = createMemoryRegistryStore();
    const fetches = createMemoryLinkFetchStore();
    const state = createMemoryState({ registry, fetches });
    expect(state.registry).toBe(registry);
    expect(state.fetches).toBe(fetches);
    await state.snapshots.save(snapshotData('acme', 'Held', 1));
    expect((await state.snapshots.load('acme'))?.interviews[0]?.title).toBe('Held');
    expect((await createMemoryState().snapshots.load('acme'))).toBeUndefined(); // a bundle of its own, not shared
  });

  it('makes sessions that last their ttl by the clock given', async () => {
    let now = 0;
    const sessions = createMemoryState().sessions({ ttlMs: 1_000, now: () => now });
    const session = await sessions.create({ admin: false, email: 'ada@example.com', emailVerified: true });
    expect(await sessions.get(session.id)).toEqual(session);
    now = 1_000;
    expect(await sessions.get(session.id)).toBeUndefined();
  });

  it('counts wrong admin tokens per limiter: each app its own count', async () => {
    const state = createMemoryState();
    const limiter = createSecretLimiter({ counters: state.counters, now: () => 0 });
    for (let n = 0; n < SECRET_FAILURES_PER_WINDOW; n++) await limiter.check('10.0.0.1', 'wrong', 'right-token');
    expect(await limiter.check('10.0.0.1', 'right-token', 'right-token')).toMatchObject({ result: 'refused', retryAfterMs: 60_000 });
    expect(await limiter.check('10.0.0.2', 'right-token', 'right-token')).toEqual({ result: 'right' });
    expect(await createSecretLimiter({ counters: state.counters, now: () => 0 }).check('10.0.0.1', 'right-token', 'right-token')).toEqual({ result: 'right' });
  });
});
