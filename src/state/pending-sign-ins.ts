import { z } from 'zod';

/** Sign-ins started and not yet finished, held at once, from all clients together. */
export const OIDC_PENDING_LOGINS_MAX = 10_000;
/**
 * Sign-ins in progress one client address holds at once (a person's tabs, or an office behind one address signing in
 * together); past it that address's own oldest is dropped, and its user signs in again.
 */
export const OIDC_PENDING_LOGINS_PER_CLIENT = 20;

/** What a started sign-in keeps until the provider sends the browser back: the PKCE verifier, the nonce, where to go. */
export const pendingSignInSchema = z.object({
  verifier: z.string(),
  nonce: z.string(),
  next: z.enum(['me', 'admin']),
  expiresAtMs: z.number(),
});

/** A sign-in started with the identity provider and not yet finished. */
export type PendingSignIn = z.infer<typeof pendingSignInSchema>;

/**
 * The sign-ins in progress, from the state bundle: in memory, or shared so a sign-in started anywhere finishes
 * anywhere. Bounded per client address and in all, and no address can push out another's: when every place is
 * taken, the sign-in dropped is the oldest of the address holding the most (the starting address's own when it holds
 * as many). Flooding from one address, or from a thousand, drops only the flood's own sign-ins; a person's is dropped
 * only once every place is held by addresses holding one each.
 */
export interface PendingSignIns {
  /**
   * Holds `login` under `state` until it is taken or expires (`login.expiresAtMs`), started by `client` (its address,
   * see clientAddress); without one, it counts only in all (callers that know no address: tests, tools).
   */
  hold(state: string, login: PendingSignIn, nowMs: number, client?: string): Promise<void>;
  /** The sign-in started with `state`, good for one try: taken, it is gone (everywhere). */
  take(state: string): Promise<PendingSignIn | undefined>;
}

/** The bounds of the sign-ins in progress. */
export interface PendingSignInBounds {
  max?: number;
  perClient?: number;
}

/** The bucket of sign-ins started without a client address; never a real address's key. */
const NO_CLIENT = '';

/** The sign-ins in progress in this process's memory (the expired go first, then by the rule above). */
export function createMemoryPendingSignIns(options: PendingSignInBounds = {}): PendingSignIns & { size(): number } {
  const max = options.max ?? OIDC_PENDING_LOGINS_MAX;
  const perClient = options.perClient ?? OIDC_PENDING_LOGINS_PER_CLIENT;
  // Insertion order is start order: the first entry of each map and of each client's set is always the oldest.
  const pending = new Map<string, { login: PendingSignIn; client: string }>();
  const byClient = new Map<string, Set<string>>();

  function drop(state: string) {
    const held = pending.get(state);
    if (!held) return;
    pending.delete(state);
    const states = byClient.get(held.client)!;
    states.delete(state);
    if (states.size === 0) byClient.delete(held.client);
  }
  const oldestOf = (client: string) => byClient.get(client)?.values().next().value;
  /** The client holding the most; `mine` when it holds as many. Scans every client, only when the table is full. */
  function largest(mine: string): string {
    let chosen = mine;
    let most = byClient.get(mine)?.size ?? 0;
    for (const [client, states] of byClient) if (states.size > most) [chosen, most] = [client, states.size];
    return chosen;
  }

  return {
    async hold(state, login, nowMs, client = NO_CLIENT) {
      drop(state);
      if (pending.size >= max) for (const [held, other] of pending) if (other.login.expiresAtMs <= nowMs) drop(held);
      if (client !== NO_CLIENT) while ((byClient.get(client)?.size ?? 0) >= perClient) drop(oldestOf(client)!);
      while (pending.size >= max) {
        const victim = oldestOf(largest(client)) ?? pending.keys().next().value!;
        drop(victim);
      }
      pending.set(state, { login, client });
      let states = byClient.get(client);
      if (!states) byClient.set(client, (states = new Set()));
      states.add(state);
    },
    async take(state) {
      const login = pending.get(state)?.login;
      drop(state);
      return login;
    },
    size: () => pending.size,
  };
}
