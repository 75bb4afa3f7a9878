import { Router } from 'express';
import QRCode from 'qrcode';
import { FEED_DETAILS, type FeedDetail } from '../../../config.js';
import { personCalendarName } from '../../../feeds/calendar-name.js';
import { feedLinksAtLevel, isLinkableEmail } from '../../../feeds/feed-links.js';
import { searchInterviewers } from '../../../feeds/interviewer-list.js';
import { revokeLink } from '../../../feeds/revoke-link.js';
import { describeIntegration } from '../../../sync/describe-integration.js';
import { personOf } from '../../../interviews/linked-records.js';
import { normalizeEmail } from '../../../interviews/normalize-email.js';
import type { AdminSession } from '../../../state/page-sessions.js';
import { single } from '../../admin-page/create-pages.js';
import { detailLabel } from '../../admin-page/detail-label.js';
import { failureHint } from '../../admin-page/failure-hint.js';
import { pageTime } from '../../admin-page/page-time.js';
import { sendLinksCsv } from '../../send-links-csv.js';
import { ADMIN_PAGE_ROWS, type AdminPageContext } from './admin-page-context.js';

/**
 * An integration's page of interviewers: GET /admin/i/:id (a search, each row's links at every level, when each was
 * last fetched), POST /admin/i/:id/revoke, GET /admin/i/:id/links.csv and GET /admin/i/:id/qr.svg.
 */
export function interviewerRoutes(context: AdminPageContext): Router {
  const router = Router();
  const { options, integrationOr404, refuse, signedIn } = context;

  router.post('/admin/i/:id/revoke', ...context.unsafe, async (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const session = res.locals.session as AdminSession;
    const email = single((req.body as Record<string, unknown>).email);
    if (email === undefined || !isLinkableEmail(email, options.feeds.snapshot(integration.id)?.byEmail)) return refuse(res, 400, 'No such interviewer.', session);
    const revocation = await revokeLink(options.links, integration.id, { email }, options.feeds);
    if (!revocation.revoked) return refuse(res, 409, revocation.reason, session);
    res.redirect(303, `/admin/i/${encodeURIComponent(integration.id)}?notice=revoked&q=${encodeURIComponent(normalizeEmail(email))}`);
  });

  router.get('/admin/i/:id/links.csv', signedIn, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    sendLinksCsv(res, options, integration.id);
  });

  router.get('/admin/i/:id', signedIn, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const snapshot = options.feeds.snapshot(integration.id);
    const query = (single(req.query.q) ?? '').trim().slice(0, 200);
    const nowMs = options.now();
    const label = options.feeds.label(integration.id);
    const { interviewers, total } = searchInterviewers(snapshot, query, ADMIN_PAGE_ROWS);
    const described = describeIntegration(integration, options.feeds);
    const rows = interviewers.map(({ email, name }) => {
      const interviews = snapshot!.interviewsOf(email);
      const fetched = options.fetches.get(integration.id, email);
      const person = personOf(snapshot!.data.linked, email);
      return {
        email,
        name,
        // The ATS has them INACTIVE or deleted: a suspension, not a revocation (their link works again once ACTIVE).
        inactive: person !== undefined && !person.active,
        formerEmails: person?.email === email ? person.formerEmails : [],
        interviews: interviews.length,
        next: pageTime(interviews.find((interview) => interview.startMs >= nowMs)?.startMs),
        links: FEED_DETAILS.map((detail) => ({ detail, label: detailLabel(detail), ...feedLinksAtLevel(options, integration.id, { email }, detail, personCalendarName(name, email, label, detail)) })),
        lastFetched: fetched ? { at: pageTime(fetched.atMs), client: fetched.client ?? 'unknown' } : null,
      };
    });
    options.pages.render(
      res,
      200,
      'integration',
      {
        title: integration.id,
        integration: { ...described, idPath: encodeURIComponent(integration.id), hint: failureHint(described.lastErrorReason) },
        query,
        rows,
        total,
        defaultDetail: options.defaultDetail,
        canRevoke: true,
        showFetched: true,
        notice: context.noticeOf(req),
      },
      res.locals.session as AdminSession,
    );
  });

  router.get('/admin/i/:id/qr.svg', signedIn, async (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    const email = single(req.query.email);
    const asked = single(req.query.detail);
    if (email === undefined || !isLinkableEmail(email, options.feeds.snapshot(integration.id)?.byEmail) || (asked !== undefined && !FEED_DETAILS.includes(asked as FeedDetail))) {
      return refuse(res, 400, 'A QR code needs one email and, optionally, a detail level.');
    }
    const { webcalUrl } = feedLinksAtLevel(options, integration.id, { email }, (asked as FeedDetail | undefined) ?? options.defaultDetail);
    // webcal: a phone's camera offers to subscribe, where an https link would download the file once.
    const svg = await QRCode.toString(webcalUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    res.set('Cache-Control', 'no-store').type('image/svg+xml').send(svg);
  });

  return router;
}
