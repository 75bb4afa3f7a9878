import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { subscribeLinks } from '../../calendar/subscribe-links.js';
import type { FeedService } from '../../feeds/feed-service.js';
import type { FeedTokens } from '../../feeds/feed-token.js';
import { RegistryError } from '../../integrations/integration-registry.js';
import { isPlausibleEmail, normalizeEmail } from '../../interviews/normalize-email.js';
import type { Metrics } from '../../metrics.js';
import type { ServedIntegration, SyncScheduler } from '../../sync/sync-scheduler.js';
import { HttpError } from '../http-error.js';
import { secureEqual } from '../secure-equal.js';

/** What the admin routes need. */
export interface AdminRouteOptions {
  adminToken: string;
  tokens: FeedTokens;
  publicUrl: string;
  feeds: FeedService;
  sync: SyncScheduler;
  metrics: Metrics;
}

/** The feed URL and subscribe links of an interviewer in an integration: shared by the admin API and the command line. */
export function feedLinksFor(
  options: Pick<AdminRouteOptions, 'tokens' | 'publicUrl'>,
  integrationId: string,
  email: string,
  calendarName?: string,
) {
  const normalized = normalizeEmail(email);
  const token = options.tokens.encode({ integrationId, email: normalized });
  const url = `${options.publicUrl}/feeds/${token}.ics`;
  return { integration: integrationId, email: normalized, ...subscribeLinks(url, calendarName ?? 'Interviews') };
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

const iso = (ms: number | undefined | null) => (ms === undefined || ms === null ? null : new Date(ms).toISOString());

/** What the admin API says of one integration. */
export function describeIntegration(integration: ServedIntegration, feeds: FeedService) {
  const entry = integration.entry();
  const sync = integration.engine.status();
  const snapshot = feeds.snapshot(integration.id);
  return {
    id: integration.id,
    status: integration.status(),
    tool: entry.tool,
    organization: entry.organization,
    source: entry.source,
    addedAt: iso(entry.addedAtMs),
    pausedAt: iso(entry.pausedAtMs),
    pausedState: entry.pausedState,
    interviews: snapshot?.size ?? 0,
    interviewers: snapshot?.byEmail.size ?? 0,
    syncedAt: iso(snapshot?.data.syncedAtMs),
    fullSyncedAt: iso(snapshot?.data.fullSyncedAtMs),
    running: sync.running,
    lastSuccessAt: sync.lastSuccess?.at ?? null,
    lastFailureAt: sync.lastFailure?.at ?? null,
    lastError: sync.lastFailure && sync.consecutiveFailures > 0 ? sync.lastFailure.error : null,
    lastErrorCode: sync.lastFailure && sync.consecutiveFailures > 0 ? sync.lastFailure.code : null,
    consecutiveFailures: sync.consecutiveFailures,
  };
}

/** The integration a request names (`?integration=`), or the only one; 400 when it must be named, 404 when unknown. */
function integrationOf(sync: SyncScheduler, value: unknown): ServedIntegration {
  if (value !== undefined && typeof value !== 'string') throw new HttpError(400, 'integration must be given once');
  if (value === undefined || value === '') {
    const only = sync.resolve(undefined);
    if (only) return only;
    throw new HttpError(400, `integration must be named, as in ?integration=ID: this service serves ${sync.list().length}`);
  }
  const integration = sync.get(value);
  if (!integration) throw new HttpError(404, 'No such integration');
  return integration;
}

/** /admin/integrations, /admin/feed-url, /admin/sync and /metrics, all behind the admin token. */
export function adminRoutes(options: AdminRouteOptions): Router {
  const router = Router();
  const guard = requireAdmin(options.adminToken);
  // An id is a few dozen characters: a larger body is no request of ours.
  const json = express.json({ limit: '4kb', type: () => true });

  router.get('/admin/integrations', guard, (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ integrations: options.sync.list().map((integration) => describeIntegration(integration, options.feeds)) });
  });

  router.post('/admin/integrations', guard, json, async (req, res) => {
    const id = (req.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') throw new HttpError(400, 'body must be JSON {"id": "<Kombo integration id>"}');
    try {
      const { integration, created } = await options.sync.add(id, 'api');
      res.status(created ? 201 : 200).json(describeIntegration(integration, options.feeds));
    } catch (error) {
      if (error instanceof RegistryError) throw new HttpError(error.reason === 'full' ? 409 : 400, error.message);
      throw error;
    }
  });

  router.delete('/admin/integrations/:id', guard, async (req, res) => {
    const removed = await options.sync.remove(String(req.params.id));
    if (!removed) throw new HttpError(404, 'No such integration');
    res.status(204).end();
  });

  router.get('/admin/feed-url', guard, (req, res) => {
    const email = req.query.email;
    if (typeof email !== 'string' || !isPlausibleEmail(email)) {
      throw new HttpError(400, 'email must be a single email address, as in ?email=ada@example.com');
    }
    const integration = integrationOf(options.sync, req.query.integration);
    const name = options.feeds.snapshot(integration.id)?.names.get(normalizeEmail(email));
    // The name the feed itself carries, so the name Outlook pre-fills matches it.
    const label = options.feeds.label(integration.id);
    const calendarName = name === undefined ? undefined : `Interviews: ${name}${label === null ? '' : ` (${label})`}`;
    res.json({ ...feedLinksFor(options, integration.id, email, calendarName), name: name ?? null });
  });

  router.post('/admin/sync', guard, async (req, res) => {
    const full = req.query.full === 'true' || req.query.full === '1';
    const integration = integrationOf(options.sync, req.query.integration);
    try {
      const summary = await options.sync.refresh({ full, integration: integration.id });
      res.json({ status: 'ok', integration: integration.id, summary });
    } catch (error) {
      // The failure is logged by the sync engine; say why here too, it is an operator asking.
      res.status(502).json({ status: 'failed', integration: integration.id, error: error instanceof Error ? error.message : String(error) });
    }
  });

  router.get('/metrics', guard, async (_req, res) => {
    res.set('Content-Type', options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  return router;
}
