import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUSY_SUMMARY } from '../../src/calendar/interview-event.js';
import { FEED_SIZE_WARNING_BYTES } from '../../src/feeds/feed-size.js';
import { MAX_TITLE_CHARS } from '../../src/interviews/interview-schema.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs, type ParsedCalendar } from '../helpers/ics.js';
import { admin } from '../helpers/integrations.js';
import { buildTestService } from '../helpers/test-service.js';

/*
 * Team feeds (GET /admin/feed-url?job=ID or ?all=true): every live interview of one job, or of the integration, with
 * each event naming its interviewers; the same levels, caching and conditional requests as a person's feed.
 */

type TestService = ReturnType<typeof buildTestService>;
const MINUTE = 60_000;

const ada = () => komboUser('ada@example.com', 'Ada', 'Lovelace');
const grace = () => komboUser('grace@example.com', 'Grace', 'Hopper');
const emailless = () => komboUser(null, 'Emil', 'Less');
const job = (id: string, name: string) => ({
  id: 'app-1',
  remote_id: '1',
  outcome: 'PENDING',
  rejection_reason_name: null,
  candidate: { id: 'cand-1', remote_id: '1', first_name: 'Marie', last_name: 'Curie', email_addresses: [] },
  job: { id, name },
});
const at = (day: number) => ({ starting_at: `2026-12-0${day}T10:00:00.000Z`, ending_at: `2026-12-0${day}T11:00:00.000Z` });

function records(): Record<string, unknown>[] {
  return [
    interviewRecord({ id: 'iv-a1', title: 'A one', ...at(1), users: [ada(), grace()], application: job('job-a', 'Backend Engineer') }),
    interviewRecord({ id: 'iv-a2', title: 'A two', ...at(2), users: [grace()], application: job('job-a', 'Backend Engineer') }),
    // Nobody on it has an email, so it is in no person's feed: only team feeds show it.
    interviewRecord({ id: 'iv-a3', title: 'A three', ...at(3), users: [emailless()], application: job('job-a', 'Backend Engineer') }),
    interviewRecord({ id: 'iv-a-canceled', title: 'A canceled', ...at(4), canceled: true, users: [ada()], application: job('job-a', 'Backend Engineer') }),
    interviewRecord({ id: 'iv-a-deleted', title: 'A deleted', ...at(4), remote_deleted_at: '2026-10-02T00:00:00.000Z', users: [ada()], application: job('job-a', 'Backend Engineer') }),
    interviewRecord({ id: 'iv-b1', title: 'B one', ...at(5), users: [ada()], application: job('job-b', 'Data Scientist') }),
    interviewRecord({ id: 'iv-none', title: 'No job', ...at(6), users: [grace()], application: null }),
  ];
}

async function teamPath(service: TestService, query: string): Promise<string> {
  const res = await admin(service, 'get', `/admin/feed-url?${query}`).expect(200);
  return new URL(res.body.url as string).pathname;
}

async function calendarAt(service: TestService, path: string): Promise<ParsedCalendar> {
  const res = await request(service.app).get(path).expect(200);
  return parseIcs(res.text);
}

async function renders(service: TestService): Promise<number> {
  const metric = service.metrics.registry.getSingleMetric('interview_feeds_feed_renders_total');
  if (metric === undefined) throw new Error('no interview_feeds_feed_renders_total metric');
  return (await metric.get()).values[0]?.value ?? 0;
}

