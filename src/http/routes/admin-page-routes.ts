import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import QRCode from 'qrcode';
import { FEED_DETAILS, type FeedDetail } from '../../config.js';
import type { FeedService } from '../../feeds/feed-service.js';
import type { FeedTeam, FeedTokens } from '../../feeds/feed-token.js';
import { isPlausibleEmail, normalizeEmail } from '../../interviews/normalize-email.js';
import type { ServedIntegration, SyncScheduler } from '../../sync/sync-scheduler.js';
import type { AdminSession } from '../admin-page/admin-sessions.js';
import { single, type Pages } from '../admin-page/create-pages.js';
import type { SignInLimiter } from '../admin-page/sign-in-limiter.js';
import { secureEqual } from '../secure-equal.js';
import { LinkGenerationError, subjectKey, type LinkGenerations } from '../../feeds/link-generations.js';
import type { LinkFetches } from '../../feeds/link-fetches.js';
import { boundLevel, describeIntegration, feedLinksFor, FEED_SIZE_WARNING_BYTES, sendLinksCsv, type LinkSubject } from './admin-routes.js';

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
  /** Counts wrong admin tokens per client, from the state bundle. */
  signInLimiter: SignInLimiter;
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

const ASSETS = fileURLToPath(new URL('../admin-page/assets', import.meta.url));

const DETAIL_LABELS: Record<FeedDetail, string> = {
  full: 'Full (everything)',
  private: 'Private (no candidate)',
  busy: 'Busy (times only)',
};

/** The detail levels as a page names them. */
export const detailLabel = (detail: FeedDetail) => DETAIL_LABELS[detail];

const when = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
const whenIso = (iso: string | null) => (iso === null ? null : when(Date.parse(iso)));

