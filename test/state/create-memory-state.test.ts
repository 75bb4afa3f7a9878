import { describe, expect, it } from 'vitest';
import { createMemoryLinkFetchStore } from '../../src/feeds/link-fetches.js';
import { SIGN_IN_FAILURES_PER_WINDOW } from '../../src/http/admin-page/sign-in-limiter.js';
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

  it('counts wrong admin tokens per limiter: each app its own count', () => {
    const state = createMemoryState();
    const limiter = state.signInLimiter({ now: () => 0 });
    for (let n = 0; n < SIGN_IN_FAILURES_PER_WINDOW; n++) limiter.fail('10.0.0.1');
    expect(limiter.retryAfterMs('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('10.0.0.2')).toBe(0);
    expect(state.signInLimiter({ now: () => 0 }).retryAfterMs('10.0.0.1')).toBe(0);
  });
});
