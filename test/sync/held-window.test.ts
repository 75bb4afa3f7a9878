import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MassRemovalHeldError } from '../../src/sync/mass-removal-guard.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedBytes } from '../helpers/test-service.js';

const DAY = 86_400_000;
const ADA = 'ada@example.com';
const OLD = 'old.hand@example.com';

/** A record of `id` for Ada (or `email`) from `start` for an hour. */
function at(id: string, start: string, email = ADA) {
  const startMs = Date.parse(start);
  return interviewRecord({
    id,
    title: `Interview ${id}`,
    starting_at: new Date(startMs).toISOString(),
    ending_at: new Date(startMs + 3_600_000).toISOString(),
    users: [komboUser(email, 'Ada', 'Lovelace')],
  });
}

/** A week of feed window and a month between full walks: the walks below are incremental unless asked otherwise. */
const ENV = { FEED_PAST_DAYS: '7', FULL_SYNC_INTERVAL_HOURS: '720' };

describe('a snapshot holds what a feed can show (FEED_PAST_DAYS plus two days)', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 250 }); // clock: 2026-11-01T12:00Z
  });
  afterEach(async () => {
    await fake.close();
  });

  const uids = async (service: ReturnType<typeof buildTestService>, email = ADA) => parseIcs(await feedBytes(service, email)).events.map((event) => event.uid);

  it('lets an interview that ages out of the window leave the snapshot and the feed at the next (incremental) walk', async () => {
    fake.setRecords([at('soon', '2026-11-02T09:00:00Z'), at('later', '2027-06-01T09:00:00Z')]);
    const service = buildTestService(fake, { env: ENV });
    await service.sync.refresh();
    expect(await uids(service)).toEqual(['soon', 'later']);

    fake.clock += 25 * DAY; // the window starts on 18 November now; held from 16 November
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ kind: 'incremental', interviews: 1 });
    const snapshot = service.feeds.snapshot(fake.integrationId)!;
    expect([...snapshot.byId.keys()]).toEqual(['later']);
    expect(await uids(service)).toEqual(['later']);
  });

  it('never holds history a walk lists, and shows an old interview once an edit moves it into the window', async () => {
    fake.setRecords([at('old', '2025-01-10T09:00:00Z'), at('older', '2021-03-01T09:00:00Z', OLD), at('later', '2027-06-01T09:00:00Z')]);
    const service = buildTestService(fake, { env: ENV });
    await service.sync.refresh();
    expect([...service.feeds.snapshot(fake.integrationId)!.byId.keys()]).toEqual(['later']);

    fake.clock += 5 * 60_000;
    fake.upsert(at('old', '2026-12-05T09:00:00Z'));
    fake.clock += 5 * 60_000;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental', changes: 1 });
    expect(await uids(service)).toEqual(['old', 'later']);

    // And back: an edit that moves it into the past takes it out again, as no removal.
    fake.clock += 5 * 60_000;
    fake.upsert(at('old', '2024-12-05T09:00:00Z'));
    fake.clock += 5 * 60_000;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental', changes: 1 });
    expect(await uids(service)).toEqual(['later']);
  });

  it.each([
    ['an incremental walk', {}],
    ['a full walk', { full: true }],
  ])('never counts ageing out as a mass removal (%s)', async (_name, ask) => {
    const ending = Array.from({ length: 60 }, (_, n) => at(`ends-${n}`, new Date(Date.UTC(2026, 10, 2, 0) + n * 60_000).toISOString()));
    fake.setRecords([...ending, at('later', '2027-06-01T09:00:00Z')]);
    const service = buildTestService(fake, { env: ENV });
    await service.sync.refresh();
    expect(service.feeds.snapshot(fake.integrationId)!.size).toBe(61);

    fake.clock += 25 * DAY;
    await expect(service.sync.refresh(ask)).resolves.toMatchObject({ interviews: 1 });
    expect(service.sync.status().held ?? null).toBeNull();
    expect(await uids(service)).toEqual(['later']);
  });

  it('still holds a walk that removes most of what feeds show (the guard is not blunted)', async () => {
    const soon = Array.from({ length: 60 }, (_, n) => at(`soon-${n}`, new Date(Date.UTC(2026, 11, 2, 0) + n * 60_000).toISOString()));
    fake.setRecords([...soon, at('later', '2027-06-01T09:00:00Z')]);
    const service = buildTestService(fake, { env: ENV });
    await service.sync.refresh();
    fake.setRecords([at('later', '2027-06-01T09:00:00Z')]);
    fake.clock += DAY;
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(service.feeds.snapshot(fake.integrationId)!.size).toBe(61);
  });

  it('walks an organisation whose history passes KOMBO_WALK_MAX_RECORDS: the cap counts what is held', async () => {
    const history = Array.from({ length: 1_500 }, (_, n) => at(`h-${n}`, new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString(), `p${n % 40}@example.com`));
    fake.setRecords([...history, at('later', '2027-06-01T09:00:00Z')]);
    const service = buildTestService(fake, { env: { ...ENV, KOMBO_WALK_MAX_RECORDS: '1000' } });
    const summary = await service.sync.refresh();
    expect(summary).toMatchObject({ kind: 'full', interviews: 1, interviewers: 1, pages: 7 });
    expect(await uids(service)).toEqual(['later']);
  });

  it('still stops a walk whose held records pass KOMBO_WALK_MAX_RECORDS, and serves nothing of it', async () => {
    const ahead = Array.from({ length: 1_001 }, (_, n) => at(`a-${n}`, new Date(Date.UTC(2027, 0, 1) + n * 3_600_000).toISOString()));
    fake.setRecords(ahead);
    const service = buildTestService(fake, { env: { ...ENV, KOMBO_WALK_MAX_RECORDS: '1000' } });
    await expect(service.sync.refresh()).rejects.toThrow(/budget of 1,000 records/);
    expect(service.feeds.snapshot(fake.integrationId)).toBeUndefined();
  });

  it('lists only people with something to show, and an old interviewer link still answers with an empty calendar', async () => {
    fake.setRecords([at('older', '2021-03-01T09:00:00Z', OLD), at('later', '2027-06-01T09:00:00Z')]);
    const service = buildTestService(fake, { env: ENV });
    await service.sync.refresh();
    const listed = await request(service.app).get(`/admin/integrations/${encodeURIComponent(fake.integrationId)}/interviewers`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    expect(JSON.stringify(listed.body)).toContain(ADA);
    expect(JSON.stringify(listed.body)).not.toContain(OLD);
    expect(parseIcs(await feedBytes(service, OLD)).events).toEqual([]);
  });
});
