import { describe, expect, it } from 'vitest';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, parseRetryAfter } from '../../src/kombo/retry-policy.js';

const http = (status: number, code?: string) => new KomboError(`Kombo answered ${status}`, { kind: 'http', status, code });

describe('isRetryable (DEFAULT_RETRY_POLICY)', () => {
  const policy = DEFAULT_RETRY_POLICY;

  it('retries network errors, timeouts and truncated JSON', () => {
    for (const kind of ['network', 'timeout', 'invalid_json'] as const) {
      expect(isRetryable(new KomboError(kind, { kind }), policy), kind).toBe(true);
    }
  });

  it('never retries a broken envelope, a pagination loop or our own abort', () => {
    for (const kind of ['invalid_response', 'pagination', 'aborted'] as const) {
      expect(isRetryable(new KomboError(kind, { kind }), policy), kind).toBe(false);
    }
  });

  it('retries 408, 429 and every 5xx, and no other status', () => {
    for (const status of [408, 429, 500, 502, 503, 504, 599]) expect(isRetryable(http(status), policy), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 410, 422]) expect(isRetryable(http(status), policy), String(status)).toBe(false);
  });

  it("branches on Kombo's error.code before the status", () => {
    // Kombo's docs: retry these whatever the status says.
    expect(isRetryable(http(400, 'REMOTE.RATE_LIMIT_EXCEEDED'), policy)).toBe(true);
    expect(isRetryable(http(400, 'PLATFORM.RATE_LIMIT_EXCEEDED'), policy)).toBe(true);
    expect(isRetryable(http(424, 'REMOTE.SERVICE_UNAVAILABLE'), policy)).toBe(true);
    // Retrying cannot fix a bad key, even behind a 5xx.
    expect(isRetryable(http(503, 'PLATFORM.AUTHENTICATION_INVALID'), policy)).toBe(false);
    expect(isRetryable(http(500, 'INTEGRATION.PERMISSION_MISSING'), policy)).toBe(false);
    // An unknown code falls back to the status.
    expect(isRetryable(http(503, 'SOMETHING.NEW'), policy)).toBe(true);
    expect(isRetryable(http(400, 'SOMETHING.NEW'), policy)).toBe(false);
  });

  it('reads the policy as data: a policy without 429 does not retry it', () => {
    expect(isRetryable(http(429), { ...policy, retryStatuses: [408] })).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base with jitter in the upper half, capped at maxDelayMs', () => {
    const policy = DEFAULT_RETRY_POLICY;
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 1)).toBe(1_000);
    expect(backoffDelay(3, policy, () => 0)).toBe(2_000);
    expect(backoffDelay(3, policy, () => 1)).toBe(4_000);
    expect(backoffDelay(20, policy, () => 1)).toBe(policy.maxDelayMs);
    expect(backoffDelay(20, policy, () => 0)).toBe(policy.maxDelayMs / 2);
  });

  it('is zero with a zero base, which is how tests turn waiting off', () => {
    expect(backoffDelay(4, { ...DEFAULT_RETRY_POLICY, baseDelayMs: 0 }, Math.random)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 1, 12, 0, 0);

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date relative to now, and a past date as zero', () => {
    expect(parseRetryAfter(new Date(now + 12_000).toUTCString(), now)).toBe(12_000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(new Date(now - 60_000).toUTCString(), now)).toBe(0);
  });

  it('ignores an absent, empty or unreadable header', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});
