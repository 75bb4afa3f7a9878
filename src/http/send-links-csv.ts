import type { Response } from 'express';
import type { FeedService } from '../feeds/feed-service.js';
import type { LinkIssuer } from '../feeds/feed-links.js';
import { linksCsv, linksCsvFileName } from '../feeds/links-csv.js';
import { HttpError } from './http-error.js';

/**
 * Answers links.csv of an integration as an attachment (GET /admin/links.csv, and the admin page's download): 503
 * before its first snapshot.
 */
export function sendLinksCsv(res: Response, issuer: LinkIssuer & { feeds: FeedService }, integrationId: string): void {
  const snapshot = issuer.feeds.snapshot(integrationId);
  if (snapshot === undefined) throw new HttpError(503, 'Interviews are loading; try again shortly', { 'Retry-After': '30' });
  res
    .status(200)
    .set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${linksCsvFileName(integrationId)}"`, 'Cache-Control': 'no-store' })
    .send(linksCsv(issuer, integrationId, snapshot, issuer.feeds.label(integrationId)));
}
