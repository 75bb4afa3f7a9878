import { Router } from 'express';
import type { FeedService } from '../../feeds/feed-service.js';
import type { SyncEngine } from '../../sync/sync-engine.js';

/** /healthz (the process runs; JSON about the snapshot and the sync) and /readyz (a snapshot is loaded). */
export function healthRoutes(options: { feeds: FeedService; sync: SyncEngine; now: () => number; demo: boolean }): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    const snapshot = options.feeds.snapshot();
    const sync = options.sync.status();
    res.set('Cache-Control', 'no-store').json({
      status: 'ok',
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
      sync: { ...sync, lastSuccess: sync.lastSuccess ?? null, lastFailure: sync.lastFailure ?? null },
    });
  });

  router.get('/readyz', (_req, res) => {
    const ready = options.feeds.snapshot() !== undefined;
    res.set('Cache-Control', 'no-store').status(ready ? 200 : 503).json({ ready });
  });

  return router;
}
