import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formerInterviewerRetentionMs } from '../../src/interviews/snapshot.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

const ADA = 'ada@example.com';
const DAY = 86_400_000;

describe('the feed of an interviewer pruned from the side tables', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([
      interviewRecord({ id: 'iv-ada', users: [komboUser(ADA, 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'iv-grace', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
    ]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('never answers 304 to a client holding events from before their last change, and falls back to their address as its name', async () => {
    const service = buildTestService(fake, { env: { FEED_PAST_DAYS: '0' } });
    const get = (headers: Record<string, string> = {}) =>
      request(service.app).get(feedPath(service, ADA)).set('Accept-Encoding', 'identity').set(headers);
    await service.sync.refresh();
    const withEvent = await get().expect(200);
    expect(parseIcs(withEvent.text).events.map((e) => e.uid)).toEqual(['iv-ada']);

    // Ada's only interview is canceled ten minutes later: her calendar empties, keeping her name.
    fake.clock += 10 * 60_000;
    fake.upsert(interviewRecord({ id: 'iv-ada', canceled: true, users: [komboUser(ADA, 'Ada', 'Lovelace')] }));
    await service.sync.refresh();
    const emptied = await get().expect(200);
    expect(parseIcs(emptied.text)).toMatchObject({ name: 'Interviews: Ada Lovelace', events: [] });
    expect(Date.parse(emptied.headers['last-modified']!)).toBeGreaterThan(Date.parse(withEvent.headers['last-modified']!));

    // Past the retention (FEED_PAST_DAYS 0, plus the margin), a full walk prunes her from the side tables.
    fake.clock += formerInterviewerRetentionMs(0) + DAY;
    await service.sync.refresh({ full: true });
    const data = service.feeds.snapshot(fake.integrationId)!.data;
    expect(data.feedChangedAtMs).not.toHaveProperty(ADA);
    expect(data.formerNames).not.toHaveProperty(ADA);
    expect(data.feedChangedAtMs).toHaveProperty('grace@example.com');

    // A client that last fetched while the event was there must get the empty calendar, not 304 (it would keep the
    // canceled interview for good); one that fetched the emptied calendar may keep it.
    const stale = await get({ 'If-Modified-Since': withEvent.headers['last-modified']! }).expect(200);
    expect(parseIcs(stale.text).events).toEqual([]);
    expect(Date.parse(stale.headers['last-modified']!)).toBeGreaterThanOrEqual(Date.parse(emptied.headers['last-modified']!));
    await get({ 'If-Modified-Since': emptied.headers['last-modified']! }).expect(304);
    // Her calendar is now named by her address (accepted: it has been empty for the whole retention).
    expect(parseIcs(stale.text).name).toBe(`Interviews: ${ADA}`);
  });
});
