import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { DEFAULT_RETRY_POLICY } from '../../src/kombo/retry-policy.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type Fault, type FakeKombo, type RecordedRequest } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedBytes, feedPath } from '../helpers/test-service.js';

const PEOPLE = ['ada@example.com', 'grace@example.com', 'katherine@example.com'];
const MINUTE = 60_000;

/** Eight interviews over three interviewers; with two records a page a full walk is four pages. */
function records(titlePrefix = 'Interview') {
  return Array.from({ length: 8 }, (_, n) =>
    interviewRecord({
      id: `iv-${n}`,
      title: `${titlePrefix} ${n}`,
      starting_at: new Date(Date.UTC(2026, 11, 1 + n, 10)).toISOString(),
      ending_at: new Date(Date.UTC(2026, 11, 1 + n, 11)).toISOString(),
      users: [komboUser(PEOPLE[n % 3]!, 'Person', String(n % 3)), ...(n === 0 ? [komboUser(PEOPLE[1]!, 'Person', '1')] : [])],
    }),
  );
}

async function allFeeds(service: Service): Promise<Map<string, Buffer>> {
  return new Map(await Promise.all(PEOPLE.map(async (email) => [email, await feedBytes(service, email)] as const)));
}

const titles = (bytes: Buffer) => parseIcs(bytes).events.map((event) => event.summary);

/** /healthz as an operator sees it: with the admin token it also says why the last refresh failed. */
async function healthz(service: Service) {
  return (await request(service.app).get('/healthz').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200)).body as {
    snapshot: { syncedAt: string; interviews: number };
    sync: {
      lastSuccess?: { at: string; kind: string };
      lastFailure?: { at: string; kind: string; error: string };
      consecutiveFailures: number;
    };
  };
}

const paged = (r: RecordedRequest) => r.query.cursor !== undefined;

describe('a walk that fails changes no feed', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let before: Map<string, Buffer>;

  beforeEach(async (context) => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
    // 200 ms per attempt keeps the hung-response cases short; elsewhere a slow machine must not look like a hang.
    service = buildTestService(fake, { overrides: { timeoutMs: /hung/.test(context.task.name) ? 200 : 10_000 } });
    await service.sync.refresh();
    before = await allFeeds(service);
    for (const bytes of before.values()) expect(parseIcs(bytes).events.length).toBeGreaterThan(0);
    // Five minutes on, every interview has been renamed: a walk that got through would change every feed.
    fake.clock += 5 * MINUTE;
    for (const record of records('Renamed')) fake.upsert(record);
    fake.requests.length = 0;
  });
  afterEach(async () => {
    await fake.close();
  });

  /** After the failed walk: every feed byte for byte as before, ready, and /healthz telling what happened. */
  async function expectUnchanged(reason: RegExp) {
    const after = await allFeeds(service);
    for (const email of PEOPLE) expect(after.get(email)!.equals(before.get(email)!), email).toBe(true);
    await request(service.app).get('/readyz').expect(200);
    const health = await healthz(service);
    expect(health.sync.lastFailure).toMatchObject({ kind: 'incremental', error: expect.stringMatching(reason) });
    expect(health.sync.lastSuccess).toBeDefined();
    expect(health.sync.consecutiveFailures).toBe(1);
    expect(health.snapshot.interviews).toBe(8);
    expect(service.logs.lines.some((l) => l.level === 'error' && /previous snapshot keeps serving/.test(String(l.msg)))).toBe(true);
  }

  /** Once Kombo recovers, the next walk brings every change that was held back. */
  async function expectRecovery() {
    fake.clearFaults();
    fake.clock += 5 * MINUTE;
    const summary = await service.sync.refresh();
    expect(summary.kind).toBe('incremental');
    expect(summary.changes).toBe(8);
    const after = await allFeeds(service);
    expect(titles(after.get('ada@example.com')!)).toEqual(['Renamed 0', 'Renamed 3', 'Renamed 6']);
    expect(titles(after.get('grace@example.com')!)).toEqual(['Renamed 0', 'Renamed 1', 'Renamed 4', 'Renamed 7']);
    expect((await healthz(service)).sync.consecutiveFailures).toBe(0);
  }

  const cases: [string, Fault, RegExp][] = [
    ['a 5xx storm that outlasts the retries', { type: 'status', status: 503 }, /503.*gave up after 3 attempts/],
    ['429s that outlast the retries', { type: 'status', status: 429, headers: { 'Retry-After': '1' } }, /429.*gave up after 3 attempts/],
    ['malformed JSON', { type: 'malformed' }, /not JSON/],
    ['a dropped connection', { type: 'drop' }, /request failed/],
    ['a hung response', { type: 'hang' }, /did not answer within 200 ms/],
    ['an invalid envelope', { type: 'invalid-envelope' }, /invalid envelope/],
  ];

  it.each(cases)('%s on the first page', async (_name, fault, reason) => {
    fake.fail(fault, { times: 1_000 });
    await expect(service.sync.refresh()).rejects.toThrow(reason);
    await expectUnchanged(reason);
    await expectRecovery();
  });

  it.each(cases)('%s after page 1 of a multi-page incremental walk', async (_name, fault, reason) => {
    fake.fail(fault, { times: 1_000, when: paged });
    await expect(service.sync.refresh()).rejects.toThrow(reason);
    // Page 1 (two renamed interviews) was read, and still nothing of it shows.
    expect(fake.requests.filter((r) => !paged(r))).toHaveLength(1);
    for (const r of fake.requests) expect(r.query).toMatchObject({ include_deleted: 'true', updated_after: expect.any(String) });
    await expectUnchanged(reason);
    await expectRecovery();
  });

  it('a cursor that repeats', async () => {
    fake.fail({ type: 'repeat-cursor' }, { when: paged });
    await expect(service.sync.refresh()).rejects.toThrow(/twice/);
    await expectUnchanged(/twice/);
    await expectRecovery();
  });

  it('a walk past the page cap', async () => {
    // A first walk past the cap leaves no snapshot: feeds stay 503, never a truncated calendar.
    const capped = buildTestService(fake, { overrides: { maxPages: 2, timeoutMs: 10_000 } });
    await expect(capped.sync.refresh()).rejects.toThrow(/cap of 2 pages/);
    await request(capped.app).get(feedPath(capped, 'ada@example.com')).expect(503);
    await request(capped.app).get('/readyz').expect(503);
    // A service with a snapshot keeps serving it when an incremental walk passes the cap.
    const cappedAfterSnapshot = buildTestService(fake, { overrides: { maxPages: 4, timeoutMs: 10_000 } });
    fake.setRecords(records());
    await cappedAfterSnapshot.sync.refresh();
    const feeds = await allFeeds(cappedAfterSnapshot);
    fake.clock += 5 * MINUTE;
    for (const record of [...records('Renamed'), interviewRecord({ id: 'iv-8', title: 'Ninth' }), interviewRecord({ id: 'iv-9' })]) {
      fake.upsert(record);
    }
    await expect(cappedAfterSnapshot.sync.refresh()).rejects.toThrow(/cap of 4 pages/);
    const after = await allFeeds(cappedAfterSnapshot);
    for (const email of PEOPLE) expect(after.get(email)!.equals(feeds.get(email)!), email).toBe(true);
  });

  it('a short burst of each fault is absorbed by the retries within the same walk', async () => {
    fake.fail({ type: 'status', status: 500 }, { when: paged });
    fake.fail({ type: 'drop' }, { when: paged });
    // Three attempts per request: two faults on one page, then an answer.
    const summary = await service.sync.refresh();
    expect(summary.changes).toBe(8);
    expect(summary.requests).toBe(6);
    expect(titles(await feedBytes(service, 'ada@example.com'))).toEqual(['Renamed 0', 'Renamed 3', 'Renamed 6']);
  });
});

