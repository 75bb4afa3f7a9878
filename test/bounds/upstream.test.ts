import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../src/kombo/create-kombo-client.js';
import { DEFAULT_MAX_PAGES, PAGE_SIZE } from '../../src/kombo/paginate-interviews.js';
import { DEFAULT_WALK_CEILING, WALK_BUDGET_FLOOR, WALK_BUDGET_HEADROOM, walkBudget } from '../../src/sync/walk-budget.js';
import { interviewRecord, komboUser, manyRecords } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo, type RecordedRequest } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedBytes } from '../helpers/test-service.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';

// Issue 14, findings 1 and 2: a hostile or broken upstream gets a failed walk, never a crash or an emptied calendar.

const MiB = 1024 * 1024;
const MINUTE = 60_000;
const PEOPLE = ['ada@example.com', 'grace@example.com', 'katherine@example.com'];
const paged = (r: RecordedRequest) => r.query.cursor !== undefined;
/** Big organisations spread over a hundred interviewers, so the feeds the tests compare stay small. */
const CROWD = [...PEOPLE, ...Array.from({ length: 97 }, (_, n) => `person-${n}@example.com`)];

/** Eight interviews over three interviewers; with two records a page a full walk is four pages. */
function records(titlePrefix = 'Interview') {
  return Array.from({ length: 8 }, (_, n) =>
    interviewRecord({
      id: `iv-${n}`,
      title: `${titlePrefix} ${n}`,
      starting_at: new Date(Date.UTC(2026, 11, 1 + n, 10)).toISOString(),
      ending_at: new Date(Date.UTC(2026, 11, 1 + n, 11)).toISOString(),
      users: [komboUser(PEOPLE[n % 3]!, 'Person', String(n % 3))],
    }),
  );
}

/** The test service with a timeout no loaded machine reaches: these tests stream megabytes, and have no hangs. */
const buildService = (fake: FakeKombo, env: Record<string, string> = {}) =>
  buildTestService(fake, { env, overrides: { timeoutMs: 30_000 } });

async function allFeeds(service: Service): Promise<Map<string, Buffer>> {
  return new Map(await Promise.all(PEOPLE.map(async (email) => [email, await feedBytes(service, email)] as const)));
}

const titles = (bytes: Buffer) => parseIcs(bytes).events.map((event) => event.summary);

/** A walk that failed: every feed byte for byte as before, one failure counted, the failure logged as such. */
async function expectNothingApplied(service: ReturnType<typeof buildTestService>, before: Map<string, Buffer>, reason: RegExp) {
  const after = await allFeeds(service);
  for (const email of PEOPLE) expect(after.get(email)!.equals(before.get(email)!), email).toBe(true);
  expect(service.sync.status()).toMatchObject({ running: false, consecutiveFailures: 1, lastFailure: { error: expect.stringMatching(reason) } });
  const failed = service.logs.lines.filter((line) => line.level === 'error' && /previous snapshot keeps serving/.test(String(line.msg)));
  expect(failed).toHaveLength(1);
  expect(JSON.stringify(failed[0])).toMatch(reason);
}

/** Once the upstream behaves, the next walk applies whatever was held back: the process is fine. */
async function expectRecovery(service: ReturnType<typeof buildTestService>, fake: FakeKombo) {
  fake.clearFaults();
  const summary = await service.sync.refresh();
  expect(summary.changes).toBe(8);
  expect(titles(await feedBytes(service, 'ada@example.com'))).toEqual(['Renamed 0', 'Renamed 3', 'Renamed 6']);
  expect(service.sync.status().consecutiveFailures).toBe(0);
}

