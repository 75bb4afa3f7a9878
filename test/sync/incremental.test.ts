import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { PAGE_SIZE } from '../../src/kombo/paginate-interviews.js';
import { interviewRecord, komboUser, manyRecords } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

/** The test service with a timeout no loaded machine reaches: these tests count requests, and have no hangs. */
const buildService = (fake: FakeKombo, options: Parameters<typeof buildTestService>[1] = {}) =>
  buildTestService(fake, { ...options, overrides: { timeoutMs: 10_000, ...options.overrides } });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ada = komboUser('ada@example.com', 'Ada', 'Lovelace');
const grace = komboUser('grace@example.com', 'Grace', 'Hopper');

async function feed(service: Service, email: string) {
  const res = await request(service.app).get(feedPath(service, email)).expect(200);
  return { text: res.text, etag: res.headers.etag as string, calendar: parseIcs(res.text) };
}

const uids = async (service: Service, email: string) => (await feed(service, email)).calendar.events.map((e) => e.uid);

describe('incremental walks', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let firstWalkAt: number;

  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords([
      interviewRecord({ id: 'iv-1', title: 'Intro', users: [ada] }),
      interviewRecord({ id: 'iv-2', title: 'Pairing', starting_at: '2026-12-02T10:00:00.000Z', ending_at: '2026-12-02T11:00:00.000Z', users: [ada, grace] }),
      interviewRecord({ id: 'iv-3', title: 'Culture', starting_at: '2026-12-03T10:00:00.000Z', ending_at: '2026-12-03T11:00:00.000Z', users: [grace] }),
    ]);
    // The records last changed ten minutes before the first walk, outside any overlap.
    fake.clock += 10 * MINUTE;
    service = buildService(fake);
    firstWalkAt = fake.clock;
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ kind: 'full', pages: 2, requests: 2, interviews: 3 });
    for (const r of fake.requests) {
      expect(r.query).not.toHaveProperty('updated_after');
      expect(r.query).not.toHaveProperty('include_deleted');
    }
    fake.requests.length = 0;
  });
  afterEach(async () => {
    await fake.close();
  });

  it('asks for changes since the start of the last successful walk less 60 s, in UTC with Z, on every page', async () => {
    fake.clock += 5 * MINUTE;
    // Five changes, two a page: three pages, each of which must repeat the filter.
    for (let n = 10; n < 15; n++) fake.upsert(interviewRecord({ id: `iv-${n}`, title: `New ${n}`, users: [ada] }));
    fake.clock += 2 * MINUTE;
    const secondWalkAt = fake.clock;
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ kind: 'incremental', pages: 3, changes: 5 });
    expect(fake.requests).toHaveLength(3);
    const expected = new Date(firstWalkAt - MINUTE).toISOString();
    expect(expected).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const r of fake.requests) expect(r.query).toMatchObject({ updated_after: expected, include_deleted: 'true', page_size: '250' });
    expect(fake.requests.slice(1).every((r) => r.query.cursor !== undefined)).toBe(true);

    // The next one starts from the second walk, not the first.
    fake.requests.length = 0;
    fake.clock += 5 * MINUTE;
    await service.sync.refresh();
    expect(fake.requests.map((r) => r.query.updated_after)).toEqual([new Date(secondWalkAt - MINUTE).toISOString()]);
  });

  it('keeps asking from the last successful walk while walks fail, so nothing is skipped', async () => {
    fake.clock += 5 * MINUTE;
    fake.fail({ type: 'status', status: 503 }, { times: 100 });
    await expect(service.sync.refresh()).rejects.toThrow(/503/);
    fake.clearFaults();
    fake.requests.length = 0;
    fake.clock += 5 * MINUTE;
    await service.sync.refresh();
    expect(fake.requests.map((r) => r.query.updated_after)).toEqual([new Date(firstWalkAt - MINUTE).toISOString()]);
  });

  it('catches a change Kombo stamped up to a minute before our last walk began (clock skew, a walk already past it)', async () => {
    const now = fake.clock;
    fake.clock = firstWalkAt - 45_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro, renamed under a lagging clock', users: [ada] }));
    fake.clock = now + 5 * MINUTE;
    await service.sync.refresh();
    expect((await feed(service, 'ada@example.com')).calendar.events[0]!.summary).toBe('Intro, renamed under a lagging clock');
  });

  it('costs exactly one request when nothing changed, and leaves every feed byte for byte as it was', async () => {
    const before = await feed(service, 'ada@example.com');
    fake.clock += 5 * MINUTE;
    const summary = await service.sync.refresh();
    expect(fake.requests).toHaveLength(1);
    expect(summary).toMatchObject({ kind: 'incremental', pages: 1, requests: 1, changes: 0, changedFeeds: 0, interviews: 3 });
    const after = await feed(service, 'ada@example.com');
    expect(after.text).toBe(before.text);
    expect(after.etag).toBe(before.etag);
  });

  it('brings an edit: new title, new time, and a higher SEQUENCE', async () => {
    const before = (await feed(service, 'ada@example.com')).calendar.events.find((e) => e.uid === 'iv-1')!;
    fake.clock += 5 * MINUTE;
    fake.upsert(
      interviewRecord({
        id: 'iv-1',
        title: 'Intro (moved)',
        starting_at: '2026-12-01T14:00:00.000Z',
        ending_at: '2026-12-01T15:30:00.000Z',
        users: [ada],
        changed_at: new Date(fake.clock).toISOString(),
        remote_updated_at: new Date(fake.clock).toISOString(),
      }),
    );
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ kind: 'incremental', changes: 1, changedFeeds: 1 });
    const after = (await feed(service, 'ada@example.com')).calendar.events.find((e) => e.uid === 'iv-1')!;
    expect(after).toMatchObject({ summary: 'Intro (moved)', start: '2026-12-01T14:00:00.000Z', end: '2026-12-01T15:30:00.000Z' });
    expect(after.sequence!).toBeGreaterThan(before.sequence ?? 0);
    // Grace is not on iv-1: her feed was not touched.
    expect(await uids(service, 'grace@example.com')).toEqual(['iv-2', 'iv-3']);
  });

  it('moves an interview from one interviewer to another', async () => {
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Intro', users: [grace] }));
    await service.sync.refresh();
    expect(await uids(service, 'ada@example.com')).toEqual(['iv-2']);
    expect(await uids(service, 'grace@example.com')).toEqual(['iv-1', 'iv-2', 'iv-3']);
  });

  it('removes a canceled interview from every feed it was in', async () => {
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-2', title: 'Pairing', canceled: true, users: [ada, grace] }));
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ changes: 1, changedFeeds: 2, interviews: 2 });
    expect(await uids(service, 'ada@example.com')).toEqual(['iv-1']);
    expect(await uids(service, 'grace@example.com')).toEqual(['iv-3']);
  });

  it('removes a deleted interview, which only include_deleted=true brings', async () => {
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-3', title: 'Culture', users: [grace], remote_deleted_at: new Date(fake.clock).toISOString() }));
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ changes: 1, interviews: 2 });
    expect(await uids(service, 'grace@example.com')).toEqual(['iv-2']);
    // The last event of an interviewer leaving gives an empty calendar, not a 404 or a 503: that one is real.
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-2', users: [ada, grace], remote_deleted_at: new Date(fake.clock).toISOString() }));
    fake.upsert(interviewRecord({ id: 'iv-1', users: [ada], canceled: true }));
    await service.sync.refresh();
    expect(await uids(service, 'grace@example.com')).toEqual([]);
    expect(await uids(service, 'ada@example.com')).toEqual([]);
  });

  it('adds a new interview', async () => {
    fake.clock += 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-4', title: 'Final', starting_at: '2026-12-04T09:00:00.000Z', ending_at: null, users: [ada] }));
    await service.sync.refresh();
    const events = (await feed(service, 'ada@example.com')).calendar.events;
    expect(events.map((e) => [e.uid, e.summary])).toEqual([
      ['iv-1', 'Intro'],
      ['iv-2', 'Pairing'],
      ['iv-4', 'Final'],
    ]);
  });

  it('runs a full walk again after FULL_SYNC_INTERVAL_HOURS, which drops records Kombo no longer lists', async () => {
    // iv-3 vanishes from Kombo without a deletion record (a hard delete, or a change the filter cannot see).
    fake.setRecords(fake.records().filter((r) => r.id !== 'iv-3'));
    fake.clock = firstWalkAt + 24 * HOUR - MINUTE;
    const incremental = await service.sync.refresh();
    expect(incremental.kind).toBe('incremental');
    expect(await uids(service, 'grace@example.com')).toEqual(['iv-2', 'iv-3']);

    fake.requests.length = 0;
    fake.clock = firstWalkAt + 24 * HOUR;
    const full = await service.sync.refresh();
    expect(full).toMatchObject({ kind: 'full', interviews: 2, changes: 1 });
    for (const r of fake.requests) expect(r.query).not.toHaveProperty('updated_after');
    expect(await uids(service, 'grace@example.com')).toEqual(['iv-2']);
    expect(await uids(service, 'ada@example.com')).toEqual(['iv-1', 'iv-2']);

    // The interval counts from that full walk.
    fake.requests.length = 0;
    fake.clock += 5 * MINUTE;
    expect((await service.sync.refresh()).kind).toBe('incremental');
  });

  it('honours FULL_SYNC_INTERVAL_HOURS from the environment', async () => {
    const hourly = buildService(fake, { env: { FULL_SYNC_INTERVAL_HOURS: '1' } });
    expect((await hourly.sync.refresh()).kind).toBe('full');
    fake.clock += 59 * MINUTE;
    expect((await hourly.sync.refresh()).kind).toBe('incremental');
    fake.clock += MINUTE;
    expect((await hourly.sync.refresh()).kind).toBe('full');
  });

  it('runs a full walk when asked, whatever the interval', async () => {
    fake.clock += 5 * MINUTE;
    expect((await service.sync.refresh({ full: true })).kind).toBe('full');
  });
});

