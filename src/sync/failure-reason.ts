import { KomboError } from '../kombo/kombo-error.js';
import { SETUP_PENDING_CODES } from './setup-pending.js';

/**
 * What kind of failure ended a walk, in words an operator acts on and safe to show publicly (no upstream text):
 * `authentication` (the API key, or the customer's ATS credentials, refused), `not_found` (Kombo knows no such
 * integration: a mistyped or deleted id), `unreachable` (no answer, a timeout, a 5xx), `rate_limited`, `rejected`
 * (another 4xx), `invalid_response` (an answer we could not read, or past a bound), `over_budget`, `inactive`,
 * `setup_pending` (the customer has not finished connecting), `other`.
 */
export type FailureReason =
  | 'authentication'
  | 'not_found'
  | 'unreachable'
  | 'rate_limited'
  | 'rejected'
  | 'invalid_response'
  | 'over_budget'
  | 'inactive'
  | 'setup_pending'
  | 'other';

/** Kombo's error codes that say more than the status does (its error-handling guide: branch on the code). */
const BY_CODE: ReadonlyMap<string, FailureReason> = new Map([
  ['PLATFORM.AUTHENTICATION_INVALID', 'authentication'],
  ['PLATFORM.IP_NOT_WHITELISTED', 'authentication'],
  ['INTEGRATION.AUTHENTICATION_INVALID', 'authentication'],
  ['INTEGRATION.PERMISSION_MISSING', 'authentication'],
  ['PLATFORM.INTEGRATION_NOT_FOUND', 'not_found'],
  ['PLATFORM.RATE_LIMIT_EXCEEDED', 'rate_limited'],
  ['PLATFORM.CONCURRENCY_LIMIT_EXCEEDED', 'rate_limited'],
  ['PLATFORM.TASK_TIMED_OUT', 'unreachable'],
  ['INTEGRATION.INACTIVE', 'inactive'],
  ...[...SETUP_PENDING_CODES].map((code) => [code, 'setup_pending'] as const),
]);

/** The {@link FailureReason} of a walk's error: by Kombo's code, else its status, else how the request failed. */
export function failureReason(error: unknown): FailureReason {
  if (!(error instanceof KomboError)) return 'other';
  const byCode = error.code === undefined ? undefined : BY_CODE.get(error.code);
  if (byCode !== undefined) return byCode;
  const { status } = error;
  if (status === 401 || status === 403) return 'authentication';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 408 || (status !== undefined && status >= 500)) return 'unreachable';
  if (status !== undefined && status >= 400) return 'rejected';
  switch (error.kind) {
    case 'network':
    case 'timeout':
      return 'unreachable';
    case 'invalid_json':
    case 'invalid_response':
    case 'pagination':
    case 'too_large':
      return 'invalid_response';
    case 'over_budget':
      return 'over_budget';
    default:
      return 'other';
  }
}