describe('finding 1: a Kombo answer is read against a byte cap, after decoding', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
  });
  afterEach(async () => {
    await fake.close();
  });

  /** A service with a snapshot, and Kombo now holding a renamed copy of every interview. */
  async function servingThenRenamed(env: Record<string, string> = {}) {
    const service = buildService(fake, env);
    await service.sync.refresh();
    const before = await allFeeds(service);
    fake.clock += 5 * MINUTE;
    for (const record of records('Renamed')) fake.upsert(record);
    fake.requests.length = 0;
    return { service, before };
  }

  it('a page that inflates to one byte over KOMBO_MAX_RESPONSE_MB fails the walk at once; feeds keep their bytes', async () => {
    const { service, before } = await servingThenRenamed({ KOMBO_MAX_RESPONSE_MB: '1' });
    fake.fail({ type: 'padded', bytes: MiB + 1, gzip: true }, { times: 1_000, when: paged });
    await expect(service.sync.refresh()).rejects.toThrow(/more than 1,048,576 bytes.*KOMBO_MAX_RESPONSE_MB/);
    // Page 1, then page 2 once: the same page would be as large again, so it is not retried.
    expect(fake.requests).toHaveLength(2);
    await expectNothingApplied(service, before, /KOMBO_MAX_RESPONSE_MB/);
    await expectRecovery(service, fake);
  });

  it('a page that inflates to exactly KOMBO_MAX_RESPONSE_MB is read', async () => {
    const { service } = await servingThenRenamed({ KOMBO_MAX_RESPONSE_MB: '1' });
    fake.fail({ type: 'padded', bytes: MiB, gzip: true }, { when: paged });
    expect((await service.sync.refresh()).changes).toBe(8);
  });

  it('the reported bomb (2.2 GB from about 2 MB of gzip) fails the walk at the default cap; the process carries on', async () => {
    const { service, before } = await servingThenRenamed();
    fake.fail({ type: 'padded', bytes: 2_200_000_000, gzip: true }, { times: 1_000 });
    await expect(service.sync.refresh()).rejects.toThrow(`more than ${DEFAULT_MAX_RESPONSE_BYTES.toLocaleString('en')} bytes`);
    expect(fake.requests).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.streamed).toHaveLength(1);
    expect(fake.streamed[0]!.complete).toBe(false);
    expect(fake.streamed[0]!.bytes).toBeLessThan(2_200_000_000 / 4);
    await expectNothingApplied(service, before, /KOMBO_MAX_RESPONSE_MB/);
    await expectRecovery(service, fake);
  });
});

