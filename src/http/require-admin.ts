import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './http-error.js';
import { secureEqual } from './secure-equal.js';

/** Checks `Authorization: Bearer {ADMIN_TOKEN}` in constant time: 401 without credentials, 403 with wrong ones. */
export function requireAdmin(adminToken: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match?.[1]) {
      return next(new HttpError(401, 'Admin bearer token required', { 'WWW-Authenticate': 'Bearer realm="admin"' }));
    }
    if (!secureEqual(match[1], adminToken)) return next(new HttpError(403, 'Admin bearer token is wrong'));
    next();
  };
}
