import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../src/kombo/create-kombo-client.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo, type RecordedRequest } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedBytes } from '../helpers/test-service.js';

// Issue 14, finding 1: a hostile or broken upstream gets a failed walk, never a crash or an emptied calendar.

const MiB = 1024 * 1024;
const MINUTE = 60_000;
const PEOPLE = ['ada@example.com', 'grace@example.com', 'katherine@example.com'];
const paged = (r: RecordedRequest) => r.query.cursor !== undefined;

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
