import { describe, expect, it } from 'vitest';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../../src/http/http-error.js';
import { requireAdmin } from '../../src/http/require-admin.js';

/** What the guard passes to `next` for a request with `authorization`. */
function guard(authorization: string | undefined): unknown {
  let passed: unknown = 'not called';
  const next: NextFunction = (error?: unknown) => {
    passed = error;
  };
  requireAdmin('the-admin-token')({ headers: authorization === undefined ? {} : { authorization } } as Request, {} as Response, next);
  return passed;
}

describe('requireAdmin', () => {
  it('lets the admin token through, in any case of "Bearer" and with spaces around', () => {
    expect(guard('Bearer the-admin-token')).toBeUndefined();
    expect(guard('  bearer   the-admin-token ')).toBeUndefined();
  });

  it('answers 401 with a challenge without credentials, and 403 with wrong ones', () => {
    for (const missing of [undefined, '', 'Bearer', 'Basic dXNlcjpwYXNz']) {
      const error = guard(missing);
      expect(error).toBeInstanceOf(HttpError);
      expect(error).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="admin"' } });
    }
    for (const wrong of ['Bearer the-admin-toke', 'Bearer the-admin-token2', 'Bearer THE-ADMIN-TOKEN']) {
      expect(guard(wrong)).toMatchObject({ status: 403, message: 'Admin bearer token is wrong' });
    }
  });
});
