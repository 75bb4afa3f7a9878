import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs, type ParsedEvent } from '../helpers/ics.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

/*
 * What a subscribed client notices across refreshes: identical bytes (and 304s) while nothing changed, an event
 * updated in place (same UID, higher SEQUENCE, later LAST-MODIFIED) when it did, and only the affected feeds moving.
 */

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const MINUTE = 60_000;
const ADA = 'ada@example.com';
const GRACE = 'grace@example.com';
const ada = komboUser(ADA, 'Ada', 'Lovelace');
const grace = komboUser(GRACE, 'Grace', 'Hopper');

type Service = ReturnType<typeof buildTestService>;

/** GET a feed the way a client without gzip does: the raw bytes and the validators. */
async function fetchFeed(service: Service, email: string, headers: Record<string, string> = {}) {
  const res = await request(service.app)
    .get(feedPath(service, email))
    .set({ 'Accept-Encoding': 'identity', ...headers })
    .buffer(true)
    .parse((response, done) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done(null, Buffer.concat(chunks)));
    });
  return { status: res.status, etag: res.headers.etag as string, lastModified: res.headers['last-modified'] as string, body: res.body as Buffer };
}

async function renders(service: Service): Promise<number> {
  const metric = await service.metrics.registry.getSingleMetric('interview_feeds_feed_renders_total')!.get();
  return metric.values[0]?.value ?? 0;
}

function only(events: ParsedEvent[], uid: string): ParsedEvent {
  const matching = events.filter((e) => e.uid === uid);
  expect(matching, `exactly one event ${uid}`).toHaveLength(1);
  return matching[0]!;
}

