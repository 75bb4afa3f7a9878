import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { pageHeaders } from '../page-headers.js';
import { secureEqual } from '../secure-equal.js';
import { SignInStoreError } from '../../storage/store-errors.js';
import type { AdminSession, PageSessions, SessionIdentity } from '../../state/page-sessions.js';
import type { SessionGrants } from './session-grants.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const VIEWS = here('./views');

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Whether a form's `origin` names the address this request reached, by another name than PUBLIC_URL (an internal
 * address, or a proxy's port): the Host header, or a trusted proxy's X-Forwarded-Host, port included, a scheme's
 * default port the same as none.
 */
function reachedAs(origin: string, req: Request): boolean {
  try {
    const from = new URL(origin);
    const host = (value: string | undefined) => (value === undefined ? undefined : new URL(`${from.protocol}//${value}`).host);
    return from.host === host(req.get('host')) || from.host === host(req.host);
  } catch {
    return false;
  }
}

/** Whether a URL's hostname is this machine (browsers treat http there as secure enough for a Secure cookie). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** One string from a query or form field, or undefined (absent, repeated or not text). */
export const single = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The machinery every server-rendered page shares: templates, security headers, sessions, the cross-site checks. */
export interface Pages {
  sessions: PageSessions;
  /** How a sign-in is granted the admin page, and whether a session's grant still holds (checked by `sessionOf`). */
  grants: SessionGrants;
  /** True when PUBLIC_URL is https (cookies are then Secure and `__Host-` named). */
  secure: boolean;
  /** Security headers (the CSP allows no inline script; not frameable) for the page paths it is mounted on. */
  headers: RequestHandler;
  /** A urlencoded form body, small. */
  form: RequestHandler;
  render(res: Response, status: number, view: string, data: Record<string, unknown>, session?: AdminSession): void;
  refuse(res: Response, status: number, message: string, session?: AdminSession, back?: string): void;
  /** The request's live session, as its grant stands in the running configuration (see SessionGrants.current). */
  sessionOf(req: Request): Promise<AdminSession | undefined>;
  /** Starts a session for `identity` (from `grants`) and sets its cookie. */
  signIn(res: Response, identity: SessionIdentity): Promise<AdminSession>;
  signOut(res: Response, session: AdminSession): Promise<void>;
  sameOrigin(req: Request): boolean;
  /**
   * Why a state-changing request is refused as cross-site, as the page says it (the header that failed, and what
   * to do); undefined when it comes from the page itself. Each refusal is told to `onCrossSite`.
   */
  crossSite(req: Request): string | undefined;
  /**
   * Where to sign in instead (PUBLIC_URL's /admin) when this request came over plain http while the session cookie
   * is Secure: the browser would drop the cookie, and the sign-in would loop back to its form. Undefined otherwise.
   */
  httpsNeeded(req: Request): string | undefined;
  /** Forms: same origin, a live session `allowed` to post, and its CSRF token; the session lands in `res.locals.session`. */
  unsafe(allowed: (session: AdminSession) => boolean): RequestHandler[];
  /** Last in a page router: a sign-in store that did not answer is a 503 page asking to try again (the cookie stays). */
  storeDown: ErrorRequestHandler;
}