describe('team feeds', () => {
  let fake: FakeKombo;
  let service: TestService;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
    service = buildTestService(fake);
    await service.sync.refresh();
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  /** Kombo changes a record (a later changed_at), and the service walks again (incrementally). */
  async function change(id: string, overrides: Record<string, unknown>): Promise<void> {
    fake.clock += 10 * MINUTE;
    const record = fake.records().find((r) => r.id === id)!;
    fake.upsert({ ...record, ...overrides, changed_at: new Date(fake.clock).toISOString() });
    await service.sync.refresh();
  }

  it("a job's feed holds exactly its live interviews, each naming every interviewer; the all feed every live one", async () => {
    const jobA = await calendarAt(service, await teamPath(service, 'job=job-a'));
    expect(jobA.events.map((e) => e.uid)).toEqual(['iv-a1', 'iv-a2', 'iv-a3']);
    expect(jobA.name).toBe('Interviews: Backend Engineer');
    expect(jobA.events.map((e) => e.description!.split('\n').at(-1))).toEqual([
      'Interviewers: Ada Lovelace, Grace Hopper',
      'Interviewers: Grace Hopper',
      'Interviewers: Emil Less',
    ]);
    const jobB = await calendarAt(service, await teamPath(service, 'job=job-b'));
    expect(jobB.events.map((e) => e.uid)).toEqual(['iv-b1']);
    const all = await calendarAt(service, await teamPath(service, 'all=true'));
    expect(all.events.map((e) => e.uid)).toEqual(['iv-a1', 'iv-a2', 'iv-a3', 'iv-b1', 'iv-none']);
    expect(all.name).toBe('All interviews');
    // A job nobody interviews for: a valid, empty calendar (subscribe before the first interview is booked).
    const unknown = await calendarAt(service, await teamPath(service, 'job=job-zzz'));
    expect(unknown.events).toEqual([]);
  });

  it('applies detail levels: private drops the candidate and the title, busy keeps only the time', async () => {
    const full = await calendarAt(service, await teamPath(service, 'job=job-a&detail=full'));
    const priv = await calendarAt(service, await teamPath(service, 'job=job-a&detail=private'));
    const busy = await calendarAt(service, await teamPath(service, 'job=job-a&detail=busy'));
    const times = (c: ParsedCalendar) => c.events.map((e) => [e.uid, e.start, e.end]);
    expect(times(priv)).toEqual(times(full));
    expect(times(busy)).toEqual(times(full));
    expect(full.events[0]!.description).toContain('Candidate: Marie Curie');
    for (const event of priv.events) {
      expect(event.summary).toBe('Interview: Backend Engineer');
      expect(event.description).not.toContain('Marie');
      expect(event.description).toMatch(/^https:\/\/meet\.example\.com\/abc-defg-hij\n/);
      expect(event.description).toMatch(/\nInterviewers: /);
    }
    for (const event of busy.events) expect(event).toMatchObject({ summary: BUSY_SUMMARY, description: null, location: null, url: null });
  });

  it('keeps the job out of the URL, and serves a team link only for the integration it was made for', async () => {
    const path = await teamPath(service, 'job=job-a');
    expect(path).not.toContain('job-a');
    expect(Buffer.from(path.slice(7, -4), 'base64url').includes(Buffer.from('job-a'))).toBe(false);
    const foreign = service.tokens.encode({ integrationId: 'lever:other', team: { job: 'job-a' } });
    await request(service.app).get(`/feeds/${foreign}.ics`).expect(404);
  });

  it('answers If-None-Match with 304, caches the rendering, and renders again after a change', async () => {
    const path = await teamPath(service, 'job=job-a');
    const first = await request(service.app).get(path).expect(200);
    const rendered = await renders(service);
    await request(service.app).get(path).set('If-None-Match', first.headers.etag!).expect(304);
    await request(service.app).get(path).set('If-Modified-Since', first.headers['last-modified']!).expect(304);
    await request(service.app).get(path).expect(200);
    expect(await renders(service), 'served from the cache').toBe(rendered);

    await change('iv-a2', { title: 'A two, moved', ...at(7) });
    const second = await request(service.app).get(path).expect(200);
    expect(second.headers.etag).not.toBe(first.headers.etag);
    expect(parseIcs(second.text).events.map((e) => e.summary)).toEqual(['A one', 'A three', 'A two, moved']);
    await request(service.app).get(path).set('If-None-Match', first.headers.etag!).expect(200);
    await request(service.app).get(path).set('If-None-Match', second.headers.etag!).expect(304);
  });

  // Each way an interview leaves a job's feed; If-Modified-Since with the Last-Modified seen before must never be 304.
  const departures: [string, string, Record<string, unknown>][] = [
    ['canceled', 'iv-a2', { canceled: true }],
    ['deleted', 'iv-a2', { remote_deleted_at: '2026-11-01T12:30:00.000Z' }],
    ['moved to another job', 'iv-a2', { application: job('job-b', 'Data Scientist') }],
    ['canceled, with no interviewer who has an email', 'iv-a3', { canceled: true }],
    ['moved to another job, with no interviewer who has an email', 'iv-a3', { application: job('job-b', 'Data Scientist') }],
  ];
  for (const [how, id, overrides] of departures) {
    it(`drops an interview ${how} from the job's feed and the all feed, and never answers 304 to the old Last-Modified`, async () => {
      const jobPath = await teamPath(service, 'job=job-a');
      const allPath = await teamPath(service, 'all=true');
      // The change comes in a second walk, after the first one's Last-Modified was seen (and cached).
      await change('iv-b1', { title: 'B one, retitled' });
      const before = await request(service.app).get(jobPath).expect(200);
      const allBefore = await request(service.app).get(allPath).expect(200);
      expect(parseIcs(before.text).events.map((e) => e.uid)).toContain(id);

      await change(id, overrides);
      const after = await calendarAt(service, jobPath);
      expect(after.events.map((e) => e.uid)).not.toContain(id);
      const lastModified = before.headers['last-modified']!;
      await request(service.app).get(jobPath).set('If-Modified-Since', lastModified).expect(200);
      await request(service.app).get(jobPath).set('If-None-Match', before.headers.etag!).expect(200);
      const moved = 'application' in overrides;
      const all = await calendarAt(service, allPath);
      expect(all.events.map((e) => e.uid).includes(id)).toBe(moved);
      if (moved) {
        expect((await calendarAt(service, await teamPath(service, 'job=job-b'))).events.map((e) => e.uid)).toContain(id);
      } else {
        await request(service.app).get(allPath).set('If-Modified-Since', allBefore.headers['last-modified']!).expect(200);
      }
    });
  }

  it('shows an interview with no interviewer email in the team feeds once it is booked', async () => {
    const jobPath = await teamPath(service, 'job=job-a');
    const before = await request(service.app).get(jobPath).expect(200);
    fake.clock += 10 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-a4', title: 'A four', ...at(8), users: [emailless()], application: job('job-a', 'Backend Engineer'), changed_at: new Date(fake.clock).toISOString() }));
    await service.sync.refresh();
    expect((await calendarAt(service, jobPath)).events.map((e) => e.uid)).toEqual(['iv-a1', 'iv-a2', 'iv-a3', 'iv-a4']);
    await request(service.app).get(jobPath).set('If-Modified-Since', before.headers['last-modified']!).expect(200);
  });
});

