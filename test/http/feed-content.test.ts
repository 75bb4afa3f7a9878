import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEMO_INTERVIEWERS, demoRecords } from '../../src/demo/demo-kombo.js';
import { createApp } from '../../src/http/create-app.js';
import { MAX_TITLE_CHARS } from '../../src/interviews/interview-schema.js';
import { createMetrics } from '../../src/metrics.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs, type ParsedCalendar } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildService, buildTestService, captureLogger, feedPath, PUBLIC_URL } from '../helpers/test-service.js';

const DAY = 86_400_000;
type TestService = ReturnType<typeof buildTestService>;

async function feedOf(service: TestService, email: string): Promise<ParsedCalendar> {
  const res = await request(service.app).get(feedPath(service, email)).expect(200);
  return parseIcs(res.text);
}

/** How many feeds the service has rendered (cache misses), read from its metrics registry. */
async function renders(service: TestService): Promise<number> {
  const metric = service.metrics.registry.getSingleMetric('interview_feeds_feed_renders_total');
  if (metric === undefined) throw new Error('no interview_feeds_feed_renders_total metric');
  return (await metric.get()).values[0]?.value ?? 0;
}

describe('feed content, Kombo to calendar', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 3 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('keeps hostile titles and names escaped and folded: one event per interview, never an extra line', async () => {
    const hostile = [
      'Panel, round 2; with \\ backslashes',
      'Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:injected\r\nSUMMARY:Pwned',
      'Line\nbreak\rand CR',
      '🎉 Final 👩🏽‍💻 round 🇩🇪',
      'W'.repeat(300),
      '😀'.repeat(MAX_TITLE_CHARS / 2), // as long as a title may be, in surrogate pairs
    ];
    fake.setRecords(
      hostile.map((title, n) =>
        interviewRecord({
          id: `iv-${n}`,
          title,
          starting_at: new Date(Date.UTC(2026, 11, 1 + n, 10)).toISOString(),
          ending_at: null,
          users: [komboUser('ada@example.com', 'Ada; "The Countess"', 'Lovelace, née Byron\\'), komboUser('x@example.com', title, title)],
          application: { candidate: { first_name: title, last_name: null }, job: { name: title } },
          location: { raw: title },
        }),
      ),
    );
    const service = buildTestService(fake);
    await service.sync.refresh();
    const res = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    const calendar = parseIcs(res.text);
    expect(calendar.events.map((e) => e.uid)).toEqual(hostile.map((_, n) => `iv-${n}`));
    expect(calendar.events.map((e) => e.summary)).toEqual(hostile.map((t) => t.replace(/\r\n|\r/g, '\n')));
    expect(calendar.events.map((e) => e.location)).toEqual(hostile.map((t) => t.replace(/\r\n|\r/g, '\n')));
    const unfolded = res.text.replace(/\r\n /g, '').split('\r\n');
    expect(unfolded.filter((line) => line === 'BEGIN:VEVENT')).toHaveLength(hostile.length);
    expect(unfolded.filter((line) => line.startsWith('UID:'))).toHaveLength(hostile.length);
    expect(unfolded.filter((line) => line.startsWith('SUMMARY'))).toHaveLength(hostile.length);
    // The calendar is named after the interviewer, escaped so that the comma and semicolon stay text.
    expect(unfolded.filter((line) => line.startsWith('X-WR-CALNAME:'))).toEqual([
      'X-WR-CALNAME:Interviews: Ada\\; "The Countess" Lovelace\\, née Byron\\\\',
    ]);
  });

  it('finds an interviewer whatever the case and whitespace of their email in Kombo', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('  Ada@Example.COM ')] }),
      interviewRecord({ id: 'iv-2', users: [komboUser('ada@example.com')] }),
      interviewRecord({ id: 'iv-3', users: [komboUser('ADA@EXAMPLE.COM\t')] }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2', 'iv-3']);
  });

  it('keeps interviews with a null-email interviewer for the others, naming them', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser(null, 'Grace', 'Hopper'), komboUser('ada@example.com')] }),
      interviewRecord({ id: 'iv-2', users: [komboUser(null, 'Nobody', 'Known')] }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const calendar = await feedOf(service, 'ada@example.com');
    expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1']);
    expect(calendar.events[0]!.description).toContain('Grace Hopper');
  });

  it('shows one event when the same person is listed twice on one interview', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com'), komboUser('ADA@example.com '), komboUser('ada@example.com')] })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const calendar = await feedOf(service, 'ada@example.com');
    expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1']);
    expect(calendar.events[0]!.description ?? '').not.toContain('Other interviewers');
  });

  it('places each interview: raw address, built address, or the conferencing link; never an empty LOCATION', async () => {
    const absent = interviewRecord({ id: 'iv-absent', video_conferencing_url: 'https://meet.example.com/absent' });
    delete absent.location;
    fake.setRecords([
      interviewRecord({ id: 'iv-raw', location: { raw: 'Room 4, HQ', city: 'Ignored' } }),
      interviewRecord({ id: 'iv-built', location: { raw: null, street_1: 'Main St 1', street_2: null, zip_code: '10115', city: 'Berlin', state: null, country: 'DE' } }),
      interviewRecord({ id: 'iv-null', location: null, video_conferencing_url: 'https://meet.example.com/null' }),
      absent,
      interviewRecord({
        id: 'iv-all-null',
        location: { raw: null, street_1: null, street_2: null, zip_code: null, city: null, state: null, country: null },
        video_conferencing_url: 'https://meet.example.com/all-null',
      }),
      interviewRecord({ id: 'iv-nowhere', location: null, video_conferencing_url: null }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const byId = Object.fromEntries((await feedOf(service, 'ada@example.com')).events.map((e) => [e.uid, e]));
    expect(byId['iv-raw']!.location).toBe('Room 4, HQ');
    expect(byId['iv-built']!.location).toMatch(/^Main St 1, 10115 Berlin, DE$/);
    expect(byId['iv-null']!.location).toBe('https://meet.example.com/null');
    expect(byId['iv-absent']!.location).toBe('https://meet.example.com/absent');
    expect(byId['iv-all-null']!.location).toBe('https://meet.example.com/all-null');
    expect(byId['iv-nowhere']!.location).toBeNull();
    expect(byId['iv-nowhere']!.url).toBeNull();
  });

  it('keeps interviews with a null application, candidate or job, titled from what is known', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-no-app', title: null, application: null, video_conferencing_url: null }),
      interviewRecord({ id: 'iv-no-cand', title: null, application: { candidate: null, job: { name: 'Backend Engineer' } } }),
      interviewRecord({ id: 'iv-no-job', title: null, application: { candidate: { first_name: 'Marie', last_name: 'Curie' }, job: null } }),
      interviewRecord({ id: 'iv-both', title: null }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const byId = Object.fromEntries((await feedOf(service, 'ada@example.com')).events.map((e) => [e.uid, e]));
    expect(Object.keys(byId).sort()).toEqual(['iv-both', 'iv-no-app', 'iv-no-cand', 'iv-no-job']);
    expect(byId['iv-no-app']!.summary!.length).toBeGreaterThan(0);
    expect(byId['iv-no-app']!.description).toBeNull();
    expect(byId['iv-no-cand']!.summary).toContain('Backend Engineer');
    expect(byId['iv-no-job']!.summary).toContain('Marie Curie');
    expect(byId['iv-both']!.summary).toContain('Marie Curie');
    expect(byId['iv-both']!.summary).toContain('Backend Engineer');
    expect(byId['iv-both']!.description!.split('\n')[0]).toBe('https://meet.example.com/abc-defg-hij');
  });

  for (const [what, configured, expectedMinutes] of [
    ['the default 60 minutes', undefined, 60],
    ['DEFAULT_DURATION_MINUTES when configured', '25', 25],
  ] as const) {
    it(`gives a missing, earlier or equal ending_at ${what}`, async () => {
      const missing = interviewRecord({ id: 'iv-missing' });
      delete missing.ending_at;
      fake.setRecords([
        missing,
        interviewRecord({ id: 'iv-null', ending_at: null }),
        interviewRecord({ id: 'iv-before', ending_at: '2026-12-01T09:00:00.000Z' }),
        interviewRecord({ id: 'iv-equal', ending_at: '2026-12-01T10:00:00.000Z' }),
        interviewRecord({ id: 'iv-own', ending_at: '2026-12-01T10:40:00.000Z' }),
      ]);
      const service = buildTestService(fake, { env: { DEFAULT_DURATION_MINUTES: configured } });
      await service.sync.refresh();
      const events = (await feedOf(service, 'ada@example.com')).events;
      const end = new Date(Date.UTC(2026, 11, 1, 10) + expectedMinutes * 60_000).toISOString();
      expect(Object.fromEntries(events.map((e) => [e.uid, e.end]))).toEqual({
        'iv-missing': end,
        'iv-null': end,
        'iv-before': end,
        'iv-equal': end,
        'iv-own': '2026-12-01T10:40:00.000Z',
      });
    });
  }

  it('leaves out interviews with no starting_at, canceled: true, or remote_deleted_at set; keeps canceled: null', async () => {
    const noStart = interviewRecord({ id: 'iv-no-start' });
    delete noStart.starting_at;
    fake.setRecords([
      noStart,
      interviewRecord({ id: 'iv-null-start', starting_at: null }),
      interviewRecord({ id: 'iv-canceled', canceled: true }),
      interviewRecord({ id: 'iv-canceled-null', canceled: null }),
      interviewRecord({ id: 'iv-deleted', remote_deleted_at: '2026-10-30T00:00:00.000Z' }),
      interviewRecord({ id: 'iv-live', unknown_field: { nested: [1, 2] }, another: 'x' }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events.map((e) => e.uid)).toEqual(['iv-canceled-null', 'iv-live']);
  });

  it('removes an interview that is canceled or deleted later', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1' }), interviewRecord({ id: 'iv-2' }), interviewRecord({ id: 'iv-3' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events).toHaveLength(3);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', canceled: true }));
    fake.upsert(interviewRecord({ id: 'iv-2', remote_deleted_at: '2026-11-01T12:01:00.000Z' }));
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events.map((e) => e.uid)).toEqual(['iv-3']);
  });

  it('keeps a bad record from costing anyone else their interviews on the same page', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1' }),
      interviewRecord({ id: 'iv-bad', starting_at: 'not a date' }),
      interviewRecord({ id: 'iv-2' }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
    expect(service.logs.lines.some((line) => line.recordId === 'iv-bad' && line.path === 'starting_at')).toBe(true);
  });

  it('leaves out interviews that ended more than FEED_PAST_DAYS ago, and keeps any in the future', async () => {
    const now = fake.clock;
    const at = (offsetDays: number) => ({
      starting_at: new Date(now + offsetDays * DAY).toISOString(),
      ending_at: new Date(now + offsetDays * DAY + 3_600_000).toISOString(),
    });
    fake.setRecords([
      interviewRecord({ id: 'iv-old', ...at(-12) }),
      interviewRecord({ id: 'iv-recent', ...at(-8) }),
      interviewRecord({ id: 'iv-soon', ...at(1) }),
      interviewRecord({ id: 'iv-far', ...at(3650) }),
    ]);
    const service = buildTestService(fake, { env: { FEED_PAST_DAYS: '10' } });
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events.map((e) => e.uid)).toEqual(['iv-recent', 'iv-soon', 'iv-far']);

    const byDefault = buildTestService(fake); // 90 days
    fake.setRecords([interviewRecord({ id: 'iv-100', ...at(-100) }), interviewRecord({ id: 'iv-80', ...at(-80) })]);
    await byDefault.sync.refresh();
    expect((await feedOf(byDefault, 'ada@example.com')).events.map((e) => e.uid)).toEqual(['iv-80']);
  });

  it('keeps UIDs and bytes stable across renders and refreshes', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1' }), interviewRecord({ id: 'iv-2', starting_at: '2026-12-02T10:00:00Z', ending_at: null })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const first = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    fake.clock += 3_600_000;
    await service.sync.refresh({ full: true });
    const again = buildTestService(fake); // another process, same data
    await again.sync.refresh();
    for (const svc of [service, again]) {
      const res = await request(svc.app).get(feedPath(svc, 'ada@example.com')).expect(200);
      expect(parseIcs(res.text).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
      expect(res.text).toBe(first.text);
    }
  });

  it('gives an interviewer with no interviews a valid, empty calendar once a snapshot exists', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const calendar = await feedOf(service, 'nobody@example.com');
    expect(calendar.events).toEqual([]);
    expect(calendar.version).toBe('2.0');
  });
});

