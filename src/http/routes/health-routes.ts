import { Router, type Request, type Response } from 'express';
import type { FeedService } from '../../feeds/feed-service.js';
import { INTEGRATION_STATUSES, type SyncScheduler } from '../../sync/sync-scheduler.js';
import type { StoreHealth } from '../../state/state-bundle.js';
import { clientAddress } from '../client-address.js';
import { retryAfterSeconds, type SecretLimiter } from '../limits/secret-limiter.js';
import { bearerToken } from '../require-admin.js';

/** What the health routes read. */
export interface HealthRouteOptions {
  feeds: FeedService;
  sync: SyncScheduler;
  now: () => number;
  demo: boolean;
  adminToken?: string | undefined;
  /** The limiter every door that checks a secret shares: a bearer token here is one more guess. */
  limiter: SecretLimiter;
  /** Where a shared store stands, under its name. Down, feeds serve on from memory and /readyz is unchanged. */
  storeHealth: StoreHealth | undefined;
}

/**
 * /healthz (the process runs; JSON about the snapshots and the walks, summarised so a thousand integrations make no
 * longer answer than one) and /readyz (every integration has a snapshot or has settled). /healthz is public, so it
 * shows states, ages and counts only: why the last refresh failed is upstream text (Kombo's host and port, its
 * messages), shown only to a request with the admin bearer token.
 */
export function healthRoutes(options: HealthRouteOptions): Router {
  const router = Router();
  /** Whether the request carries the admin token; undefined once a 429 is answered (a client over the limit). */
  async function isAdmin(req: Request, res: Response): Promise<boolean | undefined> {
    const token = options.adminToken === undefined ? undefined : bearerToken(req);
    if (token === undefined) return false;
    const checked = await options.limiter.check(clientAddress(req), token, options.adminToken);
    if (checked.result !== 'refused') return checked.result === 'right';
    const seconds = retryAfterSeconds(checked.retryAfterMs);
    res.status(429).set({ 'Retry-After': String(seconds), 'Cache-Control': 'no-store' }).json({ error: 'too_many_requests', message: `Too many wrong admin tokens. Try again in ${seconds} seconds.` });
    return undefined;
  }

  router.get('/healthz', async (req, res) => {
    const admin = await isAdmin(req, res);
    if (admin === undefined) return;
    const integrations = options.sync.list();
    const byStatus = Object.fromEntries(INTEGRATION_STATUSES.map((status) => [status, 0]));
    let stalest: number | undefined;
    let interviews = 0;
    let interviewers = 0;
    for (const integration of integrations) {
      byStatus[integration.status()]!++;
      const snapshot = options.feeds.snapshot(integration.id);
      if (snapshot === undefined) continue;
      interviews += snapshot.size;
      interviewers += snapshot.byEmail.size;
      stalest = Math.min(stalest ?? Infinity, snapshot.data.syncedAtMs);
    }
    // With one integration, the shape this route always had: its snapshot and its walks.
    const only = options.sync.resolve(undefined);
    const snapshot = only ? options.feeds.snapshot(only.id) : undefined;
    const sync = only?.engine.status();
    const failure = sync?.lastFailure;
    res.set('Cache-Control', 'no-store').json({
      status: 'ok',
      demo: options.demo,
      ready: options.sync.ready(),
      ...(options.storeHealth ? { [options.storeHealth.name]: options.storeHealth.health() } : {}),
      integrations: {
        total: integrations.length,
        byStatus,
        interviews,
        interviewers,
        stalestSyncedAt: stalest === undefined ? null : new Date(stalest).toISOString(),
        stalestAgeSeconds: stalest === undefined ? null : Math.round((options.now() - stalest) / 1000),
        cachedFeeds: options.feeds.cachedFeeds(),
      },
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
      sync: sync
        ? {
            ...sync,
            lastSuccess: sync.lastSuccess ?? null,
            lastFailure: failure ? (admin ? failure : { at: failure.at, kind: failure.kind }) : null,
          }
        : null,
    });
  });

  router.get('/readyz', (_req, res) => {
    const ready = options.sync.ready();
    res.set('Cache-Control', 'no-store').status(ready ? 200 : 503).json({ ready });
  });

  return router;
}
