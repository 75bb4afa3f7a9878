import { randomBytes } from 'node:crypto';

/**
 * Admin sessions held at once (by the admin token or a verified OIDC_ADMIN_EMAILS sign-in); past it the oldest admin
 * session ends. Interviewers' sessions are counted apart, so no number of self-service sign-ins ends an admin's.
 */
export const ADMIN_SESSIONS_MAX = 1_000;
/** Interviewers' (self-service) sessions held at once; past it the oldest of them ends. */
export const INTERVIEWER_SESSIONS_MAX = 10_000;
/** Sessions of one email at once (a person on a few devices); past it that email's oldest ends, so one account signing in in a loop pushes out only itself. */
export const SESSIONS_PER_EMAIL_MAX = 5;

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

/**
 * The page sessions as the pages use them, from the state bundle: the table above (one process), or a shared store
 * (every process), where each call may fail with a SignInStoreError.
 */
export interface PageSessions {
  create(identity?: SessionIdentity): Promise<AdminSession>;
  get(id: string | undefined): Promise<AdminSession | undefined>;
  /** Ends `session` (in every process at once, with a shared store). */
  delete(session: AdminSession): Promise<void>;
}

/** Creates the session table; sessions last `ttlMs` from sign-in (SESSION_HOURS), never extended. */
export function createAdminSessions(options: { ttlMs: number; now: () => number; max?: number; interviewersMax?: number }): AdminSessions {
  // Two tables, each in creation order (the first entry is always the oldest): admins, and everyone else.
  const admins = new Map<string, AdminSession>();
  const others = new Map<string, AdminSession>();
  const token = () => randomBytes(32).toString('base64url');

  /** Makes room for one more in `table`: the expired go first, then the oldest; and at most a few of one email. */
  function makeRoom(table: Map<string, AdminSession>, max: number, email: string | null, nowMs: number) {
    if (table.size >= max) for (const [id, session] of table) if (session.expiresAtMs <= nowMs) table.delete(id);
    while (table.size >= max) table.delete(table.keys().next().value!);
    if (email === null) return;
    const mine = [...table.values()].filter((session) => session.email === email);
    for (const session of mine.slice(0, Math.max(0, mine.length - SESSIONS_PER_EMAIL_MAX + 1))) table.delete(session.id);
  }

  return {
    create(identity = { admin: true, email: null, emailVerified: false }) {
      const nowMs = options.now();
      const table = identity.admin ? admins : others;
      makeRoom(table, identity.admin ? (options.max ?? ADMIN_SESSIONS_MAX) : (options.interviewersMax ?? INTERVIEWER_SESSIONS_MAX), identity.email, nowMs);
      const session = { id: token(), csrf: token(), expiresAtMs: nowMs + options.ttlMs, ...identity };
      table.set(session.id, session);
      return session;
    },
    get(id) {
      if (id === undefined) return undefined;
      const session = admins.get(id) ?? others.get(id);
      if (session && session.expiresAtMs <= options.now()) {
        admins.delete(id);
        others.delete(id);
        return undefined;
      }
      return session;
    },
    delete(id) {
      admins.delete(id);
      others.delete(id);
    },
    size: () => admins.size + others.size,
  };
}

/** The memory session table behind the pages' interface: nothing in it fails or waits. */
export function createMemoryPageSessions(options: { ttlMs: number; now: () => number }): PageSessions {
  const table = createAdminSessions(options);
  return {
    create: async (identity) => table.create(identity),
    get: async (id) => table.get(id),
    delete: async (session) => table.delete(session.id),
  };
}