describe('feed caching', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('renders a feed once and serves it again from the cache', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect(await renders(service)).toBe(0); // a refresh renders nothing by itself
    const first = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    expect(await renders(service)).toBe(1);
    const second = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    expect(await renders(service)).toBe(1);
    expect(second.text).toBe(first.text);
    parseIcs(second.text);
  });

  it('drops a cached feed when a new snapshot changes it, and serves the new content', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Before' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await feedOf(service, 'ada@example.com')).events[0]!.summary).toBe('Before');
    const rendered = await renders(service);

    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'After', changed_at: '2026-11-01T12:01:00.000Z' }));
    await service.sync.refresh();
    const after = await feedOf(service, 'ada@example.com');
    expect(after.events.map((e) => e.summary)).toEqual(['After']);
    expect(await renders(service)).toBe(rendered + 1);
    await feedOf(service, 'ada@example.com');
    expect(await renders(service)).toBe(rendered + 1);
  });

  it('drops a cached feed when the interviewer is added to or removed from an interview', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com')] })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await feedOf(service, 'grace@example.com')).events).toEqual([]);
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }));
    await service.sync.refresh({ full: true });
    expect((await feedOf(service, 'grace@example.com')).events.map((e) => e.uid)).toEqual(['iv-1']);
    expect((await feedOf(service, 'ada@example.com')).events).toEqual([]);
  });
});

