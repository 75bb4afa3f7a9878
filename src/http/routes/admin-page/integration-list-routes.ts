import { Router, type Request } from 'express';
import { describeIntegration } from '../../../sync/describe-integration.js';
import { single } from '../../admin-page/create-pages.js';
import { failureHint } from '../../admin-page/failure-hint.js';
import { pageTime } from '../../admin-page/page-time.js';
import type { AdminPageContext } from './admin-page-context.js';

/** A request from this machine (demo mode opens the admin page to it without a token). */
export function fromLoopback(req: Request): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

const whenIso = (iso: string | null) => (iso === null ? null : pageTime(Date.parse(iso)));

/** GET /admin (the integrations, or the sign-in form) and POST /admin/i/:id/sync (a walk started from the page). */
export function integrationListRoutes(context: AdminPageContext): Router {
  const router = Router();
  const { options, integrationOr404 } = context;
  const { pages } = options;

  router.get('/admin', async (req, res) => {
    let session = await context.sessionOf(req);
    // Demo mode: a newcomer's first look is the page itself. Only from this machine, and only over demo data.
    if (!session && options.demo && fromLoopback(req)) session = await pages.signIn(res, pages.grants.byDemo());
    if (!session) return context.signInPage(res, 200, null);
    const integrations = options.sync.list().map((integration) => {
      const described = describeIntegration(integration, options.feeds);
      return { ...described, lastSuccessAt: whenIso(described.lastSuccessAt), lastFailureAt: whenIso(described.lastFailureAt), hint: failureHint(described.lastErrorReason) };
    });
    pages.render(res, 200, 'integrations', { title: 'Integrations', integrations, notice: context.noticeOf(req), publicUrl: options.publicUrl }, session);
  });

  router.post('/admin/i/:id/sync', ...context.unsafe, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    // The walk goes on after the answer (a large organisation takes minutes); the page shows how it ended. Its
    // failure is logged and shown by the sync engine, so nothing is lost by not waiting.
    options.sync.refresh({ integration: integration.id }).catch(() => {});
    const back = single((req.body as Record<string, unknown>).back) === 'list' ? '/admin' : `/admin/i/${encodeURIComponent(integration.id)}`;
    res.redirect(303, `${back}?notice=sync`);
  });

  return router;
}
