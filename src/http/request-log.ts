import { hash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { flatLineLogger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** Logs and counts requests: one JSON line each, with the route pattern (never the URL: it holds feed tokens). */
export interface RequestLog {
  /** Middleware that records every request it sees once its response closes. */
  readonly middleware: RequestHandler;
  /**
   * Records a request that is answered already, for a hot path that skips the middleware (feeds): no listener per
   * request, no extra layer. `startedNs` is `process.hrtime.bigint()` when its handling began.
   */
  record(req: Request, res: Response, route: string, startedNs: bigint, feedToken?: string): void;
}

/** Creates the {@link RequestLog} of an app. */
export function createRequestLog(parent: Logger, metrics: Metrics): RequestLog {
  const logger = flatLineLogger(parent); // every field logged below is flat
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

  function record(req: Request, res: Response, route: string, startedNs: bigint, feedToken?: string): void {
    const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
    metrics.httpRequests.inc({ method: req.method, route, status: res.statusCode });
    metrics.httpDuration.observe({ method: req.method, route }, seconds);
    // One shape for every line (absent fields undefined, which JSON leaves out): spreads would build each object
    // property by property at run time.
    logger.info(
      {
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e5) / 100,
        aborted: res.destroyed && !res.writableFinished ? true : undefined,
        // A short, one-way name for the feed, so one subscriber's requests can be followed without the token.
        feed: feedToken ? feedName(feedToken) : undefined,
      },
      'request',
    );
  }

  return {
    record,
    middleware(req, res, next) {
      const started = process.hrtime.bigint();
      // 'close' rather than 'finish': a request whose client went away before the answer is logged too.
      res.once('close', () => {
        const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        record(req, res, route, started);
      });
      next();
    },
  };
}
