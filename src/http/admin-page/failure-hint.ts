import type { FailureReason } from '../../sync/failure-reason.js';

const HINTS: Record<FailureReason, string> = {
  authentication: 'Kombo refused the credentials: check KOMBO_API_KEY (or the customer reconnects their ATS in Kombo).',
  not_found: 'Kombo knows no integration of this id: a mistyped or deleted id. Remove it here, and from KOMBO_INTEGRATION_IDS.',
  unreachable: 'Kombo did not answer (a timeout, a network error or a 5xx): it is tried again.',
  rate_limited: 'Kombo limited the requests: it is tried again later.',
  rejected: 'Kombo refused the request.',
  invalid_response: 'Kombo sent an answer that could not be read, or one past a bound.',
  over_budget: 'The walk read more than its budget (KOMBO_WALK_MAX_RECORDS, KOMBO_WALK_MAX_MB).',
  inactive: 'Kombo says the integration is inactive.',
  setup_pending: 'The customer has not finished connecting their ATS in Kombo: asked again every 5 minutes.',
  other: 'The walk failed.',
};

/** What a failed walk's kind means and what to do about it, as the admin page says it. */
export const failureHint = (reason: FailureReason | null) => (reason === null ? null : HINTS[reason]);
