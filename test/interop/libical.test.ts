import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { expectedEvents, fetchEveryFeed, fetchHostileFeed, requireTool, run, works } from './interop-fixtures.js';

/** What libical-check.c prints. */
interface LibicalReport {
  parseErrors: string[];
  events: { uid: string; summary: string | null; location: string | null; url: string | null; start: string | null; end: string | null }[];
  allUtc: boolean;
  restrictionErrors: string[];
}

const SOURCE = fileURLToPath(new URL('./libical-check.c', import.meta.url));
const available = works('cc', ['--version']) && works('pkg-config', ['--exists', 'libical']);

/** 2026-12-01T10:00:00.000Z → 20261201T100000Z, as libical prints a UTC DATE-TIME. */
const basic = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

describe('libical (Evolution, GNOME, KDE) reads the feed', () => {
  let fake: FakeKombo;
  let dir: string;
  let checker: string;

  beforeAll(async () => {
    fake = await startFakeKombo();
    dir = mkdtempSync(join(tmpdir(), 'libical-check-'));
    checker = join(dir, 'libical-check');
    if (!available) return;
    const flags = run('pkg-config', ['--cflags', '--libs', 'libical']).stdout.trim().split(/\s+/).filter(Boolean);
    const compiled = run('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-o', checker, SOURCE, ...flags]);
    expect(compiled.status, `cc failed:\n${compiled.stderr}`).toBe(0);
  });
  afterAll(async () => {
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function check(ics: string): { status: number | null; report: LibicalReport | undefined; stderr: string } {
    const result = run(checker, [], { input: ics });
    const report = result.stdout.trim() ? (JSON.parse(result.stdout) as LibicalReport) : undefined;
    return { status: result.status, report, stderr: result.stderr };
  }

  it('parses every event of a hostile feed without an error, times in UTC, text intact', async (ctx) => {
    requireTool(ctx, available, 'cc, pkg-config and libical-dev');
    const { status, report, stderr } = check(await fetchHostileFeed(fake));
    expect(report, stderr).toBeDefined();
    expect(report!.parseErrors).toEqual([]);
    expect(status).toBe(0);
    expect(report!.allUtc).toBe(true);
    expect(report!.events).toEqual(
      expectedEvents().map((e) => ({ uid: e.uid, summary: e.summary, location: e.location, url: e.url, start: basic(e.start), end: basic(e.end) })),
    );
    // Every VEVENT is checked on its own (libical's check stops at the first failing one), and the whole calendar as
    // served: the feed carries no METHOD (it is no iTIP message), so RFC 5545's own rules apply, and none is broken.
    expect(report!.restrictionErrors).toEqual([]);
  });

  it('reports nothing on every kind of feed: each detail level, a job, every interview, an empty calendar', async (ctx) => {
    requireTool(ctx, available, 'cc, pkg-config and libical-dev');
    const feeds = await fetchEveryFeed(fake);
    const live = expectedEvents().map((e) => e.uid);
    // Someone else's interview starts when iv-plain does: the team feeds order by start, then id.
    const team = ['iv-not-mine', ...live];
    const expectedUids: Record<string, string[]> = {
      'person, full': live,
      'person, private': live,
      'person, busy': live,
      'job, full': team,
      'job, private': team,
      'all, full': team,
      'all, busy': team,
      'empty person': [],
      'empty job': [],
    };
    expect(Object.keys(feeds)).toEqual(Object.keys(expectedUids));
    for (const [name, ics] of Object.entries(feeds)) {
      const { status, report, stderr } = check(ics);
      expect(report, `${name}: ${stderr}`).toBeDefined();
      expect(report!.parseErrors, name).toEqual([]);
      expect(status, name).toBe(0);
      expect(report!.allUtc, name).toBe(true);
      expect(report!.restrictionErrors, name).toEqual([]);
      expect(report!.events.map((e) => e.uid), name).toEqual(expectedUids[name]);
    }
  });

  it('is a checker that fails loudly: a broken DTSTART and a doubled SUMMARY are reported', (ctx) => {
    requireTool(ctx, available, 'cc, pkg-config and libical-dev');
    const broken = [
      'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//test//EN', 'BEGIN:VEVENT', 'UID:x', 'DTSTAMP:20261001T090000Z',
      'DTSTART:2026BAD', 'SUMMARY:a', 'SUMMARY:b', 'END:VEVENT', 'END:VCALENDAR', '',
    ].join('\r\n');
    const { status, report } = check(broken);
    expect(status).toBe(1);
    expect(report!.parseErrors.join('\n')).toMatch(/Can't parse as DATE-TIME value in DTSTART/);
    expect(report!.restrictionErrors).toContain(
      'no METHOD: x: VEVENT INVALID-ITIP: Failed iTIP restrictions for SUMMARY property. Expected zero or one instances of the property and got 2',
    );
  });
});
