import express, { Router } from 'express';
import { StoreUnavailableError } from '../../storage/store-errors.js';
import { LeaseBusyError } from '../../sync/walk-coordinator.js';
import { boundLevel, currentFeedLinks, isLinkableEmail, type LinkSubject } from '../../feeds/feed-links.js';
import { feedSizeWarning } from '../../feeds/feed-size.js';
import type { FeedService } from '../../feeds/feed-service.js';
import type { FeedTokens } from '../../feeds/feed-token.js';
import { interviewerName, listInterviewers } from '../../feeds/interviewer-list.js';
import type { LinkFetches } from '../../feeds/link-fetches.js';
import type { LinkGenerations } from '../../feeds/link-generations.js';
import { revokeLink } from '../../feeds/revoke-link.js';
import { FEED_DETAILS, isValidIntegrationId, type FeedDetail } from '../../config.js';
import { describeIntegration } from '../../sync/describe-integration.js';
import { RegistryError } from '../../integrations/integration-registry.js';
import { MAX_EMAIL_CHARS, normalizeEmail } from '../../interviews/normalize-email.js';
import type { Metrics } from '../../metrics.js';
import { MassRemovalHeldError } from '../../sync/mass-removal-guard.js';
import type { ServedIntegration, SyncScheduler } from '../../sync/sync-scheduler.js';
import { HttpError } from '../http-error.js';
import type { SecretLimiter } from '../limits/secret-limiter.js';
import { requireAdmin } from '../require-admin.js';
import { sendLinksCsv } from '../send-links-csv.js';

/** What the admin routes need. */
export interface AdminRouteOptions {
  adminToken: string;
  /** The limiter every door that checks a secret shares. */
  limiter: SecretLimiter;
  tokens: FeedTokens;
  publicUrl: string;
  feeds: FeedService;
  sync: SyncScheduler;
  metrics: Metrics;
  /** FEED_DEFAULT_DETAIL: what a link without `detail=` shows. */
  defaultDetail: FeedDetail;
  /** Each link's current generation, and revocation. */
  links: LinkGenerations;
  /** When each person's link was last fetched, and by which calendar. */
  fetches: LinkFetches;
}

const iso = (ms: number | undefined | null) => (ms === undefined || ms === null ? null : new Date(ms).toISOString());

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

/** A link asked for: whose, at which level (none: FEED_DEFAULT_DETAIL). */
interface LinkRequest {
  subject: LinkSubject;
  detail: FeedDetail | undefined;
}

/**
 * Reads `email` | `job` | `all`, and `detail`, from a query (`all=true`) or a JSON body (`"all": true`); 400 with the
 * reason otherwise.
 */
const EMAIL_REFUSED = 'email must be a single email address, as in ?email=ada@example.com';

/** `link`, if its email is one a link may be issued for in `integration` (see isLinkableEmail); 400 otherwise. */
function linkable(link: LinkRequest, feeds: FeedService, integrationId: string): LinkRequest {
  if (link.subject.email !== undefined && !isLinkableEmail(link.subject.email, feeds.snapshot(integrationId)?.byEmail)) throw new HttpError(400, EMAIL_REFUSED);
  return link;
}

function linkRequestOf(fields: Record<string, unknown>): LinkRequest {
  const { email, job, all, detail } = fields;
  const chosen = [email, job, all].filter((value) => value !== undefined).length;
  if (chosen !== 1) throw new HttpError(400, 'name exactly one of email (a person), job (a job\'s interviews) or all=true (every interview)');
  if (email !== undefined && (typeof email !== 'string' || email.length > MAX_EMAIL_CHARS)) throw new HttpError(400, EMAIL_REFUSED);
  if (job !== undefined && (typeof job !== 'string' || !isValidIntegrationId(job))) {
    throw new HttpError(400, 'job must be one Kombo job id (application.job.id)');
  }
  if (all !== undefined && all !== 'true' && all !== true) throw new HttpError(400, 'all must be all=true');
  if (detail !== undefined && (typeof detail !== 'string' || !FEED_DETAILS.includes(detail as FeedDetail))) {
    throw new HttpError(400, `detail must be one of ${FEED_DETAILS.join(', ')}`);
  }
  const subject: LinkSubject = typeof email === 'string' ? { email } : { team: typeof job === 'string' ? { job } : 'all' };
  return { subject, detail: detail as FeedDetail | undefined };
}

