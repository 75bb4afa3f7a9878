import { randomBytes } from 'node:crypto';

/**
 * Signed-in admin page sessions held at once. Only someone who knows the admin token can make one, so the bound
 * guards memory against a script signing in in a loop, not against strangers; past it the oldest session ends.
 */
export const ADMIN_SESSIONS_MAX = 1_000;

/** Who a session is: an admin (by the admin token, or a verified OIDC_ADMIN_EMAILS sign-in), an interviewer, or both. */
export interface SessionIdentity {
  /** May open the admin page. */
  readonly admin: boolean;
  /** The email the identity provider gave (self-service sign-in); null for a sign-in with the admin token. */
  readonly email: string | null;
  /** Whether the provider marked `email` verified: only a verified email gets links. */
  readonly emailVerified: boolean;
}

/** One signed-in browser: its cookie value, the CSRF token its forms carry, when it ends, and who signed in. */
export interface AdminSession extends SessionIdentity {
  readonly id: string;
  readonly csrf: string;
  readonly expiresAtMs: number;
}

/** The page sessions (admin page and /me), in memory: a restart signs everyone out, which costs an operator one sign-in. */
export interface AdminSessions {
  /** A new session; without an identity, an admin's (signed in with the admin token). */
  create(identity?: SessionIdentity): AdminSession;
  /** The live session of a cookie value, or undefined (unknown or expired: an expired one is forgotten). */
  get(id: string | undefined): AdminSession | undefined;
  delete(id: string): void;
  size(): number;
}

/** Creates the session table; sessions last `ttlMs` from sign-in (SESSION_HOURS), never extended. */
export function createAdminSessions(options: { ttlMs: number; now: () => number; max?: number }): AdminSessions {
  const max = options.max ?? ADMIN_SESSIONS_MAX;
  // Insertion order is creation order: the first entry is always the oldest.
  const sessions = new Map<string, AdminSession>();
  const token = () => randomBytes(32).toString('base64url');

  function dropExpired(nowMs: number) {
    for (const [id, session] of sessions) if (session.expiresAtMs <= nowMs) sessions.delete(id);
  }

  return {
    create(identity = { admin: true, email: null, emailVerified: false }) {
      const nowMs = options.now();
      if (sessions.size >= max) dropExpired(nowMs);
      while (sessions.size >= max) sessions.delete(sessions.keys().next().value!);
      const session = { id: token(), csrf: token(), expiresAtMs: nowMs + options.ttlMs, ...identity };
      sessions.set(session.id, session);
      return session;
    },
    get(id) {
      if (id === undefined) return undefined;
      const session = sessions.get(id);
      if (session && session.expiresAtMs <= options.now()) {
        sessions.delete(id);
        return undefined;
      }
      return session;
    },
    delete(id) {
      sessions.delete(id);
    },
    size: () => sessions.size,
  };
}
