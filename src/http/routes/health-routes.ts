import { Router, type Request } from 'express';
import type { FeedService } from '../../feeds/feed-service.js';
import type { LinkGenerations } from '../../feeds/link-generations.js';
import { INTEGRATION_STATUSES, type SyncScheduler } from '../../sync/sync-scheduler.js';
import type { StoreHealth } from '../../state/state-bundle.js';
import { secureEqual } from '../secure-equal.js';

/** What the health routes read. */
export interface HealthRouteOptions {
  feeds: FeedService;
  sync: SyncScheduler;
  now: () => number;
  demo: boolean;
  adminToken?: string | undefined;
  /** Where a shared store stands, under its name. Down, feeds serve on from memory and /readyz is unchanged. */
  storeHealth: StoreHealth | undefined;
  /** Whether the revocations held here were confirmed with a shared store lately (shown only where there is one). */
  revocations?: Pick<LinkGenerations, 'confirmed' | 'confirmedAtMs'>;
}

/**
 * /healthz (the process runs; JSON about the snapshots and the walks, summarised so a thousand integrations make no
 * longer answer than one) and /readyz (every integration has a snapshot or has settled). /healthz is public, so it
 * shows states, ages and counts only: why the last refresh failed is upstream text (Kombo's host and port, its
 * messages), shown only to a request with the admin bearer token.
 */
export function healthRoutes(options: HealthRouteOptions): Router {
  const router = Router();
  const isAdmin = (req: Request) => {
    const match = options.adminToken ? /^Bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '') : null;
    return match?.[1] !== undefined && secureEqual(match[1], options.adminToken!);
  };

  /** Shared revocations: whether they are confirmed (feeds answer 503 while not), and when they last were. */
  const revocations = () => {
    const at = options.revocations?.confirmedAtMs();
    if (at === undefined) return {};
    return { revocations: { confirmed: options.revocations!.confirmed(), confirmedAt: at > 0 ? new Date(at).toISOString() : null } };
  };

  router.get('/healthz', (req, res) => {
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
      ...revocations(),
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
            lastFailure: failure ? (isAdmin(req) ? failure : { at: failure.at, kind: failure.kind }) : null,
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
