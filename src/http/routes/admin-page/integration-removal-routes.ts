import { Router } from 'express';
import { describeIntegration } from '../../../sync/describe-integration.js';
import type { AdminSession } from '../../../state/page-sessions.js';
import type { AdminPageContext } from './admin-page-context.js';

/**
 * Removing an integration from the admin page: GET /admin/i/:id/remove asks for a confirmation (what removal
 * deletes, and what it leaves alone), POST /admin/i/:id/remove removes it as `DELETE /admin/integrations/{id}` does.
 * The confirmation is a page of its own, not a script's dialog, so it holds without JavaScript too.
 */
export function integrationRemovalRoutes(context: AdminPageContext): Router {
  const router = Router();
  const { options, integrationOr404 } = context;

  router.get('/admin/i/:id/remove', context.signedIn, (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    options.pages.render(
      res,
      200,
      'remove-integration',
      { title: `Remove ${integration.id}?`, integration: { ...describeIntegration(integration, options.feeds), idPath: encodeURIComponent(integration.id) } },
      res.locals.session as AdminSession,
    );
  });

  router.post('/admin/i/:id/remove', ...context.unsafe, async (req, res) => {
    const integration = integrationOr404(req, res);
    if (!integration) return;
    // The one removal: the admin API's, which also keeps it removed across restarts while the configuration names it.
    await options.sync.remove(integration.id);
    res.redirect(303, '/admin?notice=removed');
  });

  return router;
}