describe('team feeds: the size the admin answer reports', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it(`says how large the feed is, and warns past ${FEED_SIZE_WARNING_BYTES} bytes (per level)`, async () => {
    // A big job made cheaply: 250 interviews (one page) with a title, job name and address each as long as allowed.
    const long = (c: string, n: number) => c.repeat(n);
    const bigJob = { ...job('job-big', long('J', MAX_TITLE_CHARS)) };
    fake.setRecords([
      ...Array.from({ length: 250 }, (_, n) =>
        interviewRecord({
          id: `iv-big-${n}`,
          title: long('T', MAX_TITLE_CHARS),
          starting_at: new Date(Date.UTC(2026, 11, 1, 9) + n * 3_600_000).toISOString(),
          ending_at: null,
          location: { raw: long('R', 1000) },
          users: [ada(), grace()],
          application: bigJob,
        }),
      ),
      interviewRecord({ id: 'iv-small', users: [ada()], application: job('job-small', 'Small') }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();

    const big = await admin(service, 'get', '/admin/feed-url?job=job-big').expect(200);
    const served = await request(service.app).get(new URL(big.body.url as string).pathname).expect(200);
    expect(big.body.team).toEqual({ job: 'job-big' });
    expect(big.body.bytes).toBe(Buffer.byteLength(served.text, 'utf8'));
    expect(big.body.events).toBe(250);
    expect(big.body.bytes).toBeGreaterThan(FEED_SIZE_WARNING_BYTES);
    expect(big.body.warning).toMatch(/^this feed is \d+ KB; Google Calendar refuses feeds of about 1 MB/);

    // The same job at busy is a fraction of that: no warning.
    const busy = await admin(service, 'get', '/admin/feed-url?job=job-big&detail=busy').expect(200);
    expect(busy.body.bytes).toBeLessThan(FEED_SIZE_WARNING_BYTES);
    expect(busy.body.warning).toBeUndefined();
    const busyServed = await request(service.app).get(new URL(busy.body.url as string).pathname).expect(200);
    expect(busy.body.bytes).toBe(Buffer.byteLength(busyServed.text, 'utf8'));

    const small = await admin(service, 'get', '/admin/feed-url?job=job-small').expect(200);
    expect(small.body).toMatchObject({ events: 1 });
    expect(small.body.warning).toBeUndefined();
    const all = await admin(service, 'get', '/admin/feed-url?all=true').expect(200);
    expect(all.body).toMatchObject({ team: 'all', events: 251 });
    expect(all.body.warning).toBeDefined();
    await service.sync.close();
  });

  it('refuses a request naming no subject, or two', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    for (const query of ['', 'job=a&all=true', 'email=ada@example.com&job=a', 'all=yes', 'job=a&job=b']) {
      const res = await admin(service, 'get', `/admin/feed-url?${query}`).expect(400);
      expect(res.body.url).toBeUndefined();
    }
    await service.sync.close();
  });
});
