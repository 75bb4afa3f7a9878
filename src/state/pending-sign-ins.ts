import { z } from 'zod';

/** Sign-ins started and not yet finished, held at once; past it the oldest is dropped (its user signs in again). */
export const OIDC_PENDING_LOGINS_MAX = 10_000;

/** What a started sign-in keeps until the provider sends the browser back: the PKCE verifier, the nonce, where to go. */
export const pendingSignInSchema = z.object({
  verifier: z.string(),
  nonce: z.string(),
  next: z.enum(['me', 'admin']),
  expiresAtMs: z.number(),
});

/** A sign-in started with the identity provider and not yet finished. */
export type PendingSignIn = z.infer<typeof pendingSignInSchema>;

/** The sign-ins in progress, from the state bundle: in memory, or shared so a sign-in started anywhere finishes anywhere. */
export interface PendingSignIns {
  /** Holds `login` under `state` until it is taken or expires (`login.expiresAtMs`); past the bound, the oldest goes. */
  hold(state: string, login: PendingSignIn, nowMs: number): Promise<void>;
  /** The sign-in started with `state`, good for one try: taken, it is gone (everywhere). */
  take(state: string): Promise<PendingSignIn | undefined>;
}

/** The sign-ins in progress in this process's memory, at most `max` (the expired go first, then the oldest). */
export function createMemoryPendingSignIns(options: { max?: number } = {}): PendingSignIns & { size(): number } {
  const max = options.max ?? OIDC_PENDING_LOGINS_MAX;
  // Insertion order is start order: the first entry is always the oldest.
  const pending = new Map<string, PendingSignIn>();
  return {
    async hold(state, login, nowMs) {
      if (pending.size >= max) for (const [held, other] of pending) if (other.expiresAtMs <= nowMs) pending.delete(held);
      while (pending.size >= max) pending.delete(pending.keys().next().value!);
      pending.set(state, login);
    },
    async take(state) {
      const login = pending.get(state);
      pending.delete(state);
      return login;
    },
    size: () => pending.size,
  };
}
