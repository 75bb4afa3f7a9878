import { Router, type Request, type Response } from 'express';
import type { FeedService } from '../../feeds/feed-service.js';
import type { LinkGenerations } from '../../feeds/link-generations.js';
import { INTEGRATION_STATUSES, type SyncScheduler } from '../../sync/sync-scheduler.js';
import type { StoreHealth } from '../../state/state-bundle.js';
import { integrationProblem, type IntegrationProblem } from '../../sync/integration-problem.js';
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
  /** Whether the revocations held here were confirmed with a shared store lately (shown only where there is one). */
  revocations?: Pick<LinkGenerations, 'confirmed' | 'confirmedAtMs'>;
}

/** Integrations /healthz names among its problems (admin token); past this it counts them only, so the answer stays small. */
export const PROBLEMS_LISTED = 20;

/** How many problems there are of each reason, in the order first seen. */
function problemCounts(problems: readonly IntegrationProblem[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { reason } of problems) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return counts;
}

/**
 * /healthz (the process runs; JSON about the snapshots and the walks, summarised so a thousand integrations make no
 * longer answer than one; `status` is `degraded` while any integration has a problem, see integrationProblem) and
 * /readyz (every integration has a snapshot or has settled, and at least one serves a snapshot). /healthz is public,
 * so it shows states, kinds, ages and counts only: why the last refresh failed is upstream text (Kombo's host and
 * port, its messages), shown only to a request with the admin bearer token.
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

  /** Shared revocations: whether they are confirmed (feeds answer 503 while not), and when they last were. */
  const revocations = () => {
    const at = options.revocations?.confirmedAtMs();
    if (at === undefined) return {};
    return { revocations: { confirmed: options.revocations!.confirmed(), confirmedAt: at > 0 ? new Date(at).toISOString() : null } };
  };

  router.get('/healthz', async (req, res) => {
    const admin = await isAdmin(req, res);
    if (admin === undefined) return;
    const integrations = options.sync.list();
    const byStatus = Object.fromEntries(INTEGRATION_STATUSES.map((status) => [status, 0]));
    let stalest: number | undefined;
    let interviews = 0;
    let interviewers = 0;
    const problems: IntegrationProblem[] = [];
    for (const integration of integrations) {
      byStatus[integration.status()]!++;
      const problem = integrationProblem(integration);
      if (problem !== undefined) problems.push(problem);
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
    problems.sort((a, b) => (a.integration < b.integration ? -1 : 1));
    res.set('Cache-Control', 'no-store').json({
      status: problems.length > 0 ? 'degraded' : 'ok',
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
      // How many integrations need an operator, by kind (authentication, not_found, unreachable, held…); which ones
      // (a customer's id names the customer) only with the admin token.
      problems: {
        total: problems.length,
        byReason: Object.fromEntries(problemCounts(problems)),
        ...(admin ? { integrations: problems.slice(0, PROBLEMS_LISTED) } : {}),
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
            lastFailure: failure ? (admin ? failure : { at: failure.at, kind: failure.kind, reason: failure.reason }) : null,
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
