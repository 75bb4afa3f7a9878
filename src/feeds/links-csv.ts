import { stringify } from 'csv-stringify/sync';
import type { Snapshot } from '../interviews/snapshot.js';
import { personCalendarName } from './calendar-name.js';
import { currentFeedLinks, type LinkIssuer } from './feed-links.js';
import { listInterviewers } from './interviewer-list.js';

/** The columns of links.csv, for a mail merge. */
export const CSV_HEADER = ['integration', 'name', 'email', 'url', 'webcal', 'google', 'outlook', 'outlook_com'] as const;

/**
 * What a spreadsheet would run as a formula where a cell starts: `=`, `+`, `-`, `@`. Inside a cell it is defused too
 * after a `;`, tab or line break, so a spreadsheet that splits on those (a `;` list-separator locale, an import that
 * ignores quotes) never sees a cell that starts with one (OWASP's CSV-injection guidance).
 */
const FORMULA_AFTER_SEPARATOR = /([;\t\r\n])(?=[=+\-@])/g;

/** ATS text as inert cell text: the cell start is defused by csv-stringify (`escape_formulas`), the inside here. */
function inertText(value: string): string {
  return value.replace(FORMULA_AFTER_SEPARATOR, "$1'");
}

/**
 * One CSV record (RFC 4180) of text cells: every cell quoted, a leading formula character behind an apostrophe,
 * CRLF-terminated.
 */
export function csvRecord(cells: readonly string[]): string {
  return stringify([cells.map(inertText)], { quoted_string: true, escape_formulas: true, record_delimiter: 'windows' });
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
  // The header is ours, not the ATS's: written plain, as a mail merge expects it.
  let text = `${CSV_HEADER.join(',')}\r\n`;
  for (const { email, name } of listInterviewers(snapshot)) {
    const links = currentFeedLinks(issuer, integrationId, { email }, undefined, personCalendarName(name, email, label, issuer.defaultDetail));
    const row = [integrationId, name ?? '', email, links.url, links.webcalUrl, links.googleUrl, links.outlookUrl, links.outlookComUrl];
    text += csvRecord(row);
  }
  return text;
}
