import { describe, expect, it } from 'vitest';
import { createMemoryPendingSignIns, OIDC_PENDING_LOGINS_MAX, type PendingSignIn } from '../../src/state/pending-sign-ins.js';

const login = (n: number, expiresAtMs = 1_000): PendingSignIn => ({ verifier: `v${n}`, nonce: `n${n}`, next: 'me', expiresAtMs });

describe('the sign-ins in progress, in memory', () => {
  it('gives a held sign-in back once: taken, it is gone', async () => {
    const pending = createMemoryPendingSignIns();
    await pending.hold('state-1', login(1), 0);
    expect(await pending.take('state-1')).toEqual(login(1));
    expect(await pending.take('state-1')).toBeUndefined();
    expect(await pending.take('never-held')).toBeUndefined();
    expect(pending.size()).toBe(0);
  });

  it('holds at most `max`: the expired go first, then the oldest', async () => {
    const pending = createMemoryPendingSignIns({ max: 3 });
    await pending.hold('a', login(1, 100), 0); // expires first
    await pending.hold('b', login(2), 0);
    await pending.hold('c', login(3), 0);
    await pending.hold('d', login(4), 200); // 'a' has expired: it goes, not 'b'
    expect(pending.size()).toBe(3);
    expect(await pending.take('a')).toBeUndefined();
    await pending.hold('e', login(6), 200); // none expired: the oldest, 'b', goes
    expect(await pending.take('b')).toBeUndefined();
    for (const state of ['c', 'd', 'e']) expect(await pending.take(state)).toBeDefined();
  });

  it('is bounded by OIDC_PENDING_LOGINS_MAX unless told otherwise', async () => {
    const pending = createMemoryPendingSignIns();
    for (let n = 0; n <= OIDC_PENDING_LOGINS_MAX; n++) await pending.hold(`s${n}`, login(n), 0);
    expect(pending.size()).toBe(OIDC_PENDING_LOGINS_MAX);
    expect(await pending.take('s0')).toBeUndefined();
  });
});
