import { describe, expect, it } from 'vitest';
import { currentFeedLinks, type LinkIssuer } from '../../src/feeds/feed-links.js';
import { createFeedTokens } from '../../src/feeds/feed-token.js';
import { createLinkGenerations, createMemoryLinkGenerationStore } from '../../src/feeds/link-generations.js';
import { CSV_HEADER, csvRecord, linksCsv, linksCsvFileName } from '../../src/feeds/links-csv.js';
import { Snapshot } from '../../src/interviews/snapshot.js';
import { domainInterview } from '../helpers/factories.js';

const snapshot = Snapshot.fromData({
  format: 1,
  integrationId: 'int-1',
  syncedAtMs: 0,
  fullSyncedAtMs: 0,
  firstSyncedAtMs: 0,
  interviews: [
    domainInterview({ id: 'iv-1', interviewers: [{ email: 'grace@example.com', name: '=HYPERLINK("x"), Grace' }] }),
    domainInterview({ id: 'iv-2', interviewers: [{ email: 'ada@example.com', name: 'Ada Lovelace' }] }),
  ],
  feedChangedAtMs: {},
});

describe('csvRecord', () => {
  it('quotes every cell, doubles quotes, and defuses what a spreadsheet would run as a formula', () => {
    expect(csvRecord(['plain', 'a,b', 'say "hi"', 'two\nlines'])).toBe('"plain","a,b","say ""hi""","two\nlines"\r\n');
    for (const formula of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) expect(csvRecord([formula])).toMatch(/^"'/);
  });

  it("defuses a formula behind a ';' or tab inside a cell, for spreadsheets that split on them", () => {
    const record = csvRecord(["Mallory;=cmd|' /C calc'!A0;", 'tab\t+1', 'ok;text']);
    expect(record).toBe(`"Mallory;'=cmd|' /C calc'!A0;","tab\t'+1","ok;text"\r\n`);
    // Split as a ';' or tab locale would, quotes or not: no piece starts with a formula character.
    for (const piece of record.replace(/"/g, '').split(/[;\t,]/)) expect(piece).not.toMatch(/^[=+\-@]/);
  });
});

describe('links.csv', () => {
  it('names the file after the integration as far as that is safe in a file name', () => {
    expect(linksCsvFileName('int-1')).toBe('links-int-1.csv');
    expect(linksCsvFileName('a/b"c\r\nd')).toBe('links-a_b_c__d.csv');
  });

  it('lists every interviewer’s current link by name, in CRLF lines, each calendar named as its feed is', async () => {
    const links = createLinkGenerations(createMemoryLinkGenerationStore());
    await links.bump('int-1', 'p:ada@example.com');
    const issuer: LinkIssuer = { tokens: createFeedTokens('x'.repeat(40)), publicUrl: 'https://feeds.example.com', defaultDetail: 'private', links };
    const text = linksCsv(issuer, 'int-1', snapshot, 'Acme');
    expect(text.endsWith('\r\n')).toBe(true);
    const lines = text.slice(0, -2).split('\r\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    const ada = currentFeedLinks(issuer, 'int-1', { email: 'ada@example.com' }, undefined, 'Interviews: Ada Lovelace (Acme)');
    // "=" sorts before letters: the hostile name comes first, defused.
    expect(lines[1]).toMatch(/^"int-1","'=HYPERLINK\(""x""\), Grace","grace@example\.com","https:/);
    expect(lines[1]).toContain(encodeURIComponent(`Interviews: =HYPERLINK("x"), Grace (Acme)`));
    expect(lines[2]).toBe(['int-1', 'Ada Lovelace', 'ada@example.com', ada.url, ada.webcalUrl, ada.googleUrl, ada.outlookUrl, ada.outlookComUrl].map((cell) => `"${cell}"`).join(','));
    // Ada's link is of her latest generation, at the default level.
    expect(issuer.tokens.decode(/\/feeds\/(.+)\.ics$/.exec(ada.url)![1]!)).toEqual({ integrationId: 'int-1', email: 'ada@example.com', detail: 'private', generation: 1 });
    expect(lines).toHaveLength(3);
  });
});
