import { hash } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { FeedService } from '../feeds/feed-service.js';
import type { FeedTokens } from '../feeds/feed-token.js';
import { flatLineLogger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import { HttpError, NOT_FOUND_BODY } from './http-error.js';
import { adminRoutes } from './routes/admin-routes.js';
import { feedRoutes } from './routes/feed-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';

/** Everything the HTTP app is built from; tests pass fakes or real pieces over loopback. */
export interface AppDeps {
  feeds: FeedService;
  sync: SyncEngine;
  tokens: FeedTokens;
  logger: Logger;
  metrics: Metrics;
  integrationId: string;
  publicUrl: string;
  refreshMinutes: number;
  adminToken?: string | undefined;
  webhookSecret?: string | undefined;
  demo?: boolean;
  now?: () => number;
}

/** One JSON line per request: method, route pattern (never the URL: it holds feed tokens), status, duration. */
function requestLog(parent: Logger, metrics: Metrics): RequestHandler {
  const logger = flatLineLogger(parent); // every field below is flat
  // The short name of each feed token seen, so the warm path hashes nothing; only tokens that decoded get here.
  const feedNames = new Map<string, string>();
  const feedName = (token: string) => {
    let name = feedNames.get(token);
    if (name === undefined) {
      if (feedNames.size >= 10_000) feedNames.clear();
      feedNames.set(token, (name = hash('sha256', token, 'base64url').slice(0, 10)));
    }
    return name;
  };
  // prom-client hashes a label set on every call; its labelled children hash once. Methods, route patterns and
  // statuses are few, so this stays small (and is emptied if it ever is not).
  const counters = new Map<string, { requests: { inc(): void }; duration: { observe(value: number): void } }>();
  const countersFor = (method: string, route: string, status: number) => {
    const key = `${method} ${route} ${status}`;
    let counted = counters.get(key);
    if (counted === undefined) {
      if (counters.size >= 1_000) counters.clear();
      counted = { requests: metrics.httpRequests.labels({ method, route, status }), duration: metrics.httpDuration.labels({ method, route }) };
      counters.set(key, counted);
    }
    return counted;
  };
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // 'close' rather than 'finish': a request whose client went away before the answer is logged too.
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const feedToken = res.locals.feedToken as string | undefined;
      const counted = countersFor(req.method, route, res.statusCode);
      counted.requests.inc();
      counted.duration.observe(seconds);
      logger.info(
        {
          method: req.method,
          route,
          status: res.statusCode,
          durationMs: Math.round(seconds * 1e5) / 100,
          ...(res.writableFinished ? {} : { aborted: true }),
          // A short, one-way name for the feed, so one subscriber's requests can be followed without the token.
          ...(feedToken ? { feed: feedName(feedToken) } : {}),
        },
        'request',
      );
    });
    next();
  };
}

/** Builds the Express app. It never listens: the server entry does (and tests use supertest). */
export function createApp(deps: AppDeps): Express {
  const now = deps.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // feeds carry their own strong ETag; JSON answers need none
  app.set('query parser', 'simple');

  app.use(requestLog(deps.logger, deps.metrics));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  // Feeds first: they are nearly every request, and each router passed on the way costs a few microseconds.
  feedRoutes({ feeds: deps.feeds, tokens: deps.tokens, integrationId: deps.integrationId, refreshMinutes: deps.refreshMinutes }, app);
  app.use(healthRoutes({ feeds: deps.feeds, sync: deps.sync, now, demo: deps.demo ?? false }));
  if (deps.webhookSecret) {
    app.use(
      webhookRoutes({
        secret: deps.webhookSecret,
        integrationId: deps.integrationId,
        sync: deps.sync,
        logger: deps.logger,
        metrics: deps.metrics,
      }),
    );
  }
  if (deps.adminToken) {
    app.use(
      adminRoutes({
        adminToken: deps.adminToken,
        tokens: deps.tokens,
        integrationId: deps.integrationId,
        publicUrl: deps.publicUrl,
        feeds: deps.feeds,
        sync: deps.sync,
        metrics: deps.metrics,
      }),
    );
  }

  app.use((_req, res) => {
    res.status(404).json(NOT_FOUND_BODY);
  });

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    // A path Express cannot percent-decode (a mangled feed URL) is a path we do not serve: the one 404 every unknown
    // path and token gets, never a 400 that tells a malformed token apart or echoes it.
    if (error instanceof URIError && !res.headersSent) return void res.status(404).json(NOT_FOUND_BODY);
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
