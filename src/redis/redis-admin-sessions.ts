import { z } from 'zod';
import {
  ADMIN_SESSIONS_MAX,
  emailBucket,
  INTERVIEWER_SESSIONS_MAX,
  newSession,
  SESSIONS_PER_EMAIL_MAX,
  type AdminSession,
  type PageSessions,
} from '../state/page-sessions.js';
import { createSignInStore, entryId, type SignInIndex, type SignInRedis } from './sign-in-store.js';

/**
 * A session as Redis holds it: everything but its cookie value, which only the browser has. One without a grant
 * (written before sessions recorded how they were granted) is no session: nothing could say its grant still holds.
 */
const StoredSessionSchema = z.object({
  csrf: z.string(),
  expiresAtMs: z.number(),
  admin: z.boolean(),
  email: z.string().nullable(),
  emailVerified: z.boolean(),
  grant: z
    .discriminatedUnion('by', [z.object({ by: z.literal('token'), fingerprint: z.string() }), z.object({ by: z.literal('email') }), z.object({ by: z.literal('demo') })])
    .nullable(),
});

/**
 * The page sessions in Redis, so a browser's next request may reach any replica and a sign-out ends the session on
 * all of them at once. Each session is a key named by the SHA-256 of its cookie value, expiring with the session.
 *
 * The bounds are the memory table's: admins and interviewers apart, at most SESSIONS_PER_EMAIL_MAX per email (verified
 * and unverified counted apart), the expired first, then the oldest. Each index is trimmed by the clock of the replica signing someone in, so clocks
 * apart by a few seconds move "expired" by as much; and a session ended by a global bound stays counted in its
 * email's index until it expires, so that email may briefly hold fewer than the most, never more.
 */
export function createRedisAdminSessions(options: { redis: SignInRedis; ttlMs: number; now: () => number; max?: number; interviewersMax?: number }): PageSessions {
  const store = createSignInStore(options.redis, 'session');
  const table = (admin: boolean) => (admin ? 'sessions:admins' : 'sessions:interviewers');
  /** The indexes a session is listed in: its table and, for a sign-in with an email, that email's bucket in that table. */
  function indexesOf(session: Pick<AdminSession, 'admin' | 'email' | 'emailVerified'>): SignInIndex[] {
    const indexes = [{ name: table(session.admin), max: session.admin ? (options.max ?? ADMIN_SESSIONS_MAX) : (options.interviewersMax ?? INTERVIEWER_SESSIONS_MAX) }];
    const bucket = emailBucket(session);
    if (bucket !== null) indexes.push({ name: `${table(session.admin)}:email:${entryId(bucket)}`, max: SESSIONS_PER_EMAIL_MAX });
    return indexes;
  }

  return {
    async create(identity = { admin: true, email: null, emailVerified: false }) {
      const nowMs = options.now();
      const session = newSession(identity, nowMs, options.ttlMs);
      const { id: _cookie, ...stored } = session;
      await store.put(entryId(session.id), JSON.stringify(stored), options.ttlMs, nowMs, indexesOf(session));
      return session;
    },
    async get(id) {
      if (id === undefined) return undefined;
      const value = await store.get(entryId(id));
      if (value === null) return undefined;
      // A value this code did not write (another version, a hand edit) signs nobody in.
      let parsed;
      try {
        parsed = StoredSessionSchema.safeParse(JSON.parse(value));
      } catch {
        return undefined;
      }
      if (!parsed.success || parsed.data.expiresAtMs <= options.now()) return undefined;
      return { id, ...parsed.data };
    },
    async delete(session) {
      await store.take(entryId(session.id), indexesOf(session).map((index) => index.name));
    },
  };
}
