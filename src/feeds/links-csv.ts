import type { Snapshot } from '../interviews/snapshot.js';
import { personCalendarName } from './calendar-name.js';
import { currentFeedLinks, type LinkIssuer } from './feed-links.js';
import { listInterviewers } from './interviewer-list.js';

/** The columns of links.csv, for a mail merge. */
export const CSV_HEADER = ['integration', 'name', 'email', 'url', 'webcal', 'google', 'outlook', 'outlook_com'] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell a spreadsheet would run as a
 * formula (starting with =, +, - or @, or a tab or carriage return before one) gets a leading apostrophe (OWASP's
 * CSV injection advice), so a hostile name from the ATS stays text.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The file name links.csv is downloaded as: the integration id in it only as far as it is safe there. */
export function linksCsvFileName(integrationId: string): string {
  return `links-${integrationId.replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
}

/**
 * links.csv: every interviewer of an integration with their current link at FEED_DEFAULT_DETAIL (a revoked link's
 * replacement, named as their feed is, `label` included), by name then email, in CRLF lines.
 */
export function linksCsv(issuer: LinkIssuer, integrationId: string, snapshot: Pick<Snapshot, 'byEmail' | 'names'>, label: string | null): string {
  const lines = [CSV_HEADER.join(',')];
  for (const { email, name } of listInterviewers(snapshot)) {
    const links = currentFeedLinks(issuer, integrationId, { email }, undefined, personCalendarName(name, email, label));
    const row = [integrationId, name ?? '', email, links.url, links.webcalUrl, links.googleUrl, links.outlookUrl, links.outlookComUrl];
    lines.push(row.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
