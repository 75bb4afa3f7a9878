import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedBytes, feedPath } from '../helpers/test-service.js';

const PEOPLE = Array.from({ length: 30 }, (_, n) => `p${String(n).padStart(2, '0')}@example.com`);
const BIG = 'big@example.com';

/** One interview for each of PEOPLE (alike in length, so their feeds are too), and 100 for BIG. */
function records() {
  const one = PEOPLE.map((email, n) =>
    interviewRecord({
      id: `iv-${String(n).padStart(2, '0')}`,
      title: `Interview ${String(n).padStart(2, '0')}`,
      users: [komboUser(email, 'Person', String(n).padStart(2, '0'))],
    }),
  );
  const many = Array.from({ length: 100 }, (_, n) =>
    interviewRecord({
      id: `big-${String(n).padStart(3, '0')}`,
      title: `Panel ${n}`,
      starting_at: new Date(Date.UTC(2026, 11, 1, 8) + n * 3_600_000).toISOString(),
      ending_at: new Date(Date.UTC(2026, 11, 1, 9) + n * 3_600_000).toISOString(),
      users: [komboUser(BIG, 'Big', 'Panel')],
    }),
  );
  return [...one, ...many];
}

describe('the rendered-feed cache, bounded by bytes', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(records());
  });
  afterEach(async () => {
    await fake.close();
  });

  /** What one small feed counts for in the cache, measured on a service with the default bound. */
  async function smallFeedBytes(): Promise<number> {
    const roomy = buildTestService(fake);
    await roomy.sync.refresh();
    let largest = 0;
    for (const email of PEOPLE) {
      const before = roomy.feeds.cachedBytes();
      await feedBytes(roomy, email);
      largest = Math.max(largest, roomy.feeds.cachedBytes() - before);
    }
    expect(roomy.feeds.cachedFeeds()).toBe(PEOPLE.length);
    return largest;
  }

  it('stays under its bound, evicts the least recently used feed, and renders an evicted one to the same bytes and validators', async () => {
    const each = await smallFeedBytes();
    // Room for ten small feeds and half of an eleventh.
    const bound = Math.floor(10.5 * each);
    const service = buildTestService(fake, { overrides: { feedCacheMaxBytes: bound } });
    await service.sync.refresh();
    const renders = async () => (await service.metrics.feedRenders.get()).values[0]?.value ?? 0;

    const first = new Map<string, request.Response>();
    for (const email of PEOPLE.slice(0, 10)) {
      first.set(email, await request(service.app).get(feedPath(service, email)).set('Accept-Encoding', 'identity').expect(200));
    }
    expect(service.feeds.cachedFeeds()).toBe(10);
    expect(service.feeds.cachedBytes()).toBeLessThanOrEqual(bound);

    // p00 is used again, so p01 is now the least recently used; the eleventh feed pushes it out, and only it.
    const beforeHit = await renders();
    await feedBytes(service, PEOPLE[0]!);
    expect(await renders(), 'a cached feed is not rendered again').toBe(beforeHit);
    await feedBytes(service, PEOPLE[10]!);
    expect(service.feeds.cachedFeeds()).toBe(10);
    const afterEleventh = await renders();
    await feedBytes(service, PEOPLE[0]!);
    await feedBytes(service, PEOPLE[2]!);
    expect(await renders(), 'p00 and p02 are still cached').toBe(afterEleventh);

    // p01 was evicted: a client holding its copy still gets 304 by ETag or date, and a new download is byte-identical.
    const held = first.get(PEOPLE[1]!)!;
    const revalidated = await request(service.app)
      .get(feedPath(service, PEOPLE[1]!))
      .set('Accept-Encoding', 'identity')
      .set('If-None-Match', held.headers.etag!)
      .expect(304);
    expect(await renders(), 'p01 was rendered again').toBe(afterEleventh + 1);
    expect(revalidated.headers.etag).toBe(held.headers.etag);
    await request(service.app).get(feedPath(service, PEOPLE[1]!)).set('If-Modified-Since', held.headers['last-modified']!).expect(304);
    const again = await request(service.app).get(feedPath(service, PEOPLE[1]!)).set('Accept-Encoding', 'identity').expect(200);
    expect(again.text).toBe(held.text);
    expect(again.headers.etag).toBe(held.headers.etag);
    expect(again.headers['last-modified']).toBe(held.headers['last-modified']);

    // Every feed, many times over: the cache never holds more than its bound.
    for (let round = 0; round < 3; round++) {
      for (const email of PEOPLE) {
        expect(parseIcs(await feedBytes(service, email)).events).toHaveLength(1);
        expect(service.feeds.cachedBytes()).toBeLessThanOrEqual(bound);
      }
    }
    expect(service.feeds.cachedFeeds()).toBeLessThanOrEqual(10);
  });

  it('serves a feed larger than the whole bound, without caching it or evicting the others', async () => {
    const each = await smallFeedBytes();
    const bound = Math.floor(10.5 * each);
    const service = buildTestService(fake, { overrides: { feedCacheMaxBytes: bound } });
    await service.sync.refresh();
    for (const email of PEOPLE.slice(0, 5)) await feedBytes(service, email);
    const cachedBefore = service.feeds.cachedBytes();

    const big = await feedBytes(service, BIG);
    expect(big.length).toBeGreaterThan(bound);
    expect(parseIcs(big).events).toHaveLength(100);
    expect(service.feeds.cachedFeeds()).toBe(5);
    expect(service.feeds.cachedBytes()).toBe(cachedBefore);
    // Served again, it is rendered again, to the same bytes.
    expect((await feedBytes(service, BIG)).equals(big)).toBe(true);
    const etag = (await request(service.app).get(feedPath(service, BIG)).expect(200)).headers.etag!;
    await request(service.app).get(feedPath(service, BIG)).set('If-None-Match', etag).expect(304);
  });

  it('takes its bound from FEED_CACHE_MAX_MB', async () => {
    // One interviewer with 2,000 interviews: a feed of more than 1 MB.
    fake.setRecords(
      Array.from({ length: 2_000 }, (_, n) =>
        interviewRecord({
          id: `huge-${n}`,
          title: `Loop interview ${n} `.padEnd(150, '.'),
          starting_at: new Date(Date.UTC(2026, 11, 1) + n * 3_600_000).toISOString(),
          ending_at: new Date(Date.UTC(2026, 11, 1) + n * 3_600_000 + 1_800_000).toISOString(),
          users: [komboUser(BIG, 'Big', 'Panel')],
        }),
      ),
    );
    const oneMegabyte = buildTestService(fake, { env: { FEED_CACHE_MAX_MB: '1' } });
    expect(oneMegabyte.config.feedCacheMaxBytes).toBe(1_048_576);
    await oneMegabyte.sync.refresh();
    expect((await feedBytes(oneMegabyte, BIG)).length).toBeGreaterThan(1_048_576);
    expect(oneMegabyte.feeds.cachedFeeds()).toBe(0);

    const roomy = buildTestService(fake, { env: { FEED_CACHE_MAX_MB: '2' } });
    await roomy.sync.refresh();
    await feedBytes(roomy, BIG);
    expect(roomy.feeds.cachedFeeds()).toBe(1);
  });
});
