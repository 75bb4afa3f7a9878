import { Router } from 'express';
import { shownInterviews } from '../../../interviews/linked-records.js';
import { FEED_DETAILS, isValidIntegrationId, type FeedDetail } from '../../../config.js';
import { feedLinksAtLevel } from '../../../feeds/feed-links.js';
import { FEED_SIZE_WARNING_BYTES, isFeedTooLarge } from '../../../feeds/feed-size.js';
import type { FeedTeam } from '../../../feeds/feed-token.js';
import { listJobs } from '../../../feeds/job-list.js';
import { revokeLink } from '../../../feeds/revoke-link.js';
import type { AdminSession } from '../../../state/page-sessions.js';
import { single } from '../../admin-page/create-pages.js';
import { detailLabel } from '../../admin-page/detail-label.js';
import { ADMIN_PAGE_ROWS, type AdminPageContext } from './admin-page-context.js';

/**
 * GET /admin/i/:id/teams: the team feeds of an integration (every interview, each busy job's) at a chosen level;
 * POST /admin/i/:id/teams/revoke replaces one team feed's link (`all=true`, or `job`), as the admin API's revocation.
 */
export function teamRoutes(context: AdminPageContext): Router {
  const router = Router();
  const { options } = context;

  router.post('/admin/i/:id/teams/revoke', ...context.unsafe, async (req, res) => {
    const integration = context.integrationOr404(req, res);
    if (!integration) return;
    const session = res.locals.session as AdminSession;
    const body = req.body as Record<string, unknown>;
    const job = single(body.job);
    const all = single(body.all) === 'true';
    if (all === (job !== undefined) || (job !== undefined && !isValidIntegrationId(job))) return context.refuse(res, 400, 'Name one team feed: every interview, or one job.', session);
    const revocation = await revokeLink(options.links, integration.id, { team: job === undefined ? 'all' : { job } });
    if (!revocation.revoked) return context.refuse(res, 409, revocation.reason, session);
    const detail = single(body.detail);
    const level = FEED_DETAILS.includes(detail as FeedDetail) ? `&detail=${detail}` : '';
    res.redirect(303, `/admin/i/${encodeURIComponent(integration.id)}/teams?notice=revoked${level}`);
  });

  router.get('/admin/i/:id/teams', context.signedIn, (req, res) => {
    const integration = context.integrationOr404(req, res);
    if (!integration) return;
    const snapshot = options.feeds.snapshot(integration.id);
    const asked = single(req.query.detail);
    const detail = FEED_DETAILS.includes(asked as FeedDetail) ? (asked as FeedDetail) : options.defaultDetail;
    const { jobs, total } = listJobs(shownInterviews(snapshot?.data.interviews ?? [], options.feeds.showsConfidentialNames), ADMIN_PAGE_ROWS);
    const team = (target: FeedTeam, title: string) => {
      const feed = options.feeds.feed(integration.id, { team: target }, detail);
      const bytes = feed?.body.length ?? 0;
      return {
        title,
        events: feed?.events ?? 0,
        kb: Math.ceil(bytes / 1024),
        tooLarge: isFeedTooLarge(bytes),
        // What the "Revoke link" form posts: this feed's subject.
        revoke: target === 'all' ? { name: 'all', value: 'true' } : { name: 'job', value: target.job },
        ...feedLinksAtLevel(options, integration.id, { team: target }, detail, feed?.calendarName),
      };
    };
    options.pages.render(
      res,
      200,
      'teams',
      {
        title: `${integration.id}: team feeds`,
        integration: { id: integration.id, idPath: encodeURIComponent(integration.id) },
        detail,
        details: FEED_DETAILS.map((value) => ({ value, label: detailLabel(value) })),
        all: team('all', 'All interviews'),
        jobs: jobs.map((job) => team({ job: job.id }, job.name ?? job.id)),
        totalJobs: total,
        warningKb: FEED_SIZE_WARNING_BYTES / 1024,
        notice: context.noticeOf(req),
      },
      res.locals.session as AdminSession,
    );
  });

  return router;
}
