import { randomBytes } from 'node:crypto';
import { normalizeEmail } from '../interviews/normalize-email.js';

/**
 * Admin sessions held at once (by the admin token or a verified OIDC_ADMIN_EMAILS sign-in); past it the oldest admin
 * session ends. Interviewers' sessions are counted apart, so no number of self-service sign-ins ends an admin's.
 */
export const ADMIN_SESSIONS_MAX = 1_000;
/** Interviewers' (self-service) sessions held at once; past it the oldest of them ends. */
export const INTERVIEWER_SESSIONS_MAX = 10_000;
/**
 * Sessions of one verified email at once (a person on a few devices); past it that email's oldest ends, so one account
 * signing in in a loop pushes out only itself. Sessions of an email the provider did not verify are counted apart, in
 * a bucket of their own per email: claiming someone's address unverified never ends their sessions.
 */
export const SESSIONS_PER_EMAIL_MAX = 5;

/**
 * How a session was made an admin, checked on every use against the running configuration: by the admin token (its
 * fingerprint, never the token itself), by a verified email listed in OIDC_ADMIN_EMAILS, or by demo mode.
 */
export type AdminGrant = { readonly by: 'token'; readonly fingerprint: string } | { readonly by: 'email' } | { readonly by: 'demo' };

/** Who a session is: an admin (by the admin token, or a verified OIDC_ADMIN_EMAILS sign-in), an interviewer, or both. */
export interface SessionIdentity {
  /** May open the admin page. */
  readonly admin: boolean;
  /** The email the identity provider gave (self-service sign-in); null for a sign-in with the admin token. */
  readonly email: string | null;
  /** Whether the provider marked `email` verified: only a verified email gets links. */
  readonly emailVerified: boolean;
  /** How `admin` was granted; absent or null: no grant, and so no admin page once grants are checked. */
  readonly grant?: AdminGrant | null;
}

/** One signed-in browser: its cookie value, the CSRF token its forms carry, when it ends, and who signed in. */
export interface AdminSession extends SessionIdentity {
  readonly grant: AdminGrant | null;
  readonly id: string;
  readonly csrf: string;
  readonly expiresAtMs: number;
}

/** The page sessions (admin page and /me), in memory: a restart signs everyone out, which costs an operator one sign-in. */
export interface AdminSessions {
  /** A new session; without an identity, an admin's without a grant (which the pages, checking grants, refuse). */
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

/**
 * The bucket a session counts in for {@link SESSIONS_PER_EMAIL_MAX}: its normalised email, verified or not apart (a
 * Map key, never an object's); null for a session without an email.
 */
export function emailBucket(identity: Pick<SessionIdentity, 'email' | 'emailVerified'>): string | null {
  if (identity.email === null) return null;
  return `${identity.emailVerified ? 'verified' : 'unverified'}:${normalizeEmail(identity.email)}`;
}

/** The session of `identity` made now: its cookie value and CSRF token fresh, no grant unless one is given. */
export function newSession(identity: SessionIdentity, nowMs: number, ttlMs: number): AdminSession {
  const token = () => randomBytes(32).toString('base64url');
  return { id: token(), csrf: token(), expiresAtMs: nowMs + ttlMs, ...identity, grant: identity.grant ?? null };
}

/** Sessions in creation order (the first entry is always the oldest), with each email bucket's ids beside them. */
function sessionTable() {
  const sessions = new Map<string, AdminSession>();
  const buckets = new Map<string, Set<string>>();
  return {
    sessions,
    bucket: (name: string) => buckets.get(name),
    add(session: AdminSession) {
      sessions.set(session.id, session);
      const name = emailBucket(session);
      if (name === null) return;
      let ids = buckets.get(name);
      if (!ids) buckets.set(name, (ids = new Set()));
      ids.add(session.id);
    },
    delete(id: string) {
      const session = sessions.get(id);
      if (!session) return;
      sessions.delete(id);
      const name = emailBucket(session);
      const ids = name === null ? undefined : buckets.get(name);
      ids?.delete(id);
      if (ids?.size === 0) buckets.delete(name!);
    },
  };
}

/** Creates the session table; sessions last `ttlMs` from sign-in (SESSION_HOURS), never extended. */
export function createAdminSessions(options: { ttlMs: number; now: () => number; max?: number; interviewersMax?: number }): AdminSessions {
  // Two tables: admins, and everyone else.
  const admins = sessionTable();
  const others = sessionTable();

  /** Makes room for one more in `table`: the expired go first, then the oldest; and at most a few of one email bucket. */
  function makeRoom(table: ReturnType<typeof sessionTable>, max: number, bucket: string | null, nowMs: number) {
    if (table.sessions.size >= max) for (const [id, session] of table.sessions) if (session.expiresAtMs <= nowMs) table.delete(id);
    while (table.sessions.size >= max) table.delete(table.sessions.keys().next().value!);
    const mine = bucket === null ? undefined : table.bucket(bucket);
    while (mine !== undefined && mine.size >= SESSIONS_PER_EMAIL_MAX) table.delete(mine.values().next().value!);
  }

  return {
    create(identity = { admin: true, email: null, emailVerified: false }) {
      const nowMs = options.now();
      const table = identity.admin ? admins : others;
      makeRoom(table, identity.admin ? (options.max ?? ADMIN_SESSIONS_MAX) : (options.interviewersMax ?? INTERVIEWER_SESSIONS_MAX), emailBucket(identity), nowMs);
      const session = newSession(identity, nowMs, options.ttlMs);
      table.add(session);
      return session;
    },
    get(id) {
      if (id === undefined) return undefined;
      const session = admins.sessions.get(id) ?? others.sessions.get(id);
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
    size: () => admins.sessions.size + others.sessions.size,
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
