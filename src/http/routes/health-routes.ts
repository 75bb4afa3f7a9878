import { Router, type Request } from 'express';
import type { FeedService } from '../../feeds/feed-service.js';
import type { SyncEngine } from '../../sync/sync-engine.js';
import { secureEqual } from '../secure-equal.js';

/**
 * /healthz (the process runs; JSON about the snapshot and the sync) and /readyz (a snapshot is loaded). /healthz is
 * public, so it shows states, ages and counts only: why the last refresh failed is upstream text (Kombo's host and
 * port, its messages), shown only to a request with the admin bearer token.
 */
export function healthRoutes(options: {
  feeds: FeedService;
  sync: SyncEngine;
  now: () => number;
  demo: boolean;
  adminToken?: string | undefined;
}): Router {
  const router = Router();
  const isAdmin = (req: Request) => {
    const match = options.adminToken ? /^Bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '') : null;
    return match?.[1] !== undefined && secureEqual(match[1], options.adminToken!);
  };

  router.get('/healthz', (req, res) => {
    const snapshot = options.feeds.snapshot();
    const sync = options.sync.status();
    const failure = sync.lastFailure;
    res.set('Cache-Control', 'no-store').json({
      status: 'ok',
      ready: snapshot !== undefined,
      demo: options.demo,
      snapshot: snapshot
        ? {
            interviews: snapshot.size,
            interviewers: snapshot.byEmail.size,
            syncedAt: new Date(snapshot.data.syncedAtMs).toISOString(),
            fullSyncedAt: new Date(snapshot.data.fullSyncedAtMs).toISOString(),
            ageSeconds: Math.round((options.now() - snapshot.data.syncedAtMs) / 1000),
            cachedFeeds: options.feeds.cachedFeeds(),
          }
        : null,
      // Every key present from the start, null until known: a dashboard reads the same shape before the first walk.
      sync: {
        ...sync,
        lastSuccess: sync.lastSuccess ?? null,
        lastFailure: failure ? (isAdmin(req) ? failure : { at: failure.at, kind: failure.kind }) : null,
      },
    });
  });

  router.get('/readyz', (_req, res) => {
    const ready = options.feeds.snapshot() !== undefined;
    res.set('Cache-Control', 'no-store').status(ready ? 200 : 503).json({ ready });
  });

  return router;
}
