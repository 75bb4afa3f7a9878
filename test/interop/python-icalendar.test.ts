import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { OWNER, expectedEvents, fetchEveryFeed, fetchHostileFeed, requireTool, run, works, type ExpectedEvent } from './interop-fixtures.js';

/** What icalendar-dump.py prints. */
interface PythonReport {
  version: string;
  calendarName: string | null;
  events: ExpectedEvent[];
  errors: string[];
}

const SCRIPT = fileURLToPath(new URL('./icalendar-dump.py', import.meta.url));
// Debian's python3-icalendar lives in the system interpreter; a pyenv or venv `python3` first on PATH lacks it.
const python = ['/usr/bin/python3', 'python3'].find((candidate) => works(candidate, ['-c', 'import icalendar']));

/**
 * python-icalendar 4.x (Debian 12's) decodes some correct input wrongly, and this is how, so the test can tell its
 * known bugs from ours. Its content-line parser turns %2C, %3A, %3B and %5C into `,` `:` `;` `\` in every value, URIs
 * included (collective/icalendar#355, fixed by PR #935); and its TEXT unescaping is a chain of replacements that reads
 * the escaped backslash of `\\n` as the start of a line break, so a title holding `\new` comes back as `<LF>ew`.
 */
function asPythonIcalendar4Reads(event: ExpectedEvent): ExpectedEvent {
  const percent = (value: string) => value.replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%3B/g, ';').replace(/%5C/g, '\\');
  const text = (value: string) => percent(value).replace(/\\[nN]/g, '\n');
  return {
    ...event,
    summary: text(event.summary),
    location: event.location === null ? null : text(event.location),
    url: event.url === null ? null : percent(event.url),
  };
}

describe('python-icalendar reads the feed', () => {
  let fake: FakeKombo;
  beforeAll(async () => {
    fake = await startFakeKombo();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('parses every event of a hostile feed without an error, times in UTC, text intact', async (ctx) => {
    requireTool(ctx, python !== undefined, 'python3 with the icalendar module (python3-icalendar)');
    const result = run(python!, [SCRIPT], { input: await fetchHostileFeed(fake) });
    expect(result.stdout, result.stderr).not.toBe('');
    const report = JSON.parse(result.stdout) as PythonReport;
    expect(report.errors).toEqual([]);
    expect(result.status).toBe(0);
    expect(report.calendarName).toBe(`Interviews: ${OWNER.first} ${OWNER.last}`);
    const expected = report.version.startsWith('4.') ? expectedEvents().map(asPythonIcalendar4Reads) : expectedEvents();
    expect(report.events).toEqual(expected);
  });

  it('parses every kind of feed without an error: each detail level, a job, every interview, an empty calendar', async (ctx) => {
    requireTool(ctx, python !== undefined, 'python3 with the icalendar module (python3-icalendar)');
    const feeds = await fetchEveryFeed(fake);
    const live = expectedEvents().map((e) => e.uid);
    for (const [name, ics] of Object.entries(feeds)) {
      const result = run(python!, [SCRIPT], { input: ics });
      expect(result.stdout, `${name}: ${result.stderr}`).not.toBe('');
      const report = JSON.parse(result.stdout) as PythonReport;
      expect(report.errors, name).toEqual([]);
      expect(result.status, name).toBe(0);
      const uids = report.events.map((e) => e.uid);
      if (name.startsWith('empty')) expect(uids, name).toEqual([]);
      else if (name.startsWith('person')) expect(uids, name).toEqual(live);
      else expect(uids, name).toEqual(['iv-not-mine', ...live]);
      if (name.endsWith('busy')) expect(report.events.every((e) => e.summary === 'Busy' && e.location === null && e.url === null), name).toBe(true);
    }
  });
});
