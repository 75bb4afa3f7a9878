import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type RunningService } from '../../src/server.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';
import { OWNER, expectedEvents, type ExpectedEvent, hostileRecords, requireTool, run, runAsync, works } from './interop-fixtures.js';

const available = works('vdirsyncer', ['--version']);
const khalAvailable = works('khal', ['--version']);

/** One event vdirsyncer wrote into the vdir (one file an event), read back with ical.js. */
interface SyncedEvent {
  file: string;
  summary: string;
  start: string;
}

function syncedEvents(vdir: string): SyncedEvent[] {
  return readdirSync(vdir)
    .filter((name) => name.endsWith('.ics'))
    .map((file) => {
      const calendar = new ICAL.Component(ICAL.parse(readFileSync(join(vdir, file), 'utf8')));
      const vevents = calendar.getAllSubcomponents('vevent');
      expect(vevents, `${file} holds one event`).toHaveLength(1);
      const start = vevents[0]!.getFirstPropertyValue('dtstart') as ICAL.Time;
      return { file, summary: String(vevents[0]!.getFirstPropertyValue('summary')), start: start.toJSDate().toISOString() };
    });
}

/**
 * Which interviews the vdir holds, as feed UIDs. vdirsyncer 0.19's http storage always replaces each UID with a hash
 * of the event's content (`_ignore_uids`, against feeds whose UIDs change per request), so an event is recognised by
 * its start and title, both unique among the fixtures.
 */
function syncedUids(events: readonly SyncedEvent[], expected: readonly ExpectedEvent[]): string[] {
  return events
    .map((event) => expected.find((e) => e.start === event.start && e.summary === event.summary)?.uid ?? `unexpected: ${event.start} ${event.summary}`)
    .sort();
}

describe('vdirsyncer subscribes to the feed over HTTP', () => {
  let fake: FakeKombo;
  let running: RunningService | undefined;
  let dir: string;

  beforeAll(async () => {
    fake = await startFakeKombo({ pageSize: 3 });
    dir = mkdtempSync(join(tmpdir(), 'vdirsyncer-'));
  });
  afterAll(async () => {
    await running?.stop();
    await fake?.close();
    if (dir && !process.env.KEEP_INTEROP_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it('syncs exactly the live interviews, then drops a canceled one and takes an edit', async (ctx) => {
    requireTool(ctx, available, 'vdirsyncer');
    fake.setRecords(hostileRecords());
    // The real server entry on an ephemeral loopback port, with the test service's clock and memory store.
    const service = buildTestService(fake, { env: { PORT: '0', HOST: '127.0.0.1' } });
    running = await start(service.config, service.logger, service);
    await running.sync.refresh();
    const feedUrl = `${running.url}${feedPath(service, OWNER.email)}`;

    const vdir = join(dir, 'vdir');
    mkdirSync(vdir);
    const config = join(dir, 'config');
    writeFileSync(
      config,
      [
        '[general]',
        `status_path = "${join(dir, 'status')}"`,
        '',
        '[pair interviews]',
        'a = "interviews_feed"',
        'b = "interviews_local"',
        'collections = null',
        'conflict_resolution = "a wins"',
        '',
        '[storage interviews_feed]',
        'type = "http"',
        `url = "${feedUrl}"`,
        '',
        '[storage interviews_local]',
        'type = "filesystem"',
        `path = "${vdir}"`,
        'fileext = ".ics"',
        '',
      ].join('\n'),
    );
    const env = {
      ...process.env,
      VDIRSYNCER_CONFIG: config,
      LC_ALL: 'C.UTF-8',
      LANG: 'C.UTF-8',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
    const vdirsyncer = async (...args: string[]) => {
      const result = await runAsync('vdirsyncer', args, { env });
      expect(result.status, `vdirsyncer ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stderr, 'vdirsyncer reports no error').not.toMatch(/error|warning|traceback/i);
      return result;
    };

    await vdirsyncer('discover', 'interviews');
    await vdirsyncer('sync', 'interviews');
    const first = syncedEvents(vdir);
    expect(syncedUids(first, expectedEvents())).toEqual(expectedEvents().map((e) => e.uid).sort());

    // Kombo changes: one interview canceled, one retitled; the service walks again, the client syncs again.
    fake.clock += 10 * 60_000;
    const records = hostileRecords();
    fake.upsert({ ...records.find((r) => r.id === 'iv-emoji')!, canceled: true, changed_at: new Date(fake.clock).toISOString() });
    const retitled = 'Debrief, round 3; moved \\ again';
    fake.upsert({ ...records.find((r) => r.id === 'iv-punct')!, title: retitled, changed_at: new Date(fake.clock).toISOString() });
    await running.sync.refresh();
    await vdirsyncer('sync', 'interviews');

    const second = syncedEvents(vdir);
    const live = expectedEvents()
      .filter((e) => e.uid !== 'iv-emoji')
      .map((e) => (e.uid === 'iv-punct' ? { ...e, summary: retitled } : e));
    expect(syncedUids(second, live)).toEqual(live.map((e) => e.uid).sort());
    // Unchanged events render the same bytes, so the client keeps their files: no churn on a refresh.
    const untouched = (events: SyncedEvent[], expected: ExpectedEvent[]) =>
      events.filter((e) => !['iv-emoji', 'iv-punct'].includes(syncedUids([e], expected)[0]!)).map((e) => e.file).sort();
    expect(untouched(second, live)).toEqual(untouched(first, expectedEvents()));
    expect(untouched(second, live)).toHaveLength(4);

    if (!khalAvailable) return; // khal is a bonus reader of the same vdir, not something CI installs
    const khalConfig = join(dir, 'khal.conf');
    writeFileSync(
      khalConfig,
      [
        '[calendars]',
        '[[interviews]]',
        `path = ${vdir}`,
        '[locale]',
        'local_timezone = UTC',
        'default_timezone = UTC',
        'timeformat = %H:%M',
        'dateformat = %Y-%m-%d',
        'longdateformat = %Y-%m-%d',
        'datetimeformat = %Y-%m-%d %H:%M',
        'longdatetimeformat = %Y-%m-%d %H:%M',
        '[sqlite]',
        `path = ${join(dir, 'khal.db')}`,
        '',
      ].join('\n'),
    );
    const khal = run('khal', ['-c', khalConfig, 'list', '--format', '{start} {title}', '--day-format', '', '2026-12-01', '2026-12-31'], { env });
    expect(khal.status, khal.stderr).toBe(0);
    expect(khal.stderr).not.toMatch(/error|warning|traceback/i);
    const listed = khal.stdout.split('\n').filter((line) => /^2026-12-\d\d \d\d:\d\d /.test(line));
    expect(listed.map((line) => line.slice(0, 16))).toEqual(live.map((e) => e.start.slice(0, 16).replace('T', ' ')));
    expect(khal.stdout).toContain(retitled);
  });
});
