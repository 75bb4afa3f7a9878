import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKomboClient, type KomboClient } from '../../src/kombo/create-kombo-client.js';
import { KomboError } from '../../src/kombo/kombo-error.js';
import {
  MAX_CURSOR_LENGTH,
  paginateInterviews,
  PAGE_SIZE,
  type InterviewPage,
  type InterviewQuery,
} from '../../src/kombo/paginate-interviews.js';
import { manyRecords } from '../helpers/factories.js';
import { komboClientOptions, startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';

function clientFor(fake: FakeKombo): KomboClient {
  return createKomboClient({ ...komboClientOptions(fake), sleep: async () => {} });
}

/** Every page of a walk, or the error that ended it together with the pages read before it. */
async function walk(client: KomboClient, query: InterviewQuery = {}) {
  const pages: InterviewPage[] = [];
  try {
    for await (const page of paginateInterviews(client, query)) pages.push(page);
    return { pages, error: undefined };
  } catch (error) {
    expect(error).toBeInstanceOf(KomboError);
    return { pages, error: error as KomboError };
  }
}

const ids = (pages: InterviewPage[]) => pages.flatMap((page) => page.results.map((record) => (record as { id: string }).id));

describe('paginateInterviews', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('follows data.next until it is null, asking for 250 a page', async () => {
    fake.setRecords(manyRecords(5, ['ada@example.com']));
    const { pages, error } = await walk(clientFor(fake));
    expect(error).toBeUndefined();
    expect(ids(pages)).toEqual(['iv-0000', 'iv-0001', 'iv-0002', 'iv-0003', 'iv-0004']);
    expect(fake.requests.map((r) => r.query.page_size)).toEqual(['250', '250', '250']);
    expect(fake.requests[0]!.query.cursor).toBeUndefined();
    expect(pages.map((p) => p.cursor)).toEqual([undefined, fake.requests[1]!.query.cursor, fake.requests[2]!.query.cursor]);
    // A full walk never asks for deleted records: the fake (like Kombo) hides them.
    for (const request of fake.requests) expect(request.query).not.toHaveProperty('include_deleted');
  });

  it('sends updated_after (UTC with Z) and include_deleted=true on every page of an incremental walk', async () => {
    fake.setRecords(manyRecords(5, ['ada@example.com']));
    const { error } = await walk(clientFor(fake), { updatedAfter: new Date(Date.UTC(2026, 9, 31, 23, 59, 0, 5)) });
    expect(error).toBeUndefined();
    expect(fake.requests).toHaveLength(3);
    for (const request of fake.requests) {
      expect(request.query).toMatchObject({ updated_after: '2026-10-31T23:59:00.005Z', include_deleted: 'true', page_size: '250' });
    }
  });

  it('reads an empty listing as one page', async () => {
    const { pages, error } = await walk(clientFor(fake));
    expect(error).toBeUndefined();
    expect(pages).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('fails the walk when a cursor comes back a second time', async () => {
    fake.setRecords(manyRecords(6, ['ada@example.com']));
    fake.fail({ type: 'repeat-cursor' }, { when: (r) => r.query.cursor !== undefined });
    const { error } = await walk(clientFor(fake));
    expect(error).toMatchObject({ kind: 'pagination' });
    expect(error!.message).toMatch(/twice/);
    expect(fake.requests.length).toBeLessThanOrEqual(4);
  });

  it('fails the walk past the page cap instead of passing a truncated listing off as complete', async () => {
    fake.setRecords(manyRecords(7, ['ada@example.com']));
    const { pages, error } = await walk(clientFor(fake), { maxPages: 3 });
    expect(error).toMatchObject({ kind: 'pagination' });
    expect(error!.message).toMatch(/cap of 3 pages/);
    expect(pages).toHaveLength(3);
    expect(fake.requests).toHaveLength(3);
  });

  it('fails the walk on a page whose envelope is not Kombo’s, without retrying it', async () => {
    fake.setRecords(manyRecords(5, ['ada@example.com']));
    fake.fail({ type: 'invalid-envelope' }, { when: (r) => r.query.cursor !== undefined });
    const { pages, error } = await walk(clientFor(fake));
    expect(error).toMatchObject({ kind: 'invalid_response' });
    expect(error!.message).toMatch(/page 2 has an invalid envelope at data\.next/);
    expect(pages).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('counts the attempts each page took', async () => {
    fake.setRecords(manyRecords(3, ['ada@example.com']));
    fake.fail({ type: 'status', status: 503 }, { when: (r) => r.query.cursor !== undefined });
    const { pages } = await walk(clientFor(fake));
    expect(pages.map((p) => p.attempts)).toEqual([1, 2]);
  });

  it.each([
    [1_000, 4],
    [2_600, 11],
  ])('walks %i interviews in %i requests at 250 a page', async (count, requests) => {
    fake.pageSize = PAGE_SIZE;
    fake.setRecords(manyRecords(count, ['ada@example.com', 'grace@example.com']));
    const { pages, error } = await walk(clientFor(fake));
    expect(error).toBeUndefined();
    expect(ids(pages)).toHaveLength(count);
    expect(fake.requests).toHaveLength(Math.ceil(count / PAGE_SIZE));
    expect(fake.requests).toHaveLength(requests);
  });

  describe('bounds on what one page and one walk hold (issue 14, finding 2)', () => {
    const NO_LIMIT = { records: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER, basis: 'test' };

    it('reads a page of exactly the 250 records asked for, and refuses one of 251 without asking for the next', async () => {
      fake.setRecords(manyRecords(300, ['ada@example.com']));
      fake.fail({ type: 'page-size', size: PAGE_SIZE });
      const { pages, error } = await walk(clientFor(fake));
      expect(error).toBeUndefined();
      expect(pages[0]!.results).toHaveLength(250);
      expect(ids(pages)).toHaveLength(300);

      fake.requests.length = 0;
      fake.fail({ type: 'page-size', size: PAGE_SIZE + 1 }, { times: 100 });
      const refused = await walk(clientFor(fake));
      expect(refused.error).toMatchObject({ kind: 'too_large', attempts: 1 });
      expect(refused.error!.message).toBe('Kombo page 1 holds 251 records, more than the 250 asked for');
      expect(refused.pages).toEqual([]);
      expect(fake.requests).toHaveLength(1);
    });

    it(`follows a cursor of exactly ${MAX_CURSOR_LENGTH} characters, and refuses one of one more without following it`, async () => {
      fake.setRecords(manyRecords(5, ['ada@example.com']));
      fake.fail({ type: 'long-cursor', length: MAX_CURSOR_LENGTH }, { times: 100 });
      const { pages, error } = await walk(clientFor(fake));
      expect(error).toBeUndefined();
      expect(ids(pages)).toHaveLength(5);
      expect(pages[1]!.cursor).toHaveLength(MAX_CURSOR_LENGTH);

      fake.requests.length = 0;
      fake.clearFaults();
      fake.fail({ type: 'long-cursor', length: MAX_CURSOR_LENGTH + 1 }, { times: 100 });
      const refused = await walk(clientFor(fake));
      expect(refused.error).toMatchObject({ kind: 'too_large' });
      expect(refused.error!.message).toBe('Kombo page 1 has a cursor of 4,097 characters; at most 4096 are accepted');
      expect(fake.requests).toHaveLength(1);
    });

    it('reads a walk of exactly its budget of records, and stops one record short of it before asking for more', async () => {
      fake.setRecords(manyRecords(5, ['ada@example.com']));
      const { pages, error } = await walk(clientFor(fake), { budget: { ...NO_LIMIT, records: 5 } });
      expect(error).toBeUndefined();
      expect(ids(pages)).toHaveLength(5);

      fake.requests.length = 0;
      const short = await walk(clientFor(fake), { budget: { ...NO_LIMIT, records: 4, basis: 'the budget is a test' } });
      expect(short.error).toMatchObject({ kind: 'over_budget', attempts: 1 });
      expect(short.error!.message).toBe('Kombo walk passed its budget of 4 records at page 3 (the budget is a test)');
      expect(short.pages).toHaveLength(2);
      expect(fake.requests).toHaveLength(3);

      // Passing it on a page with more to come asks for no further page.
      fake.requests.length = 0;
      const early = await walk(clientFor(fake), { budget: { ...NO_LIMIT, records: 3 } });
      expect(early.error!.message).toMatch(/budget of 3 records at page 2/);
      expect(fake.requests).toHaveLength(2);
    });

    it('counts the bytes of each page once decoded, and holds a walk to its budget of bytes at the byte', async () => {
      fake.setRecords(manyRecords(5, ['ada@example.com']));
      fake.fail({ type: 'padded', bytes: 10_000, gzip: true });
      expect((await walk(clientFor(fake))).pages[0]!.bytes).toBe(10_000);

      const { pages } = await walk(clientFor(fake));
      // Each page's bytes are the JSON the stand-in sent for it.
      pages.forEach((page, n) => {
        const sent = JSON.stringify({ status: 'success', data: { next: pages[n + 1]?.cursor ?? null, results: page.results } });
        expect(page.bytes).toBe(Buffer.byteLength(sent));
      });
      const total = pages.reduce((sum, page) => sum + page.bytes, 0);
      expect((await walk(clientFor(fake), { budget: { ...NO_LIMIT, bytes: total } })).error).toBeUndefined();

      fake.requests.length = 0;
      const over = await walk(clientFor(fake), { budget: { ...NO_LIMIT, bytes: total - 1 } });
      expect(over.error).toMatchObject({ kind: 'over_budget' });
      expect(over.error!.message).toBe(`Kombo walk passed its budget of ${(total - 1).toLocaleString('en')} bytes at page 3 (test)`);
      expect(over.pages).toHaveLength(2);
      expect(fake.requests).toHaveLength(3);
    });
  });
});
