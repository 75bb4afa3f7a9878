import type { KomboError } from './kombo-error.js';

/** When and how long to retry a Kombo request: plain data, so it can be read, logged and set by tests. */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff; each retry doubles it, with full jitter. */
  baseDelayMs: number;
  /** No single wait is longer than this, whatever `Retry-After` asks. */
  maxDelayMs: number;
  /**
   * A request gives up once its next wait would end this long after its first attempt began, and a retry's timeout
   * is cut to what is left of it: so a request that keeps failing ends within about this long.
   */
  budgetMs: number;
  /** HTTP statuses retried when Kombo gives no error code (any 5xx is retried too). */
  retryStatuses: readonly number[];
  /** Kombo error codes that are retried whatever the status (Kombo's error docs name these). */
  retryCodes: readonly string[];
  /** Kombo error codes that are never retried whatever the status: retrying cannot fix them. */
  fatalCodes: readonly string[];
}

/** The defaults: about a minute per request at most, five attempts. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 20_000,
  budgetMs: 60_000,
  retryStatuses: [408, 429],
  retryCodes: [
    'PLATFORM.RATE_LIMIT_EXCEEDED',
    'PLATFORM.CONCURRENCY_LIMIT_EXCEEDED',
    'REMOTE.RATE_LIMIT_EXCEEDED',
    'REMOTE.SERVICE_UNAVAILABLE',
  ],
  fatalCodes: [
    'PLATFORM.AUTHENTICATION_INVALID',
    'PLATFORM.INTEGRATION_NOT_FOUND',
    'PLATFORM.IP_NOT_WHITELISTED',
    'PLATFORM.INPUT_INVALID',
    'INTEGRATION.AUTHENTICATION_INVALID',
    'INTEGRATION.PERMISSION_MISSING',
    'INTEGRATION.INACTIVE',
    // The customer has not finished connecting their ATS: minutes away at best, asked again on the schedule.
    'INTEGRATION.SETUP_SYNC_PENDING',
    'INTEGRATION.SETUP_INCOMPLETE',
    'INTEGRATION.MODEL_NOT_AVAILABLE',
    'INTEGRATION.MODEL_DISABLED',
  ],
};

/** Whether `error` is worth another attempt under `policy`. */
export function isRetryable(error: KomboError, policy: RetryPolicy): boolean {
  switch (error.kind) {
    case 'network':
    case 'timeout':
    case 'invalid_json': // a truncated body from a proxy is transient more often than not
      return true;
    case 'http': {
      if (error.code !== undefined) {
        if (policy.retryCodes.includes(error.code)) return true;
        if (policy.fatalCodes.includes(error.code)) return false;
      }
      const status = error.status ?? 0;
      return status >= 500 || policy.retryStatuses.includes(status);
    }
    case 'too_large': // the same page would be as large again: retrying only downloads it again
    case 'over_budget':
    default:
      return false;
  }
}

/** Exponential backoff with full jitter for the wait after attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds from `now`; undefined when absent or bad. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // RFC 9110 §5.6.7: every HTTP-date form opens with a day name. Date.parse alone would read "-5" or "1.5" as dates.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/i.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