describe('every response', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1' })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  function expectSafeHeaders(res: request.Response): void {
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|Error:/);
  }

  it('sends nosniff, no X-Powered-By and no stack trace on 200, 304, 400, 401, 403, 404 and 503', async () => {
    const service = buildTestService(fake);
    const app = request(service.app);
    expectSafeHeaders(await app.get(feedPath(service, 'ada@example.com')).expect(503)); // before the first snapshot
    await service.sync.refresh();
    const ok = await app.get(feedPath(service, 'ada@example.com')).expect(200);
    expectSafeHeaders(ok);
    expectSafeHeaders(await app.get(feedPath(service, 'ada@example.com')).set('If-None-Match', ok.headers.etag as string).expect(304));
    expectSafeHeaders(await app.get('/nope').expect(404));
    expectSafeHeaders(await app.get('/feeds/%E0%A4%A.ics'));
    expectSafeHeaders(await app.get('/admin/feed-url?email=bad').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(400));
    expectSafeHeaders(await app.get('/admin/feed-url?email=ada@example.com').expect(401));
    expectSafeHeaders(await app.get('/admin/feed-url?email=ada@example.com').set('Authorization', 'Bearer nope-nope-nope').expect(403));
    expectSafeHeaders(await app.post('/webhooks/kombo').set('Content-Type', 'application/json').send('{"broken'));
  });

  it('answers an unexpected failure 500 with a generic JSON body: no stack, no message, nosniff', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const { logger, logs } = captureLogger();
    const app = createApp({
      registry: service.registry,
      feeds: {
        ...service.feeds,
        feed() {
          throw new Error('database password is hunter2 at /srv/app/secret.ts');
        },
      },
      sync: service.sync,
      tokens: service.tokens,
      links: service.links,
      fetches: service.fetches,
      logger,
      metrics: createMetrics({ defaults: false }),
      config: { ...service.config, publicUrl: PUBLIC_URL, feedRefreshMinutes: 60, adminToken: ADMIN_TOKEN },
      state: createMemoryState(),
      now: Date.now,
    });
    const res = await request(app).get(feedPath(service, 'ada@example.com')).expect(500);
    expectSafeHeaders(res);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).not.toContain('hunter2');
    expect(res.text).not.toContain('secret.ts');
    // The operator still learns what happened, from the log.
    expect(logs.raw.some((line) => line.includes('hunter2'))).toBe(true);
  });
});

