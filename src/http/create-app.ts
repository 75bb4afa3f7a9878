import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import type { FeedService } from '../feeds/feed-service.js';
import type { FeedTokens } from '../feeds/feed-token.js';
import { createLinkFetches, createMemoryLinkFetchStore, type LinkFetches } from '../feeds/link-fetches.js';
import { createLinkGenerations, createMemoryLinkGenerationStore, type LinkGenerations } from '../feeds/link-generations.js';
import type { FeedDetail, OidcConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { IntegrationRegistry } from '../integrations/integration-registry.js';
import type { SyncScheduler } from '../sync/sync-scheduler.js';
import { HttpError, NOT_FOUND_BODY } from './http-error.js';
import { createRequestLog } from './request-log.js';
import { createPages } from './admin-page/create-pages.js';
import { createOidcSignIn } from './oidc/oidc-sign-in.js';
import type { SignInRedis } from './sign-in-store.js';
import { adminPageRoutes } from './routes/admin-page-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { feedRoutes } from './routes/feed-routes.js';
import type { SharedWebhookIds } from '../redis/redis-webhook-ids.js';
import { healthRoutes } from './routes/health-routes.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import type { RedisHealth } from '../redis/create-redis-hub.js';
import { meRoutes } from './routes/me-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';

/** How long a sign-in to the admin page lasts when the app is not told (SESSION_HOURS' default). */
export const DEFAULT_SESSION_MS = 8 * 3_600_000;

/** Everything the HTTP app is built from; tests pass fakes or real pieces over loopback. */
export interface AppDeps {
  feeds: FeedService;
  sync: SyncScheduler;
  registry: IntegrationRegistry;
  tokens: FeedTokens;
  /** Revoked links; absent: kept in memory only. */
  links?: LinkGenerations;
  /** Who fetched their link last, and with which calendar; absent: kept in memory only. */
  fetches?: LinkFetches;
  logger: Logger;
  metrics: Metrics;
  publicUrl: string;
  refreshMinutes: number;
  /** FEED_DEFAULT_DETAIL (default full). */
  defaultDetail?: FeedDetail;
  adminToken?: string | undefined;
  /** SESSION_HOURS, in ms: how long a sign-in to the admin page lasts (default 8 h). */
  sessionMs?: number;
  webhookSecret?: string | undefined;
  /** Self-service sign-in (`GET /me`) with the company's OpenID Connect provider; absent: off. */
  oidc?: OidcConfig | undefined;
  demo?: boolean;
  /** TRUST_PROXY: reverse proxies whose X-Forwarded-For Express believes (req.ip); 0, none. */
  trustProxy?: number;
  /** Replica mode: webhook ids every replica has seen. */
  sharedWebhookIds?: SharedWebhookIds | undefined;
  /** Replica mode: where the shared Redis stands, for /healthz. */
  redisHealth?: () => RedisHealth;
  now?: () => number;
  /** Replica mode (REDIS_URL): page sessions and OIDC sign-ins in progress live in Redis, so any replica serves any browser. */
  redis?: SignInRedis | undefined;
}

/** Builds the Express app. It never listens: the server entry does (and tests use supertest). */
export function createApp(deps: AppDeps): Express {
  const now = deps.now ?? Date.now;
  const app = express();
  const links = deps.links ?? createLinkGenerations(createMemoryLinkGenerationStore());
  const fetches = deps.fetches ?? createLinkFetches({ store: createMemoryLinkFetchStore(), now });
  app.disable('x-powered-by');
  app.disable('etag'); // feeds carry their own strong ETag; JSON answers need none
  app.set('query parser', 'simple');
  if (deps.trustProxy) app.set('trust proxy', deps.trustProxy);

  const requestLog = createRequestLog(deps.logger, deps.metrics);
  // Feeds first, ahead of every middleware: they are nearly every request, and each layer or listener on the way
  // costs microseconds the warm path cannot spare. They log themselves through the same request log, and set
  // X-Content-Type-Options in header sets built once per rendered feed, so Node writes those whole.
  feedRoutes(
    {
      feeds: deps.feeds,
      tokens: deps.tokens,
      isServed: (integrationId) => deps.registry.get(integrationId) !== undefined,
      isCurrent: links.isCurrent,
      onFetch: fetches.record,
      defaultDetail: deps.defaultDetail ?? 'full',
      refreshMinutes: deps.refreshMinutes,
      record: requestLog.record,
      browser: { publicUrl: deps.publicUrl, selfService: deps.oidc !== undefined, adminPage: Boolean(deps.adminToken || deps.oidc?.adminEmails.length || deps.demo) },
    },
    app,
  );
  app.use(requestLog.middleware);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(healthRoutes({ feeds: deps.feeds, sync: deps.sync, now, demo: deps.demo ?? false, adminToken: deps.adminToken, redisHealth: deps.redisHealth }));
  if (deps.webhookSecret) {
    app.use(
      webhookRoutes({
        secret: deps.webhookSecret,
        sync: deps.sync,
        logger: deps.logger,
        metrics: deps.metrics,
        now,
        shared: deps.sharedWebhookIds,
      }),
    );
  }
  if (deps.adminToken) {
    app.use(
      adminRoutes({
        adminToken: deps.adminToken,
        tokens: deps.tokens,
        publicUrl: deps.publicUrl,
        feeds: deps.feeds,
        sync: deps.sync,
        links,
        fetches,
        metrics: deps.metrics,
        defaultDetail: deps.defaultDetail ?? 'full',
      }),
    );
  }
  // The pages (admin page and /me) share one session table, one cookie and one set of cross-site defences.
  if (deps.adminToken || deps.oidc || deps.demo) {
    const pages = createPages({
      publicUrl: deps.publicUrl,
      sessionTtlMs: deps.sessionMs ?? DEFAULT_SESSION_MS,
      now,
      redis: deps.redis,
      onStoreDown: (error) => deps.logger.warn({ err: error.cause }, 'the sign-in store (Redis) did not answer; the page asked the person to try again'),
    });
    const defaultDetail = deps.defaultDetail ?? 'full';
    if (deps.oidc) {
      app.use(
        meRoutes({
          pages,
          signIn: createOidcSignIn({ ...deps.oidc, redirectUri: `${deps.publicUrl}/auth/callback`, now, redis: deps.redis }),
          adminEmails: deps.oidc.adminEmails,
          publicUrl: deps.publicUrl,
          tokens: deps.tokens,
          feeds: deps.feeds,
          sync: deps.sync,
          links,
          defaultDetail,
          now,
          onSignInError: (error) => deps.logger.warn({ err: error.cause ?? error, reason: error.message }, 'a sign-in with the identity provider failed'),
        }),
      );
    }
    app.use(
      adminPageRoutes({
        pages,
        adminToken: deps.adminToken,
        oidcSignIn: deps.oidc !== undefined && deps.oidc.adminEmails.length > 0,
        demo: deps.demo ?? false,
        tokens: deps.tokens,
        publicUrl: deps.publicUrl,
        feeds: deps.feeds,
        sync: deps.sync,
        defaultDetail,
        now,
        links,
        fetches,
      }),
    );
  }

  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND_BODY);
  });

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (!res.headersSent) res.setHeader('X-Content-Type-Options', 'nosniff'); // the feed route runs before that middleware
    // A path Express cannot percent-decode (a mangled feed URL) is a path we do not serve: the one 404 every unknown
    // path and token gets, never a 400 that tells a malformed token apart or echoes it.
    if (error instanceof URIError && !res.headersSent) return void res.status(404).json(NOT_FOUND_BODY);
    // Replica mode with Redis away or silent: the caller may try again (adds, removals and revocations are safe to repeat).
    if (error instanceof StoreUnavailableError && !res.headersSent) {
      deps.logger.warn({ method: req.method, route: req.route?.path ? String(req.route.path) : 'unmatched', reason: error.message }, 'request refused: Redis unavailable');
      // A write that timed out may still land when Redis wakes: the message does not promise it did not.
      return void res
        .status(503)
        .set('Retry-After', '5')
        .json({ error: 'unavailable', message: 'The shared store (Redis) is unavailable or did not answer in time. Try again shortly; a change that timed out may still have been saved.' });
    }
    const status =
      error instanceof HttpError
        ? error.status
        : typeof (error as { status?: unknown }).status === 'number'
          ? (error as { status: number }).status
          : 500;
    const route = req.route?.path ? String(req.route.path) : 'unmatched';
    if (status >= 500) deps.logger.error({ err: error, method: req.method, route }, 'request failed');
    // Only our own messages are logged: Express's (a path that fails to decode) quote the URL, feed token and all.
    else deps.logger.debug({ method: req.method, route, status, reason: error instanceof HttpError ? error.message : (error as Error).name }, 'request refused');
    if (res.headersSent) return res.end();
    if (error instanceof HttpError) res.set(error.headers);
    // Below 500 the message helps the caller; at 500 and above it could leak internals, so it stays in the log.
    const message = status < 500 && error instanceof Error ? error.message : 'Internal server error';
    res.status(status).json({ error: status < 500 ? 'bad_request' : 'internal_error', message });
  };
  app.use(errorHandler);
  return app;
}
