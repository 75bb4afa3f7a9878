import { describe, expect, it } from 'vitest';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../../src/http/http-error.js';
import { createSecretLimiter } from '../../src/http/limits/secret-limiter.js';
import { requireAdmin } from '../../src/http/require-admin.js';
import { createMemoryCounters } from '../../src/state/expiring-counters.js';

let address = 0;
/** What the guard passes to `next` for a request with `authorization` (each from an address of its own). */
async function guard(authorization: string | undefined): Promise<unknown> {
  let passed: unknown = 'not called';
  const next: NextFunction = (error?: unknown) => {
    passed = error;
  };
  const limiter = createSecretLimiter({ counters: createMemoryCounters, now: () => 0 });
  const req = { headers: authorization === undefined ? {} : { authorization }, ip: `192.0.2.${address++}` } as Request;
  await requireAdmin('the-admin-token', limiter)(req, {} as Response, next);
  return passed;
}

describe('requireAdmin', () => {
  it('lets the admin token through, in any case of "Bearer" and with spaces around', async () => {
    expect(await guard('Bearer the-admin-token')).toBeUndefined();
    expect(await guard('  bearer   the-admin-token ')).toBeUndefined();
  });

  it('answers 401 with a challenge without credentials, and 403 with wrong ones', async () => {
    for (const missing of [undefined, '', 'Bearer', 'Basic dXNlcjpwYXNz']) {
      const error = await guard(missing);
      expect(error).toBeInstanceOf(HttpError);
      expect(error).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="admin"' } });
    }
    for (const wrong of ['Bearer the-admin-toke', 'Bearer the-admin-token2', 'Bearer THE-ADMIN-TOKEN']) {
      expect(await guard(wrong)).toMatchObject({ status: 403, message: 'Admin bearer token is wrong' });
    }
  });
});