describe('demo mode', () => {
  it('serves the bundled demo interviews to the demo interviewers, through the same validation', async () => {
    const config = loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent' });
    expect(config.demo).toBe(true);
    const now = Date.UTC(2026, 10, 1, 12);
    const service = buildService(config, { state: createMemoryState(), now: () => now });
    const { logs } = service;
    // Two demo companies, walked apart.
    expect(service.sync.list().map((integration) => integration.id)).toEqual(['demo', 'demo-globex']);
    for (const integration of ['demo', 'demo-globex']) {
      const summary = await service.sync.refresh({ integration });
      expect(summary.rejectedRecords).toBe(0);
    }
    expect(logs.lines.some((line) => String(line.msg).startsWith('invalid Kombo record'))).toBe(false);

    let adaCalendars = 0;
    for (const integration of ['demo', 'demo-globex']) {
      const records = demoRecords(now, integration);
      const live = records.filter((r) => r.canceled !== true).map((r) => String(r.id));
      const canceled = records.filter((r) => r.canceled === true).map((r) => String(r.id));
      expect(canceled.length).toBeGreaterThan(0);
      const seen = new Set<string>();
      for (const person of DEMO_INTERVIEWERS) {
        const links = await request(service.app)
          .get('/admin/feed-url')
          .query({ email: person.email, integration })
          .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
          .expect(200);
        const url = new URL((links.body as { url: string }).url);
        expect(url.origin).toBe('http://localhost:3000');
        const res = await request(service.app).get(url.pathname).expect(200);
        const calendar = parseIcs(res.text);
        if (calendar.events.length === 0) continue;
        if (person.email === 'ada@demo.example') adaCalendars++;
        // Two companies, so each calendar says whose it is.
        expect(calendar.name).toBe(`Interviews: ${person.first_name} ${person.last_name} (${integration === 'demo' ? 'Acme Robotics' : 'Globex'})`);
        for (const event of calendar.events) {
          seen.add(event.uid);
          expect(canceled).not.toContain(event.uid);
        }
      }
      expect([...seen].sort()).toEqual(live.sort());
    }
    // One person interviews for both companies: two calendars, each with that company's interviews only.
    expect(adaCalendars).toBe(2);

    const health = await request(service.app).get('/healthz').expect(200);
    expect(health.body).toMatchObject({ demo: true });
  });
});