/** A request from this machine (demo mode opens the admin page to it without a token). */
export function fromLoopback(req: Request): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The admin page: `GET /admin` and the pages under it, server-rendered with an escaping template engine, behind a
 * sign-in with the admin token (or, with OIDC_ADMIN_EMAILS, the company's sign-in) that gives a session cookie. The
 * JSON admin API keeps its bearer token.
 */
export function adminPageRoutes(options: AdminPageOptions): Router {
  const router = Router();
  const { pages } = options;
  const limiter = options.signInLimiter;
  const page = pages.render;
  const refuse = (res: Response, status: number, message: string, session?: AdminSession) => pages.refuse(res, status, message, session);

  router.use('/admin', pages.headers);
  router.use('/admin/assets', express.static(ASSETS, { index: false, fallthrough: false, maxAge: '1h' }));

  /** An admin's session: a sign-in with the admin token, or a verified OIDC_ADMIN_EMAILS sign-in. */
  const sessionOf = async (req: Request) => {
    const session = await pages.sessionOf(req);
    return session?.admin ? session : undefined;
  };

  /** Pages: a signed-in session, else to the sign-in form. */
  const signedIn: RequestHandler = async (req, res, next) => {
    const session = await sessionOf(req);
    if (!session) return void res.redirect(303, '/admin');
    res.locals.session = session;
    next();
  };

  /** Forms: same origin, a live admin session and its CSRF token, compared in constant time. */
  const unsafe = pages.unsafe((session) => session.admin);

  function integrationOr404(req: Request, res: Response): ServedIntegration | undefined {
    const integration = options.sync.get(String(req.params.id));
    if (!integration) refuse(res, 404, 'No such integration.', res.locals.session as AdminSession);
    return integration;
  }

  const signInPage = (res: Response, status: number, error: string | null) =>
    page(res, status, 'sign-in', { title: 'Sign in', error, tokenSignIn: options.adminToken !== undefined, oidcSignIn: options.oidcSignIn, demo: options.demo });

  router.get('/admin', async (req, res) => {
    let session = await sessionOf(req);
    // Demo mode: a newcomer's first look is the page itself. Only from this machine, and only over demo data.
    if (!session && options.demo && fromLoopback(req)) session = await pages.signIn(res);
    if (!session) return signInPage(res, 200, null);
    const integrations = options.sync.list().map((integration) => {
      const described = describeIntegration(integration, options.feeds);
      return { ...described, lastSuccessAt: whenIso(described.lastSuccessAt), lastFailureAt: whenIso(described.lastFailureAt) };
    });
    page(res, 200, 'integrations', { title: 'Integrations', integrations, notice: noticeOf(req) }, session);
  });

  router.post('/admin/sign-in', pages.form, async (req, res) => {
    if (!pages.sameOrigin(req)) return refuse(res, 403, 'This request came from another site and was refused.');
    // Behind TRUST_PROXY proxies, the client's own address: counting the proxy's would lock every admin out at once.
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const waitMs = limiter.retryAfterMs(client);
    if (waitMs > 0) {
      res.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      return refuse(res, 429, `Too many wrong admin tokens. Try again in ${Math.ceil(waitMs / 1000)} seconds.`);
    }
    const token = single((req.body as Record<string, unknown> | undefined)?.token);
    if (options.adminToken === undefined || token === undefined || !secureEqual(token, options.adminToken)) {
      limiter.fail(client);
      return signInPage(res, 403, 'That admin token is wrong.');
    }
    await pages.signIn(res);
    res.redirect(303, '/admin');
  });

  // Any session signs out here, an interviewer's from /me too.
  router.post('/admin/sign-out', ...pages.unsafe(() => true), async (_req, res) => {
    const session = res.locals.session as AdminSession;
    await pages.signOut(res, session);
    // An interviewer lands on a page of its own: /me would send them straight back through the company sign-in.
    if (session.admin) res.redirect(303, '/admin');
    else page(res, 200, 'signed-out', { title: 'Signed out', home: '/me' });
  });

  router.post('/admin/i/:id/sync', ...unsafe, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    // The walk goes on after the answer (a large organisation takes minutes); the page shows how it ended. Its
    // failure is logged and shown by the sync engine, so nothing is lost by not waiting.
    options.sync.refresh({ integration: integration.id }).catch(() => {});
    const back = single((req.body as Record<string, unknown>).back) === 'list' ? '/admin' : `/admin/i/${encodeURIComponent(integration.id)}`;
    res.redirect(303, `${back}?notice=sync`);
  });

  router.post('/admin/i/:id/revoke', ...unsafe, async (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const email = single((req.body as Record<string, unknown>).email);
    if (email === undefined || !isPlausibleEmail(email)) return refuse(res, 400, 'No such interviewer.', res.locals.session as AdminSession);
    try {
      await options.links.bump(integration.id, subjectKey({ email: normalizeEmail(email) }));
    } catch (error) {
      if (error instanceof LinkGenerationError) return refuse(res, 409, error.message, res.locals.session as AdminSession);
      throw error;
    }
    res.redirect(303, `/admin/i/${encodeURIComponent(integration.id)}?notice=revoked&q=${encodeURIComponent(normalizeEmail(email))}`);
  });

  router.get('/admin/i/:id/links.csv', signedIn, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    sendLinksCsv(options, integration, res);
  });

  /** A subject's current link at `detail` (the default level's is the very URL the API and CSV give). */
  function linkOf(integrationId: string, subject: LinkSubject, calendarName: string | undefined, detail: FeedDetail) {
    const target = subject.email !== undefined ? { email: normalizeEmail(subject.email) } : { team: subject.team! };
    const level = boundLevel(detail === options.defaultDetail ? undefined : detail, options.defaultDetail);
    return feedLinksFor(options, integrationId, subject, calendarName, level, options.links.current(integrationId, subjectKey(target)));
  }

  /** The links of one subject at every level. */
  function linksAtEachLevel(integrationId: string, subject: LinkSubject, calendarName: string) {
    return FEED_DETAILS.map((detail) => ({ detail, label: DETAIL_LABELS[detail], ...linkOf(integrationId, subject, calendarName, detail) }));
  }

  router.get('/admin/i/:id', signedIn, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const session = res.locals.session as AdminSession;
    const snapshot = options.feeds.snapshot(integration.id);
    const query = (single(req.query.q) ?? '').trim().slice(0, 200);
    const needle = query.toLowerCase();
    const nowMs = options.now();
    const label = options.feeds.label(integration.id);
    const matches: { email: string; name: string | null }[] = [];
    let total = 0;
    for (const email of snapshot?.byEmail.keys() ?? []) {
      const name = snapshot!.names.get(email) ?? null;
      if (needle !== '' && !email.includes(needle) && !(name ?? '').toLowerCase().includes(needle)) continue;
      total++;
      if (matches.length < ADMIN_PAGE_ROWS) matches.push({ email, name });
    }
    matches.sort((a, b) => (a.name ?? a.email).localeCompare(b.name ?? b.email) || a.email.localeCompare(b.email));
    const rows = matches.map(({ email, name }) => {
      const interviews = snapshot!.interviewsOf(email);
      const next = interviews.find((interview) => interview.startMs >= nowMs);
      const fetched = options.fetches.get(integration.id, email);
      const calendarName = `Interviews: ${name ?? email}${label ? ` (${label})` : ''}`;
      return {
        email,
        name,
        interviews: interviews.length,
        next: when(next?.startMs),
        links: linksAtEachLevel(integration.id, { email }, calendarName),
        lastFetched: fetched ? { at: when(fetched.atMs), client: fetched.client ?? 'unknown' } : null,
      };
    });
    page(
      res,
      200,
      'integration',
      {
        title: integration.id,
        integration: { ...describeIntegration(integration, options.feeds), idPath: encodeURIComponent(integration.id) },
        query,
        rows,
        total,
        defaultDetail: options.defaultDetail,
        canRevoke: true,
        showFetched: true,
        notice: noticeOf(req),
      },
      session,
    );
  });

  router.get('/admin/i/:id/teams', signedIn, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const snapshot = options.feeds.snapshot(integration.id);
    const asked = single(req.query.detail);
    const detail = FEED_DETAILS.includes(asked as FeedDetail) ? (asked as FeedDetail) : options.defaultDetail;
    const jobs = new Map<string, { id: string; name: string | null; interviews: number }>();
    for (const interview of snapshot?.data.interviews ?? []) {
      if (interview.jobId === null) continue;
      const job = jobs.get(interview.jobId) ?? { id: interview.jobId, name: interview.jobName, interviews: 0 };
      job.interviews++;
      job.name ??= interview.jobName;
      jobs.set(interview.jobId, job);
    }
    const shown = [...jobs.values()].sort((a, b) => b.interviews - a.interviews || a.id.localeCompare(b.id)).slice(0, ADMIN_PAGE_ROWS);
    const team = (target: FeedTeam, title: string) => {
      const feed = options.feeds.feed(integration.id, { team: target }, detail);
      const bytes = feed?.body.length ?? 0;
      return {
        title,
        events: feed?.events ?? 0,
        kb: Math.ceil(bytes / 1024),
        tooLarge: bytes > FEED_SIZE_WARNING_BYTES,
        ...linkOf(integration.id, { team: target }, feed?.calendarName, detail),
      };
    };
    page(
      res,
      200,
      'teams',
      {
        title: `${integration.id}: team feeds`,
        integration: { id: integration.id, idPath: encodeURIComponent(integration.id) },
        detail,
        details: FEED_DETAILS.map((value) => ({ value, label: DETAIL_LABELS[value] })),
        all: team('all', 'All interviews'),
        jobs: shown.map((job) => team({ job: job.id }, job.name ?? job.id)),
        totalJobs: jobs.size,
        warningKb: FEED_SIZE_WARNING_BYTES / 1024,
      },
      res.locals.session as AdminSession,
    );
  });

  router.get('/admin/i/:id/qr.svg', signedIn, async (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const email = single(req.query.email);
    const asked = single(req.query.detail);
    if (email === undefined || !isPlausibleEmail(email) || (asked !== undefined && !FEED_DETAILS.includes(asked as FeedDetail))) {
      return refuse(res, 400, 'A QR code needs one email and, optionally, a detail level.');
    }
    const { webcalUrl } = linkOf(integration.id, { email }, undefined, (asked as FeedDetail | undefined) ?? options.defaultDetail);
    // webcal: a phone's camera offers to subscribe, where an https link would download the file once.
    const svg = await QRCode.toString(webcalUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    res.set('Cache-Control', 'no-store').type('image/svg+xml').send(svg);
  });

  router.use('/admin', pages.storeDown);
  return router;
}

const NOTICES: Record<string, string> = {
  sync: 'A sync has started; reload to see how it ended.',
  revoked: 'The link was replaced: the old one no longer works.',
};

/** A fixed notice named in the query after a form (never text from the query itself). */
function noticeOf(req: Request): string | null {
  return NOTICES[single(req.query.notice) ?? ''] ?? null;
}