describe('feeds across refreshes', () => {
  let fake: FakeKombo;
  let service: Service;

  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.clock = T0;
    fake.setRecords([
      interviewRecord({ id: 'iv-ada', users: [ada] }),
      interviewRecord({ id: 'iv-grace', title: 'Grace only', users: [grace] }),
      interviewRecord({ id: 'iv-both', title: 'Panel', starting_at: '2026-12-03T10:00:00Z', ending_at: '2026-12-03T11:00:00Z', users: [ada, grace] }),
    ]);
    service = buildTestService(fake);
    await service.sync.refresh();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('returns identical bytes and ETag around a refresh that changed nothing, and then a 304', async () => {
    const before = await fetchFeed(service, ADA);
    expect(before.status).toBe(200);

    for (const step of [
      { move: 10 * MINUTE, full: false },
      { move: 7 * MINUTE, full: true },
      // A new day moves the past window (the feed is rendered again) but drops nothing: still the same bytes.
      { move: 26 * 60 * MINUTE, full: true },
    ]) {
      fake.clock += step.move;
      const summary = await service.sync.refresh({ full: step.full });
      expect(summary.changes).toBe(0);
      const after = await fetchFeed(service, ADA);
      expect(after.status).toBe(200);
      expect(after.body.equals(before.body), `identical bytes after ${JSON.stringify(step)}`).toBe(true);
      expect(after.etag).toBe(before.etag);
      expect(after.lastModified).toBe(before.lastModified);
      const conditional = await fetchFeed(service, ADA, { 'If-None-Match': before.etag });
      expect(conditional.status).toBe(304);
      expect(conditional.body.length).toBe(0);
    }
  });

  it('updates an edited event in place: same UID, higher SEQUENCE, later LAST-MODIFIED, never doubled', async () => {
    const before = await fetchFeed(service, ADA);
    const old = only(parseIcs(before.body).events, 'iv-ada');

    fake.clock = T0 + 5 * MINUTE;
    const editedAt = '2026-11-01T12:04:00.000Z';
    fake.upsert(interviewRecord({ id: 'iv-ada', users: [ada], starting_at: '2026-12-01T14:00:00Z', ending_at: '2026-12-01T15:00:00Z', changed_at: editedAt }));
    await service.sync.refresh();

    const after = await fetchFeed(service, ADA, { 'If-None-Match': before.etag });
    expect(after.status, 'the old ETag no longer matches').toBe(200);
    expect(after.etag).not.toBe(before.etag);
    const calendar = parseIcs(after.body);
    expect(calendar.events).toHaveLength(2);
    const edited = only(calendar.events, 'iv-ada');
    expect(edited.start).toBe('2026-12-01T14:00:00.000Z');
    expect(edited.sequence!).toBeGreaterThan(old.sequence!);
    expect(edited.lastModified).toBe(editedAt);
    expect(edited.dtstamp).toBe(editedAt);
    expect(Date.parse(edited.lastModified!)).toBeGreaterThan(Date.parse(old.lastModified!));
    expect(Date.parse(after.lastModified)).toBeGreaterThan(Date.parse(before.lastModified));
    // The untouched event of the same feed keeps its SEQUENCE.
    expect(only(calendar.events, 'iv-both').sequence).toBe(only(parseIcs(before.body).events, 'iv-both').sequence);
    expect((await fetchFeed(service, ADA, { 'If-None-Match': after.etag })).status).toBe(304);
  });

  it('moves SEQUENCE when the content changes without changed_at moving (a renamed candidate)', async () => {
    const before = await fetchFeed(service, ADA);
    const old = only(parseIcs(before.body).events, 'iv-ada');

    fake.clock = T0 + 5 * MINUTE;
    const record = interviewRecord({ id: 'iv-ada', users: [ada] });
    const application = record.application as { candidate: Record<string, unknown> };
    fake.upsert({ ...record, application: { ...application, candidate: { ...application.candidate, first_name: 'Maria', last_name: 'Skłodowska' } } });
    await service.sync.refresh();

    const after = await fetchFeed(service, ADA, { 'If-None-Match': before.etag });
    expect(after.status).toBe(200);
    const edited = only(parseIcs(after.body).events, 'iv-ada');
    expect(edited.description).toContain('Candidate: Maria Skłodowska');
    expect(edited.sequence!).toBeGreaterThan(old.sequence!);
    expect(Date.parse(edited.lastModified!)).toBeGreaterThan(Date.parse(old.lastModified!));
    expect(edited.uid).toBe(old.uid);

    // A second refresh that sees the same record again must not move SEQUENCE any further.
    fake.clock += 5 * MINUTE;
    await service.sync.refresh({ full: true });
    const again = await fetchFeed(service, ADA);
    expect(again.etag).toBe(after.etag);
    expect(only(parseIcs(again.body).events, 'iv-ada').sequence).toBe(edited.sequence);
  });

  it('renders again only the feeds whose events changed: the others keep their bytes, ETag and 304s', async () => {
    const adaBefore = await fetchFeed(service, ADA);
    const graceBefore = await fetchFeed(service, GRACE);
    expect(await renders(service)).toBe(2);

    fake.clock = T0 + 5 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-ada', title: 'Technical interview, part 2', users: [ada], changed_at: '2026-11-01T12:03:00Z' }));
    const summary = await service.sync.refresh();
    expect(summary.changedFeeds).toBe(1);

    const graceConditional = await fetchFeed(service, GRACE, { 'If-None-Match': graceBefore.etag });
    expect(graceConditional.status).toBe(304);
    const graceAfter = await fetchFeed(service, GRACE);
    expect(graceAfter.etag).toBe(graceBefore.etag);
    expect(graceAfter.lastModified).toBe(graceBefore.lastModified);
    expect(graceAfter.body.equals(graceBefore.body)).toBe(true);
    expect(await renders(service), "Grace's feed came from the cache").toBe(2);

    const adaAfter = await fetchFeed(service, ADA, { 'If-None-Match': adaBefore.etag });
    expect(adaAfter.status).toBe(200);
    expect(adaAfter.etag).not.toBe(adaBefore.etag);
    expect(await renders(service), "only Ada's feed was rendered again").toBe(3);

    // An edit to the interview both are on moves both feeds.
    fake.clock = T0 + 10 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-both', title: 'Panel (room change)', users: [ada, grace], changed_at: '2026-11-01T12:09:00Z' }));
    expect((await service.sync.refresh()).changedFeeds).toBe(2);
    expect((await fetchFeed(service, GRACE, { 'If-None-Match': graceBefore.etag })).status).toBe(200);
    expect((await fetchFeed(service, ADA, { 'If-None-Match': adaAfter.etag })).status).toBe(200);
  });

  it('moves Last-Modified when an event leaves the past window, so If-Modified-Since does not hide it', async () => {
    const past = buildTestService(fake, { env: { FEED_PAST_DAYS: '1' } });
    fake.upsert(
      interviewRecord({ id: 'iv-old', title: 'This morning', starting_at: '2026-11-01T09:00:00Z', ending_at: '2026-11-01T10:00:00Z', users: [ada] }),
    );
    await past.sync.refresh();
    const before = await fetchFeed(past, ADA);
    expect(parseIcs(before.body).events.map((e) => e.uid)).toContain('iv-old');

    // Two days on, nothing changed in Kombo, but the interview ended more than a day ago.
    fake.clock = Date.UTC(2026, 10, 3, 8);
    const after = await fetchFeed(past, ADA, { 'If-Modified-Since': before.lastModified });
    expect(after.status).toBe(200);
    expect(parseIcs(after.body).events.map((e) => e.uid)).not.toContain('iv-old');
    // The midnight the window moved past it.
    expect(after.lastModified).toBe(new Date(Date.UTC(2026, 10, 3)).toUTCString());
    expect((await fetchFeed(past, ADA, { 'If-Modified-Since': after.lastModified })).status).toBe(304);
  });
});