describe('what a walk costs (measured against the fake at 250 a page)', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: PAGE_SIZE });
  });
  afterEach(async () => {
    await fake.close();
  });

  it.each([
    [1_000, 4],
    [2_600, 11],
  ])('%i interviews: a full walk is %i requests, an unchanged refresh is 1', async (count, fullRequests) => {
    const people = Array.from({ length: 40 }, (_, n) => `person${n}@example.com`);
    fake.setRecords(manyRecords(count, people));
    fake.clock += 10 * MINUTE;
    const service = buildService(fake);
    const full = await service.sync.refresh();
    expect(full).toMatchObject({ kind: 'full', interviews: count, interviewers: 40 });
    expect(fake.requests).toHaveLength(fullRequests);
    expect(fullRequests).toBe(Math.ceil(count / PAGE_SIZE));
    expect(full.requests).toBe(fullRequests);

    fake.requests.length = 0;
    fake.clock += 5 * MINUTE;
    const unchanged = await service.sync.refresh();
    expect(unchanged).toMatchObject({ kind: 'incremental', requests: 1, changes: 0 });
    expect(fake.requests).toHaveLength(1);

    // One edited interview is still one request, and only its interviewer's feed is rendered again.
    fake.clock += 5 * MINUTE;
    fake.upsert({ ...fake.records()[7]!, title: 'Edited' });
    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;
    expect(await service.sync.refresh()).toMatchObject({ requests: 1, changes: 1, changedFeeds: 1 });
    expect(fake.requests).toHaveLength(1);
  });
});
