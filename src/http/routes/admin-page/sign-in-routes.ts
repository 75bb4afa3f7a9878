import { Router } from 'express';
import type { AdminSession } from '../../admin-page/admin-sessions.js';
import { single } from '../../admin-page/create-pages.js';
import { secureEqual } from '../../secure-equal.js';
import type { AdminPageContext } from './admin-page-context.js';

/** POST /admin/sign-in (the admin token, limited per client) and POST /admin/sign-out (any session's). */
export function signInRoutes(context: AdminPageContext): Router {
  const router = Router();
  const { options, refuse, signInPage } = context;
  const { pages } = options;
  const limiter = options.signInLimiter;

  router.post('/admin/sign-in', pages.form, async (req, res) => {
    const crossSite = pages.crossSite(req);
    if (crossSite !== undefined) return refuse(res, 403, crossSite);
    const httpsUrl = pages.httpsNeeded(req);
    if (httpsUrl !== undefined) return pages.render(res, 400, 'https-needed', { title: 'Sign in over https', httpsUrl });
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
    else pages.render(res, 200, 'signed-out', { title: 'Signed out', home: '/me' });
  });

  return router;
}
