import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { createAdminPageContext, type AdminPageOptions } from './admin-page/admin-page-context.js';
import { integrationListRoutes } from './admin-page/integration-list-routes.js';
import { integrationRemovalRoutes } from './admin-page/integration-removal-routes.js';
import { interviewerRoutes } from './admin-page/interviewer-routes.js';
import { signInRoutes } from './admin-page/sign-in-routes.js';
import { teamRoutes } from './admin-page/team-routes.js';

const ASSETS = fileURLToPath(new URL('../admin-page/assets', import.meta.url));

/**
 * The admin page: `GET /admin` and the pages under it, server-rendered with an escaping template engine, behind a
 * sign-in with the admin token (or, with OIDC_ADMIN_EMAILS, the company's sign-in) that gives a session cookie. The
 * JSON admin API keeps its bearer token. Each section is a router of its own over one shared context.
 */
export function adminPageRoutes(options: AdminPageOptions): Router {
  const router = Router();
  const context = createAdminPageContext(options);
  router.use('/admin', options.pages.headers);
  router.use('/admin/assets', express.static(ASSETS, { index: false, fallthrough: false, maxAge: '1h' }));
  router.use(integrationListRoutes(context));
  router.use(signInRoutes(context));
  router.use(interviewerRoutes(context));
  router.use(teamRoutes(context));
  router.use(integrationRemovalRoutes(context));
  router.use('/admin', options.pages.storeDown);
  return router;
}
