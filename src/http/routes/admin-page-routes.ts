import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import QRCode from 'qrcode';
import { FEED_DETAILS, type FeedDetail } from '../../config.js';
import type { FeedService } from '../../feeds/feed-service.js';
import type { FeedTeam, FeedTokens } from '../../feeds/feed-token.js';
import { isPlausibleEmail, normalizeEmail } from '../../interviews/normalize-email.js';
import type { ServedIntegration, SyncScheduler } from '../../sync/sync-scheduler.js';
import { createAdminSessions, type AdminSession } from '../admin-page/admin-sessions.js';
import { createSignInLimiter } from '../admin-page/sign-in-limiter.js';
import { secureEqual } from '../secure-equal.js';
import { LinkGenerationError, subjectKey, type LinkGenerations } from '../../feeds/link-generations.js';
import type { LinkFetches } from '../../feeds/link-fetches.js';
import { boundLevel, describeIntegration, feedLinksFor, FEED_SIZE_WARNING_BYTES, sendLinksCsv, type LinkSubject } from './admin-routes.js';

/** Rows one interviewer or job table shows; a search narrows the rest (the page stays fast for any organisation). */
export const ADMIN_PAGE_ROWS = 100;

/** What the admin page needs. */
export interface AdminPageOptions {
  adminToken: string;
  tokens: FeedTokens;
  publicUrl: string;
  feeds: FeedService;
  sync: SyncScheduler;
  defaultDetail: FeedDetail;
  /** How long a sign-in lasts (SESSION_HOURS). */
  sessionTtlMs: number;
  now: () => number;
  /** Revocation: each interviewer's row offers "Revoke link"; every link shown is of its current generation. */
  links: LinkGenerations;
  /** Who has subscribed: each row shows when the link was last fetched and by which calendar. */
  fetches: LinkFetches;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const VIEWS = here('../admin-page/views');
const ASSETS = here('../admin-page/assets');

const DETAIL_LABELS: Record<FeedDetail, string> = {
  full: 'Full (everything)',
  private: 'Private (no candidate)',
  busy: 'Busy (times only)',
};

const when = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
const whenIso = (iso: string | null) => (iso === null ? null : when(Date.parse(iso)));

/** The value of cookie `name` in a Cookie header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** One string from a query or form field, or undefined (absent, repeated or not text). */
const single = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The admin page: `GET /admin` and the pages under it, server-rendered with an escaping template engine, behind a
 * sign-in with the admin token that gives a session cookie. The JSON admin API keeps its bearer token.
 */
export function adminPageRoutes(options: AdminPageOptions): Router {
  const router = Router();
  const eta = new Eta({ views: VIEWS, autoEscape: true, cache: true });
  const sessions = createAdminSessions({ ttlMs: options.sessionTtlMs, now: options.now });
  const limiter = createSignInLimiter({ now: options.now });
  const publicOrigin = new URL(options.publicUrl).origin;
  const secure = publicOrigin.startsWith('https:');
  // __Host-: a Secure cookie no subdomain can set or overwrite; plain http (local development) cannot carry one.
  const cookieName = secure ? '__Host-admin-session' : 'admin-session';
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });

  router.use(
    '/admin',
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'"],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      // Not helmet's no-referrer: with it Chromium sends `Origin: null` on the page's own forms, which the cross-site
      // check must refuse. same-origin still keeps feed URLs in the page from leaking to Google or Outlook.
      referrerPolicy: { policy: 'same-origin' },
      strictTransportSecurity: secure,
    }),
  );
  router.use('/admin/assets', express.static(ASSETS, { index: false, fallthrough: false, maxAge: '1h' }));

  function page(res: Response, status: number, view: string, data: Record<string, unknown>, session?: AdminSession) {
    res
      .status(status)
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(eta.render(`./${view}`, { ...data, csrf: session?.csrf ?? null }));
  }

  const sessionOf = (req: Request) => sessions.get(cookieValue(req.headers.cookie, cookieName));

  /**
   * Refuses a state-changing request another site could have made: the browser says where it comes from (Fetch
   * Metadata, else Origin); a request that says neither (an old browser, a script) still needs the CSRF token.
   */
  function sameOrigin(req: Request): boolean {
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') return false;
    const origin = req.get('origin');
    if (origin === undefined) return true;
    if (origin === publicOrigin) return true;
    try {
      return new URL(origin).host === req.get('host'); // reached by another name than PUBLIC_URL (an internal address)
    } catch {
      return false;
    }
  }

  function refuse(res: Response, status: number, message: string, session?: AdminSession) {
    page(res, status, 'message', { title: status === 429 ? 'Too many attempts' : 'Refused', message }, session);
  }

  /** Pages: a signed-in session, else to the sign-in form. */
  const signedIn: RequestHandler = (req, res, next) => {
    const session = sessionOf(req);
    if (!session) return void res.redirect(303, '/admin');
    res.locals.session = session;
    next();
  };

  /** Forms: same origin, a live session and its CSRF token, compared in constant time. */
  const unsafe: RequestHandler[] = [
    (req, res, next) => (sameOrigin(req) ? next() : refuse(res, 403, 'This request came from another site and was refused.')),
    form,
    (req, res, next) => {
      const session = sessionOf(req);
      if (!session) return refuse(res, 403, 'Your session has ended. Sign in again.');
      const csrf = single((req.body as Record<string, unknown> | undefined)?._csrf);
      if (csrf === undefined || !secureEqual(csrf, session.csrf)) return refuse(res, 403, 'This form has expired. Reload the page and try again.', session);
      res.locals.session = session;
      next();
    },
  ];

  function integrationOr404(req: Request, res: Response): ServedIntegration | undefined {
    const integration = options.sync.get(String(req.params.id));
    if (!integration) refuse(res, 404, 'No such integration.', res.locals.session as AdminSession);
    return integration;
  }

  router.get('/admin', (req, res) => {
    const session = sessionOf(req);
    if (!session) return page(res, 200, 'sign-in', { title: 'Sign in', error: null });
    const integrations = options.sync.list().map((integration) => {
      const described = describeIntegration(integration, options.feeds);
      return { ...described, lastSuccessAt: whenIso(described.lastSuccessAt), lastFailureAt: whenIso(described.lastFailureAt) };
    });
    page(res, 200, 'integrations', { title: 'Integrations', integrations, notice: noticeOf(req) }, session);
  });

  router.post('/admin/sign-in', form, (req, res) => {
    if (!sameOrigin(req)) return refuse(res, 403, 'This request came from another site and was refused.');
    const client = req.socket.remoteAddress ?? 'unknown';
    const waitMs = limiter.retryAfterMs(client);
    if (waitMs > 0) {
      res.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      return refuse(res, 429, `Too many wrong admin tokens. Try again in ${Math.ceil(waitMs / 1000)} seconds.`);
    }
    const token = single((req.body as Record<string, unknown> | undefined)?.token);
    if (token === undefined || !secureEqual(token, options.adminToken)) {
      limiter.fail(client);
      return page(res, 403, 'sign-in', { title: 'Sign in', error: 'That admin token is wrong.' });
    }
    const session = sessions.create();
    res.cookie(cookieName, session.id, { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: options.sessionTtlMs });
    res.redirect(303, '/admin');
  });

  router.post('/admin/sign-out', ...unsafe, (_req, res) => {
    sessions.delete((res.locals.session as AdminSession).id);
    res.clearCookie(cookieName, { httpOnly: true, sameSite: 'strict', secure, path: '/' });
    res.redirect(303, '/admin');
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
