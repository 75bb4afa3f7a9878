import { describe, expect, it } from 'vitest';
import { KomboError, type KomboErrorKind } from '../../src/kombo/kombo-error.js';
import { failureReason } from '../../src/sync/failure-reason.js';

const http = (status: number, code?: string) => new KomboError(`Kombo answered ${status}`, { kind: 'http', status, code });
const of = (kind: KomboErrorKind) => new KomboError(kind, { kind });

describe('failureReason', () => {
  it.each([
    [http(401, 'PLATFORM.AUTHENTICATION_INVALID'), 'authentication'],
    [http(403), 'authentication'],
    [http(400, 'INTEGRATION.AUTHENTICATION_INVALID'), 'authentication'],
    [http(403, 'PLATFORM.IP_NOT_WHITELISTED'), 'authentication'],
    [http(404, 'PLATFORM.INTEGRATION_NOT_FOUND'), 'not_found'],
    [http(400, 'PLATFORM.INTEGRATION_NOT_FOUND'), 'not_found'],
    [http(404), 'not_found'],
    [http(429), 'rate_limited'],
    [http(503, 'PLATFORM.CONCURRENCY_LIMIT_EXCEEDED'), 'rate_limited'],
    [http(500), 'unreachable'],
    [http(408), 'unreachable'],
    [of('network'), 'unreachable'],
    [of('timeout'), 'unreachable'],
    [http(422), 'rejected'],
    [http(503, 'INTEGRATION.SETUP_SYNC_PENDING'), 'setup_pending'],
    [http(400, 'INTEGRATION.INACTIVE'), 'inactive'],
    [of('invalid_json'), 'invalid_response'],
    [of('too_large'), 'invalid_response'],
    [of('pagination'), 'invalid_response'],
    [of('over_budget'), 'over_budget'],
    [new Error('socket hang up'), 'other'],
    ['a string', 'other'],
  ])('%s is %s', (error, reason) => {
    expect(failureReason(error)).toBe(reason);
  });
});
