import type { NextFunction, Request, Response } from 'express';
import { clientAddress } from './client-address.js';
import { HttpError } from './http-error.js';
import { retryAfterSeconds, type SecretLimiter } from './limits/secret-limiter.js';

/** The token of an `Authorization: Bearer …` header (any case of "Bearer", spaces around), or undefined. */
export function bearerToken(req: Pick<Request, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  return (header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null)?.[1];
}

/**
 * Checks `Authorization: Bearer {ADMIN_TOKEN}` in constant time, behind the shared `limiter`: 401 without
 * credentials, 403 with wrong ones, 429 with Retry-After from a client over the limit (whatever token it sends).
 */
export function requireAdmin(adminToken: string, limiter: SecretLimiter) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (token === undefined) {
      return next(new HttpError(401, 'Admin bearer token required', { 'WWW-Authenticate': 'Bearer realm="admin"' }));
    }
    const checked = await limiter.check(clientAddress(req), token, adminToken);
    if (checked.result === 'refused') {
      const seconds = retryAfterSeconds(checked.retryAfterMs);
      return next(new HttpError(429, `Too many wrong admin tokens. Try again in ${seconds} seconds.`, { 'Retry-After': String(seconds) }));
    }
    if (checked.result === 'wrong') return next(new HttpError(403, 'Admin bearer token is wrong'));
    next();
  };
}