describe('finding 2: pages and walks have bounds', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('an upstream answering fresh cursors forever ends at the walk budget, before asking for more', async () => {
    fake.pageSize = 2;
    fake.setRecords(records());
    const service = buildService(fake, { KOMBO_WALK_MAX_RECORDS: '1000' });
    await service.sync.refresh();
    const before = await allFeeds(service);
    fake.clock += 5 * MINUTE;
    fake.pageSize = PAGE_SIZE;
    fake.setRecords(manyRecords(2 * PAGE_SIZE, PEOPLE));
    fake.requests.length = 0;
    // 40 answers with a fresh cursor each; bounded so that a walk with no budget ends too, with 10,000 records.
    fake.fail({ type: 'endless-cursors' }, { times: 40 });
    // The budget is the ceiling here: 4 × 8 records is under the floor, and the floor over KOMBO_WALK_MAX_RECORDS.
    await expect(service.sync.refresh()).rejects.toThrow(/^Kombo walk passed its budget of 1,000 records at page 5 /);
    expect(fake.requests).toHaveLength(5);
    await expectNothingApplied(service, before, /KOMBO_WALK_MAX_RECORDS/);
    fake.clearFaults();
    expect((await service.sync.refresh()).interviews).toBe(8 + 2 * PAGE_SIZE);
  });

  it('a walk past KOMBO_WALK_MAX_MB of JSON fails at the page that passes it', async () => {
    fake.pageSize = 2;
    fake.setRecords(records());
    const service = buildService(fake, { KOMBO_WALK_MAX_MB: '16' });
    // Four pages of 5 MiB each: the fourth passes 16 MiB.
    fake.fail({ type: 'padded', bytes: 5 * MiB }, { times: 4 });
    await expect(service.sync.refresh()).rejects.toThrow(
      /^Kombo walk passed its budget of 16,777,216 bytes at page 4 \(no walk before this one, so the ceiling: KOMBO_WALK_MAX_RECORDS and KOMBO_WALK_MAX_MB\)$/,
    );
    expect(fake.requests).toHaveLength(4);
    expect(service.feeds.snapshot(fake.integrationId)).toBeUndefined();
    // Three such pages are within it.
    fake.clearFaults();
    fake.fail({ type: 'padded', bytes: 5 * MiB }, { times: 3 });
    expect((await service.sync.refresh()).interviews).toBe(8);
  });

  it('a page holding more records than the 250 asked for fails the walk, unretried', async () => {
    fake.setRecords(manyRecords(600, PEOPLE));
    const service = buildService(fake);
    await service.sync.refresh();
    const before = await allFeeds(service);
    fake.clock += 5 * MINUTE;
    fake.setRecords(manyRecords(600, PEOPLE).map((record) => ({ ...record, title: 'Renamed' })));
    fake.requests.length = 0;
    fake.fail({ type: 'page-size', size: PAGE_SIZE + 1 }, { times: 1_000, when: paged });
    await expect(service.sync.refresh()).rejects.toThrow('Kombo page 2 holds 251 records, more than the 250 asked for');
    expect(fake.requests).toHaveLength(2);
    await expectNothingApplied(service, before, /holds 251 records/);
  });

  it('the budget follows the last good size: 4 ×, and after a walk passes it the next may read 4 × more', async () => {
    fake.setRecords(manyRecords(2_600, CROWD));
    const first = buildService(fake);
    await first.sync.refresh();
    // Another process restored from the same store knows only the snapshot's interviews.
    const restored = buildTestService(fake, { overrides: { timeoutMs: 30_000, state: createMemoryState({ snapshots: first.store }) } });
    expect(await restored.restore()).toBe(true);

    // The organisation grows past 4 × 2,600 at once (a history import, say).
    fake.clock += 5 * MINUTE;
    fake.setRecords(manyRecords(10_500, CROWD));
    const before = await allFeeds(first);
    await expect(restored.sync.refresh()).rejects.toThrow(
      /^Kombo walk passed its budget of 10,400 records at page 42 \(the budget is 4 × the snapshot's interviews \(2,600 records\)/,
    );
    fake.requests.length = 0;
    await expect(first.sync.refresh({ full: true })).rejects.toThrow(
      /^Kombo walk passed its budget of 10,400 records at page 42 \(the budget is 4 × the last full walk \(2,600 records, [\d,]+ bytes\), at least 10,000 records and 64 MiB/,
    );
    expect(fake.requests).toHaveLength(42);
    await expectNothingApplied(first, before, /budget of 10,400 records/);

    // The next walk may read 4 × the budget it passed: real growth lands one walk later.
    const summary = await first.sync.refresh({ full: true });
    expect(summary.interviews).toBe(10_500);
    expect(first.sync.status().consecutiveFailures).toBe(0);
  });
});

describe('walkBudget', () => {
  const ceiling = { records: 100_000, bytes: 512 * MiB };

  it('gives a first walk the ceiling', () => {
    expect(walkBudget(undefined, ceiling)).toMatchObject(ceiling);
    expect(walkBudget(undefined)).toMatchObject(DEFAULT_WALK_CEILING);
  });

  it('is HEADROOM × the last size, at least the floor, at most the ceiling; an unknown byte count gets the ceiling', () => {
    const size = (records: number, bytes: number | undefined) => ({ records, bytes, source: 'the last full walk' });
    expect(WALK_BUDGET_HEADROOM).toBe(4);
    expect(walkBudget(size(20_000, 100 * MiB), ceiling)).toMatchObject({ records: 80_000, bytes: 400 * MiB });
    expect(walkBudget(size(10, 1_000), ceiling)).toMatchObject(WALK_BUDGET_FLOOR);
    expect(walkBudget(size(25_001, 128 * MiB + 1), ceiling)).toMatchObject(ceiling);
    expect(walkBudget(size(25_000, 128 * MiB), ceiling)).toMatchObject(ceiling);
    expect(walkBudget(size(20_000, undefined), ceiling)).toMatchObject({ records: 80_000, bytes: ceiling.bytes });
    // A ceiling under the floor wins.
    expect(walkBudget(size(10, 1_000), { records: 1_000, bytes: 16 * MiB })).toMatchObject({ records: 1_000, bytes: 16 * MiB });
  });

  it('ends an endless walk at the default ceiling far below the heap that crashed the service (computed, not run)', () => {
    // As reported: 5,669 pages of 250 records took the heap to 3.8 GB, about 2.7 KB a record.
    const crashHeap = 3.8e9;
    const heapPerRecord = crashHeap / (5_669 * PAGE_SIZE);
    // The record ceiling: 1,000 pages, about 0.67 GB of such records.
    expect(DEFAULT_WALK_CEILING.records / PAGE_SIZE).toBe(1_000);
    expect(DEFAULT_WALK_CEILING.records * heapPerRecord).toBeLessThan(crashHeap / 5);
    // Changed with issue 23: the byte ceiling bounds traffic, not heap. A walk drops each page once read and holds only
    // the records it keeps (the record ceiling above) besides two answers (the one read, the next on its way)...
    expect(2 * DEFAULT_MAX_RESPONSE_BYTES).toBeLessThan(crashHeap / 10);
    // ...so the ceiling lets a first walk read a million records of history with remote_data (about 3.2 KB each).
    expect(DEFAULT_WALK_CEILING.bytes).toBeGreaterThan(1_000_000 * 3_300);
    // Both end a walk long before the page cap, which alone let it run to 2.5 million records.
    expect(DEFAULT_WALK_CEILING.records).toBeLessThan((DEFAULT_MAX_PAGES * PAGE_SIZE) / 5);
  });
});
