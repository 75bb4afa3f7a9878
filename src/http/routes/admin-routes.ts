import { Router, type NextFunction, type Request, type Response } from 'express';
import { subscribeLinks } from '../../calendar/subscribe-links.js';
import type { FeedTokens } from '../../feeds/feed-token.js';
import { isPlausibleEmail, normalizeEmail } from '../../interviews/normalize-email.js';
import type { Metrics } from '../../metrics.js';
import { MassRemovalHeldError } from '../../sync/mass-removal-guard.js';
import type { SyncEngine } from '../../sync/sync-engine.js';
import { HttpError } from '../http-error.js';
import { secureEqual } from '../secure-equal.js';
import type { FeedService } from '../../feeds/feed-service.js';

/** What the admin routes need. */
export interface AdminRouteOptions {
  adminToken: string;
  tokens: FeedTokens;
  integrationId: string;
  publicUrl: string;
  feeds: FeedService;
  sync: SyncEngine;
  metrics: Metrics;
}

/** The feed URL and subscribe links of an interviewer: shared by the admin API and the command line. */
export function feedLinksFor(
  options: Pick<AdminRouteOptions, 'tokens' | 'integrationId' | 'publicUrl'>,
  email: string,
  name?: string,
) {
  const normalized = normalizeEmail(email);
  const token = options.tokens.encode({ integrationId: options.integrationId, email: normalized });
  const url = `${options.publicUrl}/feeds/${token}.ics`;
  return { email: normalized, ...subscribeLinks(url, name ? `Interviews: ${name}` : 'Interviews') };
}

/** Checks `Authorization: Bearer {ADMIN_TOKEN}` in constant time: 401 without credentials, 403 with wrong ones. */
export function requireAdmin(adminToken: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match?.[1]) {
      return next(new HttpError(401, 'Admin bearer token required', { 'WWW-Authenticate': 'Bearer realm="admin"' }));
    }
    if (!secureEqual(match[1], adminToken)) return next(new HttpError(403, 'Admin bearer token is wrong'));
    next();
  };
}

/** /admin/feed-url, /admin/sync and /metrics, all behind the admin token. */
export function adminRoutes(options: AdminRouteOptions): Router {
  const router = Router();
  const guard = requireAdmin(options.adminToken);

  router.get('/admin/feed-url', guard, (req, res) => {
    const email = req.query.email;
    if (typeof email !== 'string' || !isPlausibleEmail(email)) {
      throw new HttpError(400, 'email must be a single email address, as in ?email=ada@example.com');
    }
    const name = options.feeds.snapshot()?.names.get(normalizeEmail(email));
    res.json({ ...feedLinksFor(options, email, name), name: name ?? null });
  });

  router.post('/admin/sync', guard, async (req, res) => {
    const full = req.query.full === 'true' || req.query.full === '1';
    const confirmRemovals = req.query.confirmRemovals === 'true' || req.query.confirmRemovals === '1';
    if (confirmRemovals && !full) {
      // A confirmation must rest on what a full walk sees, never on an incremental one.
      throw new HttpError(400, 'confirmRemovals=true needs full=true: POST /admin/sync?full=true&confirmRemovals=true');
    }
    try {
      const summary = await options.sync.refresh({ full, confirmRemovals });
      res.json({ status: 'ok', summary });
    } catch (error) {
      if (error instanceof MassRemovalHeldError) {
        res.status(409).json({ status: 'held', error: error.message, held: error.held });
        return;
      }
      // The failure is logged by the sync engine; say why here too, it is an operator asking.
      res.status(502).json({ status: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  });

  router.get('/metrics', guard, async (_req, res) => {
    res.set('Content-Type', options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  return router;
}
