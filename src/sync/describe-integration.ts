import type { FeedService } from '../feeds/feed-service.js';
import type { ServedIntegration } from './sync-scheduler.js';

const iso = (ms: number | undefined | null) => (ms === undefined || ms === null ? null : new Date(ms).toISOString());

/** What describing reads of a served integration: its registry entry, its status and its engine's. */
export type DescribedIntegration = Pick<ServedIntegration, 'id' | 'entry' | 'status'> & { readonly engine: Pick<ServedIntegration['engine'], 'status'> };

/** What the admin API and the admin page say of one integration: its registry entry, its snapshot, its last walks. */
export function describeIntegration(integration: DescribedIntegration, feeds: Pick<FeedService, 'snapshot'>) {
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
    // The kind of failure (authentication, not_found, unreachable…): what to fix, in one word.
    lastErrorReason: sync.lastFailure && sync.consecutiveFailures > 0 ? sync.lastFailure.reason : null,
    consecutiveFailures: sync.consecutiveFailures,
    // A walk that would remove most interviews, held until confirmed (POST /admin/sync?full=true&confirmRemovals=true).
    held: sync.held,
  };
}
