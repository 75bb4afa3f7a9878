import type { Request, RequestHandler, Response } from 'express';
import type { FeedDetail } from '../../../config.js';
import type { FeedService } from '../../../feeds/feed-service.js';
import type { FeedTokens } from '../../../feeds/feed-token.js';
import type { LinkFetches } from '../../../feeds/link-fetches.js';
import type { LinkGenerations } from '../../../feeds/link-generations.js';
import type { ServedIntegration, SyncScheduler } from '../../../sync/sync-scheduler.js';
import type { AdminSession } from '../../../state/page-sessions.js';
import { single, type Pages } from '../../admin-page/create-pages.js';
import type { SecretLimiter } from '../../limits/secret-limiter.js';

/** Rows one interviewer or job table shows; a search narrows the rest (the page stays fast for any organisation). */
export const ADMIN_PAGE_ROWS = 100;

/** What the admin page needs. */
export interface AdminPageOptions {
  /** The page machinery shared with /me (one session table, one cookie). */
  pages: Pages;
  /** The token the sign-in form takes; undefined: only the company's sign-in (OIDC_ADMIN_EMAILS) opens the page. */
  adminToken: string | undefined;
  /** The sign-in page offers the company's sign-in (OIDC configured). */
  oidcSignIn: boolean;
  /** Demo mode: the page opens without a token to a request from this machine. */
  demo: boolean;
  /** The limiter every door that checks a secret shares (wrong admin tokens per client and in all). */
  limiter: SecretLimiter;
  tokens: FeedTokens;
  publicUrl: string;
  feeds: FeedService;
  sync: SyncScheduler;
  defaultDetail: FeedDetail;
  now: () => number;
  /** Revocation: each interviewer's row offers "Revoke link"; every link shown is of its current generation. */
  links: LinkGenerations;
  /** Who has subscribed: each row shows when the link was last fetched and by which calendar. */
  fetches: LinkFetches;
}

/** What every section of the admin page shares: its options, the admin's session and the answers it gives alike. */
export interface AdminPageContext {
  readonly options: AdminPageOptions;
  /** An admin's session: a sign-in with the admin token, or a verified OIDC_ADMIN_EMAILS sign-in. */
  sessionOf(req: Request): Promise<AdminSession | undefined>;
  /** Pages: a signed-in session (in `res.locals.session`), else to the sign-in form. */
  readonly signedIn: RequestHandler;
  /** Forms: same origin, a live admin session and its CSRF token, compared in constant time. */
  readonly unsafe: RequestHandler[];
  /** A page saying why a request was refused. */
  refuse(res: Response, status: number, message: string, session?: AdminSession): void;
  /** The integration named in the path, or undefined once a 404 page is answered. */
  integrationOr404(req: Request, res: Response): ServedIntegration | undefined;
  /** The sign-in form, with `error` when a sign-in failed. */
  signInPage(res: Response, status: number, error: string | null): void;
  /** A fixed notice named in the query after a form (never text from the query itself). */
  noticeOf(req: Request): string | null;
}

const NOTICES = new Map([
  ['sync', 'A sync has started; reload to see how it ended.'],
  ['revoked', 'The link was replaced: the old one no longer works.'],
  ['removed', 'The integration was removed: its links no longer work, and its data is deleted.'],
]);

/** Creates the {@link AdminPageContext} the admin page's sections share. */
export function createAdminPageContext(options: AdminPageOptions): AdminPageContext {
  const { pages } = options;
  const refuse = (res: Response, status: number, message: string, session?: AdminSession) => pages.refuse(res, status, message, session);
  const sessionOf = async (req: Request) => {
    const session = await pages.sessionOf(req);
    return session?.admin ? session : undefined;
  };
  return {
    options,
    sessionOf,
    signedIn: async (req, res, next) => {
      const session = await sessionOf(req);
      if (!session) return void res.redirect(303, '/admin');
      res.locals.session = session;
      next();
    },
    unsafe: pages.unsafe((session) => session.admin),
    refuse,
    integrationOr404(req, res) {
      const integration = options.sync.get(String(req.params.id));
      if (!integration) refuse(res, 404, 'No such integration.', res.locals.session as AdminSession);
      return integration;
    },
    signInPage: (res, status, error) =>
      pages.render(res, status, 'sign-in', { title: 'Sign in', error, tokenSignIn: options.adminToken !== undefined, oidcSignIn: options.oidcSignIn, demo: options.demo }),
    noticeOf: (req) => NOTICES.get(single(req.query.notice) ?? '') ?? null,
  };
}
