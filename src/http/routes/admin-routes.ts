import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { StoreUnavailableError } from '../../storage/store-errors.js';
import { LeaseBusyError } from '../../sync/walk-coordinator.js';
import { subscribeLinks } from '../../calendar/subscribe-links.js';
import type { FeedService } from '../../feeds/feed-service.js';
import type { FeedTeam, FeedTokens } from '../../feeds/feed-token.js';
import type { LinkFetches } from '../../feeds/link-fetches.js';
import { LinkGenerationError, subjectKey, type LinkGenerations } from '../../feeds/link-generations.js';
import { FEED_DETAILS, isValidIntegrationId, type FeedDetail } from '../../config.js';
import { RegistryError } from '../../integrations/integration-registry.js';
import { isPlausibleEmail, normalizeEmail } from '../../interviews/normalize-email.js';
import type { Metrics } from '../../metrics.js';
import { MassRemovalHeldError } from '../../sync/mass-removal-guard.js';
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
  /** FEED_DEFAULT_DETAIL: what a link without `detail=` shows. */
  defaultDetail: FeedDetail;
  /** Each link's current generation, and revocation. */
  links: LinkGenerations;
  /** When each person's link was last fetched, and by which calendar. */
  fetches: LinkFetches;
}

/** Google drops subscribed feeds of about 1 MB and more: the admin answer warns well before. */
export const FEED_SIZE_WARNING_BYTES = 512 * 1024;

/**
 * The level bound into a new link: the one asked for, else FEED_DEFAULT_DETAIL when that is not `full`. So a link
 * issued while the default is `private` stays private if the default is later set back to `full`: no link reveals
 * more than it was issued for. Only a person's link issued at the `full` default carries no level (it is the very
 * format-1 URL handed out before levels existed, and follows FEED_DEFAULT_DETAIL like every such link).
 */
export function boundLevel(asked: FeedDetail | undefined, defaultDetail: FeedDetail): FeedDetail | undefined {
  return asked ?? (defaultDetail === 'full' ? undefined : defaultDetail);
}

/** What a link is for: a person (by email) or a team, at a detail level (none: FEED_DEFAULT_DETAIL, as links always were). */
export type LinkSubject = { email: string; team?: undefined } | { team: FeedTeam; email?: undefined };

/**
 * The feed URL and subscribe links of an interviewer (or a team) in an integration: shared by the admin API and the
 * command line. `detail` is bound into the token; a person's link without one is the very URL handed out before
 * detail levels existed.
 */
export function feedLinksFor(
  options: Pick<AdminRouteOptions, 'tokens' | 'publicUrl'>,
  integrationId: string,
  subject: string | LinkSubject,
  calendarName?: string,
  detail?: FeedDetail,
  /** The link's current generation (see LinkGenerations); 0 when never revoked. */
  generation = 0,
) {
  const target: LinkSubject = typeof subject === 'string' ? { email: subject } : subject;
  const email = target.email === undefined ? undefined : normalizeEmail(target.email);
  const token = options.tokens.encode({
    integrationId,
    ...(email !== undefined ? { email } : { team: target.team! }),
    ...(detail !== undefined ? { detail } : {}),
    // A link never revoked is written as it always was (format 1 for a person without a level).
    ...(generation > 0 ? { generation } : {}),
  });
  const url = `${options.publicUrl}/feeds/${token}.ics`;
  return {
    integration: integrationId,
    ...(email !== undefined ? { email } : { team: target.team === 'all' ? 'all' : { job: target.team!.job } }),
    ...(detail !== undefined ? { detail } : {}),
    ...subscribeLinks(url, calendarName ?? 'Interviews'),
  };
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

/**
 * Answers every interviewer's current links in `integration` as a CSV attachment (GET /admin/links.csv, and the
 * admin page's download): 503 before its first snapshot.
 */
export function sendLinksCsv(
  options: Pick<AdminRouteOptions, 'feeds' | 'links' | 'tokens' | 'publicUrl' | 'defaultDetail'>,
  integration: ServedIntegration,
  res: Response,
): void {
  const snapshot = options.feeds.snapshot(integration.id);
  if (snapshot === undefined) throw new HttpError(503, 'Interviews are loading; try again shortly', { 'Retry-After': '30' });
  const people = [...snapshot.byEmail.keys()].map((email) => ({ email, name: snapshot.names.get(email) ?? null }));
  people.sort(byNameThenEmail);
  const lines = [CSV_HEADER.join(',')];
  const level = boundLevel(undefined, options.defaultDetail);
  for (const { email, name } of people) {
    const generation = options.links.current(integration.id, subjectKey({ email }));
    const links = feedLinksFor(options, integration.id, email, options.feeds.personCalendarName(integration.id, email), level, generation);
    const row = [integration.id, name ?? '', email, links.url, links.webcalUrl, links.googleUrl, links.outlookUrl, links.outlookComUrl];
    lines.push(row.map(csvCell).join(','));
  }
  // The id is in the file name only as far as it is safe there.
  const file = `links-${integration.id.replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
  res
    .status(200)
    .set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${file}"`, 'Cache-Control': 'no-store' })
    .send(`${lines.join('\r\n')}\r\n`);
}