describe('bounded time with the DEFAULT retry policy', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
  });
  afterEach(async () => {
    await fake.close();
  });

  /** The real service with the default policy, whose waits move the fake's clock instead of taking time. */
  function serviceWithDefaults() {
    const slept: number[] = [];
    const service = buildTestService(fake, {
      overrides: {
        policy: DEFAULT_RETRY_POLICY,
        timeoutMs: 10_000,
        sleep: async (ms) => {
          slept.push(ms);
          fake.clock += ms;
        },
      },
    });
    return { service, slept };
  }

  it.each<[string, (clock: number) => void, RegExp]>([
    ['5xx forever', () => fake.fail({ type: 'status', status: 500 }, { times: 1_000 }), /500.*gave up after 5 attempts/],
    [
      '429 with Retry-After 20 forever',
      () => fake.fail({ type: 'status', status: 429, headers: { 'Retry-After': '20' } }, { times: 1_000 }),
      /429.*gave up after 3 attempts in 40 s/,
    ],
    [
      '429 with a Retry-After date 20 s ahead forever',
      // An HTTP date is absolute: the n-th answer names the moment 20 s after the clock reaches it.
      (clock) => {
        for (let n = 1; n <= 10; n++) {
          fake.fail({ type: 'status', status: 429, headers: { 'Retry-After': new Date(clock + 20_000 * n).toUTCString() } });
        }
      },
      /429.*gave up after 3 attempts in 40 s/,
    ],
  ])('a refresh against %s gives up within about a minute of simulated time and says why', async (_name, breakKombo, reason) => {
    const { service, slept } = serviceWithDefaults();
    await service.sync.refresh();
    const before = await feedBytes(service, 'ada@example.com');
    fake.clock += 5 * MINUTE;
    breakKombo(fake.clock);
    const started = fake.clock;
    await expect(service.sync.refresh()).rejects.toThrow(reason);
    expect(fake.clock - started).toBeLessThanOrEqual(60_000);
    expect(slept.length).toBeGreaterThan(0);
    const health = await healthz(service);
    expect(health.sync.lastFailure!.error).toMatch(reason);
    expect((await feedBytes(service, 'ada@example.com')).equals(before)).toBe(true);
    await request(service.app).get('/readyz').expect(200);
  });
});
