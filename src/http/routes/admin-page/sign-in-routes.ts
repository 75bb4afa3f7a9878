import { Router } from 'express';
import type { AdminSession } from '../../../state/page-sessions.js';
import { single } from '../../admin-page/create-pages.js';
import { clientAddress } from '../../client-address.js';
import { retryAfterSeconds } from '../../limits/secret-limiter.js';
import type { AdminPageContext } from './admin-page-context.js';

/** POST /admin/sign-in (the admin token, behind the limiter every secret's door shares) and POST /admin/sign-out (any session's). */
export function signInRoutes(context: AdminPageContext): Router {
  const router = Router();
  const { options, refuse, signInPage } = context;
  const { pages } = options;

  router.post('/admin/sign-in', pages.form, async (req, res) => {
    const crossSite = pages.crossSite(req);
    if (crossSite !== undefined) return refuse(res, 403, crossSite);
    const httpsUrl = pages.httpsNeeded(req);
    if (httpsUrl !== undefined) return pages.render(res, 400, 'https-needed', { title: 'Sign in over https', httpsUrl });
    const token = single((req.body as Record<string, unknown> | undefined)?.token) ?? '';
    const checked = await options.limiter.check(clientAddress(req), token, options.adminToken);
    if (checked.result === 'refused') {
      const seconds = retryAfterSeconds(checked.retryAfterMs);
      res.set('Retry-After', String(seconds));
      return refuse(res, 429, `Too many wrong admin tokens. Try again in ${seconds} seconds.`);
    }
    if (checked.result === 'wrong') return signInPage(res, 403, 'That admin token is wrong.');
    await pages.signIn(res, await pages.grants.byToken());
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
