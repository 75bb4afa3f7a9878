import { scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { normalizeEmail } from '../../interviews/normalize-email.js';
import type { AdminSession, SessionIdentity } from '../../state/page-sessions.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: string, length: number, options: { N: number }) => Promise<Buffer>;

/**
 * The fingerprint a session keeps of the admin token it was signed in with: scrypt of the token (a slow hash, so a
 * copy of the sessions' store, a Redis backup say, gives no fast way to test guesses of the token), never the token.
 */
export async function tokenFingerprint(token: string): Promise<string> {
  return (await scryptAsync(token, 'interview-feeds: the admin token a session was granted by', 32, { N: 2 ** 14 })).toString('base64url');
}

/**
 * What makes a session an admin's, as the running configuration has it: sign-ins record their grant, and every use
 * checks it again, so rotating ADMIN_TOKEN ends every session signed in with the old one, and removing an email from
 * OIDC_ADMIN_EMAILS takes the admin page from its sessions, on every process that runs the new configuration.
 */
export interface SessionGrants {
  /** The identity of a sign-in with the admin token (the caller has checked it). */
  byToken(): Promise<SessionIdentity>;
  /** The identity of demo mode's sign-in (the admin page opened from this machine). */
  byDemo(): SessionIdentity;
  /** The identity of a sign-in with the company's provider: an admin too when the email is verified and listed. */
  byProvider(email: string | null, emailVerified: boolean): SessionIdentity;
  /**
   * `session` as its grant stands now: unchanged; an interviewer's only (its email is no longer listed, or it was
   * never granted the admin page); or undefined, ended (its admin token was rotated, or demo mode is off).
   */
  current(session: AdminSession): Promise<AdminSession | undefined>;
}

/** Creates the grants of the running configuration. */
export function createSessionGrants(options: { adminToken: string | undefined; adminEmails: readonly string[]; demo: boolean }): SessionGrants {
  const adminEmails = new Set(options.adminEmails.map(normalizeEmail));
  // Computed once per process, at the first sign-in or session that needs it (scrypt takes tens of milliseconds).
  let fingerprint: Promise<string> | undefined;
  const tokenNow = () => (options.adminToken === undefined ? undefined : (fingerprint ??= tokenFingerprint(options.adminToken)));
  const listed = (email: string | null, emailVerified: boolean) => emailVerified && email !== null && adminEmails.has(normalizeEmail(email));

  return {
    async byToken() {
      const held = tokenNow();
      if (held === undefined) throw new Error('no admin token is configured');
      return { admin: true, email: null, emailVerified: false, grant: { by: 'token', fingerprint: await held } };
    },
    byDemo: () => ({ admin: true, email: null, emailVerified: false, grant: { by: 'demo' } }),
    byProvider(email, emailVerified) {
      const admin = listed(email, emailVerified);
      return { admin, email, emailVerified, grant: admin ? { by: 'email' } : null };
    },
    async current(session) {
      if (!session.admin) return session;
      const { grant } = session;
      let holds = false;
      if (grant?.by === 'token') holds = grant.fingerprint === (await tokenNow());
      else if (grant?.by === 'email') holds = listed(session.email, session.emailVerified);
      else if (grant?.by === 'demo') holds = options.demo;
      if (holds) return session;
      // Still whoever the provider said they are: the person keeps /me, without the admin page.
      return session.email === null ? undefined : { ...session, admin: false, grant: null };
    },
  };
}
