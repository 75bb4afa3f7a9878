import { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import { FEED_DETAILS, type FeedDetail } from '../../config.js';
import { personCalendarName } from '../../feeds/calendar-name.js';
import { feedLinksAtLevel } from '../../feeds/feed-links.js';
import type { FeedService } from '../../feeds/feed-service.js';
import type { FeedTokens } from '../../feeds/feed-token.js';
import { interviewerName, isInterviewer } from '../../feeds/interviewer-list.js';
import type { LinkGenerations } from '../../feeds/link-generations.js';
import { revokeLink } from '../../feeds/revoke-link.js';
import { normalizeEmail } from '../../interviews/normalize-email.js';
import type { SyncScheduler } from '../../sync/sync-scheduler.js';
import type { AdminSession } from '../../state/page-sessions.js';
import { cookieValue, single, type Pages } from '../admin-page/create-pages.js';
import { detailLabel } from '../admin-page/detail-label.js';
import { clientAddress } from '../client-address.js';
import { LINK_RESETS_PER_WINDOW } from '../limits/reset-limit.js';
import { retryAfterSeconds } from '../limits/secret-limiter.js';
import type { WindowLimit } from '../limits/window-limit.js';
import { pageTime } from '../admin-page/page-time.js';
import { OIDC_LOGIN_TTL_MS, OidcSignInError, type OidcSignIn, type SignInNext } from '../oidc/oidc-sign-in.js';

/** What /me and the sign-in callback need. */
export interface MeRouteOptions {
  pages: Pages;
  signIn: OidcSignIn;
  publicUrl: string;
  tokens: FeedTokens;
  feeds: FeedService;
  sync: SyncScheduler;
  links: LinkGenerations;
  /** "Reset my link" per person (verified email): a few an hour. */
  resetLimit: WindowLimit;
  defaultDetail: FeedDetail;
  now: () => number;
  /** Logs why a sign-in failed (the person sees only a plain message). */
  onSignInError: (error: OidcSignInError) => void;
}

/**
 * Self-service: `GET /me` signs an interviewer in with the company's OpenID Connect provider and shows their own
 * calendar link in each integration where their (verified) email is an interviewer, and lets them reset it.
 */
export function meRoutes(options: MeRouteOptions): Router {
  const router = Router();
  const { pages } = options;
  // Lax, not Strict: the provider's redirect back is a cross-site navigation, which must carry it.
  const loginCookie = pages.secure ? '__Host-oidc-login' : 'oidc-login';
  const loginCookieOptions = { httpOnly: true, sameSite: 'lax', secure: pages.secure, path: '/' } as const;
  const callbackUrl = `${options.publicUrl}/auth/callback`;

  router.use(['/me', '/auth'], pages.headers);

  const refuse = (res: Response, status: number, message: string, session?: AdminSession) => pages.refuse(res, status, message, session, '/me');

  /** A session whose provider vouched for its email: the only kind that gets links. */
  function verifiedEmail(session: AdminSession | undefined): string | undefined {
    return session?.email !== null && session?.emailVerified ? normalizeEmail(session.email!) : undefined;
  }

  /** The integrations where `email` is an interviewer, with the snapshot's name for them. */
  function integrationsOf(email: string) {
    return options.sync.list().flatMap((integration) => {
      const snapshot = options.feeds.snapshot(integration.id);
      if (!isInterviewer(snapshot, email)) return [];
      return [{ id: integration.id, organization: integration.entry().organization, name: interviewerName(snapshot, email), interviews: snapshot!.interviewsOf(email) }];
    });
  }

  async function startSignIn(req: Request, res: Response, next: SignInNext) {
    try {
      const { url, state } = await options.signIn.start(next, clientAddress(req));
      res.cookie(loginCookie, state, { ...loginCookieOptions, maxAge: OIDC_LOGIN_TTL_MS });
      res.redirect(303, url);
    } catch (error) {
      if (!(error instanceof OidcSignInError)) throw error;
      options.onSignInError(error);
      refuse(res, 503, error.message);
    }
  }

  router.get('/auth/login', async (req, res) => {
    await startSignIn(req, res, single(req.query.next) === 'admin' ? 'admin' : 'me');
  });

  router.get('/auth/callback', async (req, res) => {
    const url = new URL(callbackUrl);
    url.search = new URL(req.originalUrl, 'http://x').search;
    res.clearCookie(loginCookie, loginCookieOptions);
    let finished;
    try {
      finished = await options.signIn.finish(url, cookieValue(req.headers.cookie, loginCookie));
    } catch (error) {
      if (!(error instanceof OidcSignInError)) throw error;
      options.onSignInError(error);
      return refuse(res, 400, error.message);
    }
    const { email, emailVerified } = finished.identity;
    // OIDC_ADMIN_EMAILS: a verified sign-in with one of them opens the admin page too.
    const { admin } = await pages.signIn(res, pages.grants.byProvider(email, emailVerified));
    // A page, not a redirect: after the provider's cross-site redirect, a redirect would still be cross-site and the
    // browser would not send the SameSite=Strict session cookie to the next page.
    const next = finished.next === 'admin' && admin ? '/admin' : '/me';
    pages.render(res, 200, 'signed-in', { title: 'Signed in', next, refresh: next, home: next });
  });

  router.get('/me', async (req, res) => {
    const session = await pages.sessionOf(req);
    // Returned, so Express 5 answers a failed sign-in start (an unreachable provider, say) instead of an unhandled rejection.
    if (!session || session.email === null) return startSignIn(req, res, 'me');
    const email = verifiedEmail(session);
    const data = { title: 'Your calendar links', home: '/me', email: session.email, admin: session.admin, notice: single(req.query.notice) === 'reset' ? 'Your link was replaced: the old one no longer works. Subscribe to the new one.' : null };
    if (email === undefined) return pages.render(res, 200, 'me', { ...data, reason: 'unverified', integrations: [] }, session);
    const nowMs = options.now();
    const integrations = integrationsOf(email).map(({ id, organization, name, interviews }) => {
      const label = options.feeds.label(id);
      return {
        id,
        organization,
        interviews: interviews.length,
        next: pageTime(interviews.find((interview) => interview.startMs >= nowMs)?.startMs),
        links: FEED_DETAILS.map((detail) => ({ detail, label: detailLabel(detail), ...feedLinksAtLevel(options, id, { email }, detail, personCalendarName(name, email, label, detail)) })),
        qr: `/me/qr.svg?integration=${encodeURIComponent(id)}`,
      };
    });
    pages.render(res, 200, 'me', { ...data, reason: integrations.length === 0 ? 'stranger' : null, integrations, defaultDetail: options.defaultDetail }, session);
  });

  /** The integration named in a request, if `email` is an interviewer there (nobody resets or sees another's link). */
  function ownIntegration(email: string, from: Record<string, unknown>) {
    const id = single(from.integration);
    return id !== undefined && isInterviewer(options.feeds.snapshot(id), email) && options.sync.get(id) ? id : undefined;
  }

  router.post('/me/reset', ...pages.unsafe((session) => verifiedEmail(session) !== undefined), async (req, res) => {
    const session = res.locals.session as AdminSession;
    const email = verifiedEmail(session)!;
    const id = ownIntegration(email, req.body as Record<string, unknown>);
    if (id === undefined) return refuse(res, 404, 'You have no link in that integration.', session);
    const { waitMs } = await options.resetLimit.count(email);
    if (waitMs > 0) {
      const minutes = Math.ceil(waitMs / 60_000);
      res.set('Retry-After', String(retryAfterSeconds(waitMs)));
      return refuse(res, 429, `You have reset your links ${LINK_RESETS_PER_WINDOW} times this hour. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}; your current link keeps working meanwhile.`, session);
    }
    const revocation = await revokeLink(options.links, id, { email }, options.feeds);
    if (!revocation.revoked) return refuse(res, 409, revocation.reason, session);
    res.redirect(303, '/me?notice=reset');
  });

  router.get('/me/qr.svg', async (req, res) => {
    const session = await pages.sessionOf(req);
    const email = verifiedEmail(session);
    const id = email === undefined ? undefined : ownIntegration(email, req.query);
    const asked = single(req.query.detail);
    if (id === undefined || (asked !== undefined && !FEED_DETAILS.includes(asked as FeedDetail))) return refuse(res, 404, 'No such link.', session);
    const { webcalUrl } = feedLinksAtLevel(options, id, { email: email! }, (asked as FeedDetail | undefined) ?? options.defaultDetail);
    // webcal: a phone's camera offers to subscribe, where an https link would download the file once.
    const svg = await QRCode.toString(webcalUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    res.set('Cache-Control', 'no-store').type('image/svg+xml').send(svg);
  });

  router.use(['/me', '/auth'], pages.storeDown);
  return router;
}
