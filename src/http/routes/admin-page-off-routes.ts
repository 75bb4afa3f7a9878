import { Router } from 'express';
import { createBrowserPages } from '../browser-pages.js';

/**
 * GET /admin while the admin page is off (no ADMIN_TOKEN, no OIDC_ADMIN_EMAILS, not demo mode): a page saying so and
 * which setting turns it on, where there was only the JSON 404 of an unknown path. The admin API stays that 404.
 */
export function adminPageOffRoutes(options: { publicUrl: string }): Router {
  const router = Router();
  const pages = createBrowserPages({ publicUrl: options.publicUrl, selfService: false, adminPage: false });
  router.get('/admin', (req, res) => pages.adminOff(req, res));
  return router;
}
