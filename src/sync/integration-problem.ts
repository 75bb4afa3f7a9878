import type { FailureReason } from './failure-reason.js';
import type { ServedIntegration } from './integration-runner.js';

/**
 * Walks failed in a row, with a snapshot still serving, after which an integration counts as failing for /healthz:
 * one failed refresh is a blip the next one usually heals; three (fifteen minutes at the default interval) is a fault.
 * Without a snapshot, one failure is enough: its feeds answer 503 until a walk succeeds.
 */
export const FAILURES_BEFORE_DEGRADED = 3;

/** Why an integration makes /healthz say `degraded`: how its walks fail, `held` (a mass removal), or `paused` without a snapshot. */
export type ProblemReason = FailureReason | 'held' | 'paused';

/** An integration that needs an operator: what /healthz lists (states and kinds only, never upstream text). */
export interface IntegrationProblem {
  readonly integration: string;
  readonly status: ReturnType<ServedIntegration['status']>;
  readonly reason: ProblemReason;
  /** Whether it still serves a snapshot (false: its feeds answer 503). */
  readonly snapshot: boolean;
  readonly consecutiveFailures: number;
}

/**
 * What is wrong with `integration`, or undefined when nothing an operator must act on is: a held mass removal; no
 * snapshot after a failed walk (or paused before its first); or {@link FAILURES_BEFORE_DEGRADED} failed walks in a
 * row. Starting (no walk ended yet) and pending (the customer has not finished connecting) are no problem.
 */
export function integrationProblem(integration: Pick<ServedIntegration, 'id' | 'status'> & { engine: Pick<ServedIntegration['engine'], 'status' | 'hasSnapshot'> }): IntegrationProblem | undefined {
  const sync = integration.engine.status();
  const status = integration.status();
  const snapshot = integration.engine.hasSnapshot();
  const problem = (reason: ProblemReason): IntegrationProblem => ({ integration: integration.id, status, reason, snapshot, consecutiveFailures: sync.consecutiveFailures });
  if (sync.held !== null) return problem('held');
  if (status === 'paused') return snapshot ? undefined : problem('paused');
  if (status !== 'failing' || sync.lastFailure === undefined) return undefined;
  if (snapshot && sync.consecutiveFailures < FAILURES_BEFORE_DEGRADED) return undefined;
  return problem(sync.lastFailure.reason);
}