/** Creates the page machinery; one instance serves the admin page and /me, so one sign-in is one session. */
export function createPages(options: {
  publicUrl: string;
  /** How long a session's cookie lasts (the sessions end after as long). */
  sessionTtlMs: number;
  /** The page sessions, from the state bundle: in this process's memory, or shared so any process serves any browser. */
  sessions: PageSessions;
  /** The grants of the running configuration. */
  grants: SessionGrants;
  /** Told each time the sign-in store failed a request. */
  onStoreDown?: (error: SignInStoreError) => void;
  /** Told each time a request is refused as cross-site: the header that failed, its value, and the Host it reached. */
  onCrossSite?: (refusal: { header: 'Sec-Fetch-Site' | 'Origin'; value: string; host: string | null; path: string }) => void;
}): Pages {
  const eta = new Eta({ views: VIEWS, autoEscape: true, cache: true });
  const { sessions, grants } = options;
  const publicOrigin = new URL(options.publicUrl).origin;
  const secure = publicOrigin.startsWith('https:');
  // __Host-: a Secure cookie no subdomain can set or overwrite; plain http (local development) cannot carry one.
  const cookieName = secure ? '__Host-admin-session' : 'admin-session';
  const cookieOptions = { httpOnly: true, sameSite: 'strict', secure, path: '/' } as const;

  const render: Pages['render'] = (res, status, view, data, session) => {
    res
      .status(status)
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(eta.render(`./${view}`, { home: '/admin', ...data, csrf: session?.csrf ?? null }));
  };
  const refuse: Pages['refuse'] = (res, status, message, session, back = '/admin') => {
    render(res, status, 'message', { title: status === 429 ? 'Too many attempts' : 'Refused', message, back, home: back }, session);
  };
  const sessionOf = async (req: Request) => {
    const session = await sessions.get(cookieValue(req.headers.cookie, cookieName));
    return session && grants.current(session);
  };

  /**
   * Refuses a state-changing request another site could have made: the browser says where it comes from (Fetch
   * Metadata, else Origin); a request that says neither (an old browser, a script) still needs the CSRF token.
   */
  function crossSite(req: Request): string | undefined {
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    let refusal: { header: 'Sec-Fetch-Site' | 'Origin'; value: string } | undefined;
    if (site !== undefined && site !== 'same-origin') refusal = { header: 'Sec-Fetch-Site', value: site };
    else if (origin !== undefined && origin !== publicOrigin && !reachedAs(origin, req)) refusal = { header: 'Origin', value: origin };
    if (refusal === undefined) return undefined;
    options.onCrossSite?.({ ...refusal, host: req.get('host') ?? null, path: req.path });
    if (refusal.header === 'Sec-Fetch-Site') return `This request came from another site (the browser says Sec-Fetch-Site: ${refusal.value}) and was refused.`;
    return (
      `This form was sent from ${refusal.value}, which is neither this service's address (PUBLIC_URL, ${publicOrigin}) nor the ` +
      `address the request reached (${req.get('host') ?? 'none given'}), so it was refused as another site's. Open ${publicOrigin}/admin; ` +
      'behind a reverse proxy, pass the Host header on with its port (nginx: proxy_set_header Host $http_host).'
    );
  }

  function httpsNeeded(req: Request): string | undefined {
    if (!secure) return undefined;
    const origin = req.get('origin');
    let from: URL | undefined;
    try {
      // The browser's own word for the scheme it used; without one, a trusted proxy's X-Forwarded-Proto.
      if (origin !== undefined) from = new URL(origin);
      else if (req.app.get('trust proxy') && req.host !== undefined) from = new URL(`${req.protocol}://${req.host}`);
    } catch {
      return undefined;
    }
    // Browsers keep a Secure cookie set over http from a loopback address (a developer's machine): no loop there.
    if (from === undefined || from.protocol !== 'http:' || isLoopbackHost(from.hostname)) return undefined;
    return `${publicOrigin}/admin`;
  }

  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });

  return {
    sessions,
    grants,
    secure,
    headers: pageHeaders({ secure, forms: 'self' }),
    form,
    render,
    refuse,
    sessionOf,
    async signIn(res, identity) {
      const session = await sessions.create(identity);
      res.cookie(cookieName, session.id, { ...cookieOptions, maxAge: options.sessionTtlMs });
      return session;
    },
    async signOut(res, session) {
      await sessions.delete(session);
      res.clearCookie(cookieName, cookieOptions);
    },
    sameOrigin: (req) => crossSite(req) === undefined,
    crossSite,
    httpsNeeded,
    unsafe: (allowed) => [
      (req, res, next) => {
        const refusal = crossSite(req);
        if (refusal === undefined) next();
        else refuse(res, 403, refusal);
      },
      form,
      async (req, res, next) => {
        const session = await sessionOf(req);
        if (!session || !allowed(session)) return refuse(res, 403, 'Your session has ended. Sign in again.');
        const csrf = single((req.body as Record<string, unknown> | undefined)?._csrf);
        if (csrf === undefined || !secureEqual(csrf, session.csrf)) return refuse(res, 403, 'This form has expired. Reload the page and try again.', session);
        res.locals.session = session;
        next();
      },
    ],
    storeDown(error, req, res, next) {
      if (!(error instanceof SignInStoreError)) return next(error);
      options.onStoreDown?.(error);
      if (res.headersSent) return void res.end();
      const back = req.originalUrl.startsWith('/admin') ? '/admin' : '/me';
      render(res, 503, 'message', { title: 'Try again in a moment', message: error.message, back, home: back });
    },
  };
}