/** The columns of GET /admin/links.csv, for a mail merge. */
export const CSV_HEADER = ['integration', 'name', 'email', 'url', 'webcal', 'google', 'outlook', 'outlook_com'] as const;

/** By name (people without one by email), then by email: the order a list of people is read in. */
function byNameThenEmail(a: { email: string; name: string | null }, b: { email: string; name: string | null }): number {
  return (a.name ?? a.email).localeCompare(b.name ?? b.email, 'en') || (a.email < b.email ? -1 : a.email > b.email ? 1 : 0);
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
    // A walk that would remove most interviews, held until confirmed (POST /admin/sync?full=true&confirmRemovals=true).
    held: sync.held,
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

/** A link asked for: whose, at which level (none: FEED_DEFAULT_DETAIL). */
interface LinkRequest {
  subject: LinkSubject;
  detail: FeedDetail | undefined;
}

/**
 * Reads `email` | `job` | `all`, and `detail`, from a query (`all=true`) or a JSON body (`"all": true`); 400 with the
 * reason otherwise.
 */
function linkRequestOf(fields: Record<string, unknown>): LinkRequest {
  const { email, job, all, detail } = fields;
  const chosen = [email, job, all].filter((value) => value !== undefined).length;
  if (chosen !== 1) throw new HttpError(400, 'name exactly one of email (a person), job (a job\'s interviews) or all=true (every interview)');
  if (email !== undefined && (typeof email !== 'string' || !isPlausibleEmail(email))) {
    throw new HttpError(400, 'email must be a single email address, as in ?email=ada@example.com');
  }
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

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell a spreadsheet would run as a
 * formula (starting with =, +, - or @, or a tab or carriage return before one) gets a leading apostrophe (OWASP's
 * CSV injection advice), so a hostile name from the ATS stays text.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
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

  /** The answer of GET /admin/feed-url and of a revocation: the current link, with what its feed holds now. */
  function linkAnswer(integration: ServedIntegration, { subject, detail }: LinkRequest) {
    const level = boundLevel(detail, options.defaultDetail);
    // Rendered (or taken from the cache) now, to say how large it is: Google refuses feeds of about 1 MB.
    const target = subject.email !== undefined ? { email: normalizeEmail(subject.email) } : { team: subject.team };
    const feed = options.feeds.feed(integration.id, target, level ?? options.defaultDetail);
    const name = subject.email !== undefined ? (options.feeds.snapshot(integration.id)?.names.get(normalizeEmail(subject.email)) ?? null) : null;
    const bytes = feed?.body.length ?? null;
    const generation = options.links.current(integration.id, subjectKey(target));
    return {
      ...feedLinksFor(options, integration.id, subject, feed?.calendarName, level, generation),
      name,
      events: feed?.events ?? null,
      bytes,
      ...(bytes !== null && bytes > FEED_SIZE_WARNING_BYTES
        ? { warning: `this feed is ${Math.round(bytes / 1024)} KB; Google Calendar refuses feeds of about 1 MB and more (FEED_PAST_DAYS shortens it)` }
        : {}),
    };
  }

  router.get('/admin/feed-url', guard, (req, res) => {
    const link = linkRequestOf(req.query);
    const integration = integrationOf(options.sync, req.query.integration);
    res.set('Cache-Control', 'no-store').json(linkAnswer(integration, link));
  });

  // Replaces a link: the old URL answers 404 from now on, across restarts; every other link is untouched.
  router.post('/admin/feed-url/revoke', guard, json, async (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'body must be JSON {"integration": ID, "email": ADDRESS} (or "job": JOB_ID, or "all": true)');
    }
    const fields = body as Record<string, unknown>;
    const link = linkRequestOf(fields);
    const integration = integrationOf(options.sync, fields.integration);
    const target = link.subject.email !== undefined ? { email: normalizeEmail(link.subject.email) } : { team: link.subject.team };
    try {
      await options.links.bump(integration.id, subjectKey(target));
    } catch (error) {
      if (error instanceof LinkGenerationError) throw new HttpError(409, error.message);
      throw error;
    }
    res.set('Cache-Control', 'no-store').json(linkAnswer(integration, link));
  });

  router.get('/admin/integrations/:id/interviewers', guard, (req, res) => {
    const integration = options.sync.get(String(req.params.id));
    if (!integration) throw new HttpError(404, 'No such integration');
    const snapshot = options.feeds.snapshot(integration.id);
    if (snapshot === undefined) throw new HttpError(503, 'Interviews are loading; try again shortly', { 'Retry-After': '30' });
    const interviewers = [...snapshot.byEmail.keys()].map((email) => {
      const summary = options.feeds.summary(integration.id, email);
      const fetched = options.fetches.get(integration.id, email);
      return {
        email,
        name: snapshot.names.get(email) ?? null,
        events: summary?.events ?? 0,
        nextInterviewAt: iso(summary?.nextStartMs),
        lastFetchedAt: iso(fetched?.atMs),
        client: fetched?.client ?? null,
      };
    });
    interviewers.sort(byNameThenEmail);
    res.set('Cache-Control', 'no-store').json({ interviewers });
  });

  router.get('/admin/links.csv', guard, (req, res) => {
    const integration = integrationOf(options.sync, req.query.integration);
    sendLinksCsv(options, integration, res);
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
