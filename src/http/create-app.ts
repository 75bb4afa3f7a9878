import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { FeedService } from '../feeds/feed-service.js';
import type { FeedTokens } from '../feeds/feed-token.js';
import type { LinkFetches } from '../feeds/link-fetches.js';
import type { LinkGenerations } from '../feeds/link-generations.js';
import type { Metrics } from '../metrics.js';
import type { IntegrationRegistry } from '../integrations/integration-registry.js';
import type { StateBundle } from '../state/state-bundle.js';
import type { SyncScheduler } from '../sync/sync-scheduler.js';
import { HttpError, NOT_FOUND_BODY } from './http-error.js';
import { createRequestLog } from './request-log.js';
import { createPages } from './admin-page/create-pages.js';
import { createSessionGrants } from './admin-page/session-grants.js';
import { createResetLimit } from './limits/reset-limit.js';
import { createSecretLimiter } from './limits/secret-limiter.js';
import { createOidcSignIn } from './oidc/oidc-sign-in.js';
import { adminPageOffRoutes } from './routes/admin-page-off-routes.js';
import { adminPageRoutes } from './routes/admin-page-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { feedRoutes } from './routes/feed-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { meRoutes } from './routes/me-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';

/** The settings the app reads, as loadConfig gives them (a whole Config will do). */
export type AppConfig = Pick<Config, 'publicUrl' | 'feedRefreshMinutes' | 'feedDefaultDetail' | 'adminToken' | 'sessionMs' | 'oidc' | 'demo' | 'trustProxy'> & {
  kombo: Pick<Config['kombo'], 'webhookSecret'>;
};

/** Where the pages, the webhook route and /healthz keep their state: the service's state bundle, or a part of one. */
export type AppState = Pick<StateBundle, 'sessions' | 'pendingSignIns' | 'webhookIds' | 'counters' | 'health'>;

/** Everything the HTTP app is built from; tests pass fakes or real pieces over loopback. */
export interface AppDeps {
  feeds: FeedService;
  sync: SyncScheduler;
  registry: IntegrationRegistry;
  tokens: FeedTokens;
  /** Revoked links. */
  links: LinkGenerations;
  /** Who fetched their link last, and with which calendar. */
  fetches: LinkFetches;
  logger: Logger;
  metrics: Metrics;
  config: AppConfig;
  state: AppState;
  now: () => number;
}

/** Builds the Express app. It never listens: the server entry does (and tests use supertest). */
export function createApp(deps: AppDeps): Express {
  const { config, links, fetches, now } = deps;
  const defaultDetail = config.feedDefaultDetail;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // feeds carry their own strong ETag; JSON answers need none
  app.set('query parser', 'simple');
  if (config.trustProxy) app.set('trust proxy', config.trustProxy);

  // One limiter for every door that checks a secret: five wrong tokens anywhere close them all to that client.
  const limiter = createSecretLimiter({ counters: deps.state.counters, now });
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
      revocationsConfirmed: links.confirmed,
      confirmRevocations: links.confirm,
      onFetch: fetches.record,
      defaultDetail,
      refreshMinutes: config.feedRefreshMinutes,
      record: requestLog.record,
      browser: { publicUrl: config.publicUrl, selfService: config.oidc !== undefined, adminPage: Boolean(config.adminToken || config.oidc?.adminEmails.length || config.demo) },
    },
    app,
  );
  app.use(requestLog.middleware);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(healthRoutes({ feeds: deps.feeds, sync: deps.sync, now, demo: config.demo, adminToken: config.adminToken, limiter, storeHealth: deps.state.health, revocations: links }));
  if (config.kombo.webhookSecret) {
    app.use(
      webhookRoutes({
        secret: config.kombo.webhookSecret,
        sync: deps.sync,
        logger: deps.logger,
        metrics: deps.metrics,
        ids: deps.state.webhookIds({ now }),
      }),
    );
  }
  if (config.adminToken) {
    app.use(
      adminRoutes({
        adminToken: config.adminToken,
        limiter,
        tokens: deps.tokens,
        publicUrl: config.publicUrl,
        feeds: deps.feeds,
        sync: deps.sync,
        links,
        fetches,
        metrics: deps.metrics,
        defaultDetail,
      }),
    );
  }
  // The pages (admin page and /me) share one session table, one cookie and one set of cross-site defences.
  if (config.adminToken || config.oidc || config.demo) {
    const pages = createPages({
      publicUrl: config.publicUrl,
      sessionTtlMs: config.sessionMs,
      sessions: deps.state.sessions({ ttlMs: config.sessionMs, now }),
      grants: createSessionGrants({ adminToken: config.adminToken, adminEmails: config.oidc?.adminEmails ?? [], demo: config.demo }),
      onStoreDown: (error) => deps.logger.warn({ err: error.cause }, 'the sign-in store (Redis) did not answer; the page asked the person to try again'),
      onCrossSite: (refusal) => deps.logger.warn({ crossSite: refusal }, `a form was refused as cross-site: ${refusal.header} was ${refusal.value}`),
    });
    if (config.oidc) {
      app.use(
        meRoutes({
          pages,
          signIn: createOidcSignIn({ ...config.oidc, redirectUri: `${config.publicUrl}/auth/callback`, now, pending: deps.state.pendingSignIns() }),
          publicUrl: config.publicUrl,
          tokens: deps.tokens,
          feeds: deps.feeds,
          sync: deps.sync,
          links,
          resetLimit: createResetLimit({ counters: deps.state.counters, now }),
          defaultDetail,
          now,
          onSignInError: (error) => deps.logger.warn({ err: error.cause ?? error, reason: error.message }, 'a sign-in with the identity provider failed'),
        }),
      );
    }
    app.use(
      adminPageRoutes({
        pages,
        adminToken: config.adminToken,
        oidcSignIn: config.oidc !== undefined && config.oidc.adminEmails.length > 0,
        demo: config.demo,
        limiter,
        tokens: deps.tokens,
        publicUrl: config.publicUrl,
        feeds: deps.feeds,
        sync: deps.sync,
        defaultDetail,
        now,
        links,
        fetches,
      }),
    );
  } else app.use(adminPageOffRoutes({ publicUrl: config.publicUrl }));

  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND_BODY);
  });

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (!res.headersSent) res.setHeader('X-Content-Type-Options', 'nosniff'); // the feed route runs before that middleware
    // A path Express cannot percent-decode (a mangled feed URL) is a path we do not serve: the one 404 every unknown
    // path and token gets, never a 400 that tells a malformed token apart or echoes it.
    if (error instanceof URIError && !res.headersSent) return void res.status(404).json(NOT_FOUND_BODY);
    // A shared store away or silent: the caller may try again (adds, removals and revocations are safe to repeat).
    if (error instanceof StoreUnavailableError && !res.headersSent) {
      deps.logger.warn({ method: req.method, route: req.route?.path ? String(req.route.path) : 'unmatched', reason: error.message }, 'request refused: Redis unavailable');
      // A write that timed out may still land when the store wakes: the message does not promise it did not.
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
    res.status(status).json({ error: status === 429 ? 'too_many_requests' : status < 500 ? 'bad_request' : 'internal_error', message });
  };
  app.use(errorHandler);
  return app;
}