/** /admin/integrations, /admin/feed-url, /admin/sync and /metrics, all behind the admin token. */
export function adminRoutes(options: AdminRouteOptions): Router {
  const router = Router();
  const guard = requireAdmin(options.adminToken, options.limiter);
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

  /** The answer of GET /admin/feed-url and of a revocation: the current link, with what its feed holds now. */
  function linkAnswer(integration: ServedIntegration, { subject, detail }: LinkRequest) {
    // Rendered (or taken from the cache) now, to say how large it is: Google refuses feeds of about 1 MB.
    const target = subject.email !== undefined ? { email: normalizeEmail(subject.email) } : { team: subject.team };
    const feed = options.feeds.feed(integration.id, target, boundLevel(detail, options.defaultDetail) ?? options.defaultDetail);
    const name = target.email !== undefined ? interviewerName(options.feeds.snapshot(integration.id), target.email) : null;
    const bytes = feed?.body.length ?? null;
    const warning = bytes === null ? undefined : feedSizeWarning(bytes);
    return {
      ...currentFeedLinks(options, integration.id, subject, detail, feed?.calendarName),
      name,
      events: feed?.events ?? null,
      bytes,
      ...(warning !== undefined ? { warning } : {}),
    };
  }

  router.get('/admin/feed-url', guard, (req, res) => {
    const request = linkRequestOf(req.query);
    const integration = integrationOf(options.sync, req.query.integration);
    const link = linkable(request, options.feeds, integration.id);
    res.set('Cache-Control', 'no-store').json(linkAnswer(integration, link));
  });

  // Replaces a link: the old URL answers 404 from now on, across restarts; every other link is untouched.
  router.post('/admin/feed-url/revoke', guard, json, async (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'body must be JSON {"integration": ID, "email": ADDRESS} (or "job": JOB_ID, or "all": true)');
    }
    const fields = body as Record<string, unknown>;
    const request = linkRequestOf(fields);
    const integration = integrationOf(options.sync, fields.integration);
    const link = linkable(request, options.feeds, integration.id);
    const revocation = await revokeLink(options.links, integration.id, link.subject, options.feeds);
    if (!revocation.revoked) throw new HttpError(409, revocation.reason);
    res.set('Cache-Control', 'no-store').json(linkAnswer(integration, link));
  });

  router.get('/admin/integrations/:id/interviewers', guard, (req, res) => {
    const integration = options.sync.get(String(req.params.id));
    if (!integration) throw new HttpError(404, 'No such integration');
    const snapshot = options.feeds.snapshot(integration.id);
    if (snapshot === undefined) throw new HttpError(503, 'Interviews are loading; try again shortly', { 'Retry-After': '30' });
    const interviewers = listInterviewers(snapshot).map(({ email, name }) => {
      const summary = options.feeds.summary(integration.id, email);
      const fetched = options.fetches.get(integration.id, email);
      return {
        email,
        name,
        events: summary?.events ?? 0,
        nextInterviewAt: iso(summary?.nextStartMs),
        lastFetchedAt: iso(fetched?.atMs),
        client: fetched?.client ?? null,
      };
    });
    res.set('Cache-Control', 'no-store').json({ interviewers });
  });

  router.get('/admin/links.csv', guard, (req, res) => {
    const integration = integrationOf(options.sync, req.query.integration);
    sendLinksCsv(res, options, integration.id);
  });

  router.post('/admin/sync', guard, async (req, res) => {
    const full = req.query.full === 'true' || req.query.full === '1';
    const confirmRemovals = req.query.confirmRemovals === 'true' || req.query.confirmRemovals === '1';
    if (confirmRemovals && !full) {
      // A confirmation must rest on what a full walk sees, never on an incremental one.
      throw new HttpError(400, 'confirmRemovals=true needs full=true: POST /admin/sync?full=true&confirmRemovals=true');
    }
    const integration = integrationOf(options.sync, req.query.integration);
    try {
      const summary = await options.sync.refresh({ full, confirmRemovals, integration: integration.id });
      res.json({ status: 'ok', integration: integration.id, summary });
    } catch (error) {
      if (error instanceof MassRemovalHeldError) {
        res.status(409).json({ status: 'held', integration: integration.id, error: error.message, held: error.held });
        return;
      }
      if (error instanceof StoreUnavailableError || error instanceof LeaseBusyError) {
        res.status(503).set('Retry-After', '5').json({ status: 'unavailable', integration: integration.id, error: error.message });
        return;
      }
      // The failure is logged by the sync engine; say why here too, it is an operator asking.
      res.status(502).json({ status: 'failed', integration: integration.id, error: error instanceof Error ? error.message : String(error) });
    }
  });

  router.get('/metrics', guard, async (_req, res) => {
    res.set('Content-Type', options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  return router;
}
