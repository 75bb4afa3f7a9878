import { randomBytes } from 'node:crypto';

/**
 * Signed-in admin page sessions held at once. Only someone who knows the admin token can make one, so the bound
 * guards memory against a script signing in in a loop, not against strangers; past it the oldest session ends.
 */
export const ADMIN_SESSIONS_MAX = 1_000;

/** One signed-in browser: its cookie value, the CSRF token its forms carry, and when it ends. */
export interface AdminSession {
  readonly id: string;
  readonly csrf: string;
  readonly expiresAtMs: number;
}

/** The admin page's sessions, in memory: a restart signs everyone out, which costs an operator one sign-in. */
export interface AdminSessions {
  create(): AdminSession;
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
    create() {
      const nowMs = options.now();
      if (sessions.size >= max) dropExpired(nowMs);
      while (sessions.size >= max) sessions.delete(sessions.keys().next().value!);
      const session = { id: token(), csrf: token(), expiresAtMs: nowMs + options.ttlMs };
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
