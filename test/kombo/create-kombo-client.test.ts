import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createKomboClient,
  DEFAULT_MAX_RESPONSE_BYTES,
  MAX_ERROR_BODY_BYTES,
  type KomboClientOptions,
} from '../../src/kombo/create-kombo-client.js';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { DEFAULT_RETRY_POLICY } from '../../src/kombo/retry-policy.js';
import { interviewRecord } from '../helpers/factories.js';
import { komboClientOptions, startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';

const QUERY = { page_size: '250' };
const kombo = (code: string, message = 'fake failure') => ({ status: 'error', error: { code, title: null, message, log_url: null } });

/** A client against `fake` whose clock only moves when it sleeps, recording every wait it asks for. */
function clientFor(fake: FakeKombo, options: Partial<KomboClientOptions> = {}) {
  const delays: number[] = [];
  const time = { now: fake.clock };
  const client = createKomboClient({
    ...komboClientOptions(fake),
    now: () => time.now,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
      time.now += ms;
    },
    ...options,
  });
  return { client, delays, time };
}

async function failure(promise: Promise<unknown>): Promise<KomboError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KomboError);
  return error as KomboError;
}

describe('createKomboClient against a fake Kombo over loopback', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord()]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('authenticates with the bearer key and the integration header, and sends the query', async () => {
    const { client } = clientFor(fake);
    const response = await client.get('/ats/interviews', { page_size: '250', updated_after: '2026-11-01T11:59:00.000Z' });
    expect(response.attempts).toBe(1);
    expect((response.body as { data: { results: unknown[] } }).data.results).toHaveLength(1);
    expect(fake.requests).toEqual([
      {
        path: '/v1/ats/interviews',
        query: { page_size: '250', updated_after: '2026-11-01T11:59:00.000Z' },
        authorization: `Bearer ${fake.apiKey}`,
        integrationId: fake.integrationId,
      },
    ]);
  });

  describe('429 with Retry-After', () => {
    it('waits the seconds Kombo asks for, then succeeds', async () => {
      fake.fail({ type: 'status', status: 429, body: kombo('PLATFORM.RATE_LIMIT_EXCEEDED'), headers: { 'Retry-After': '7' } });
      const { client, delays } = clientFor(fake);
      const response = await client.get('/ats/interviews', QUERY);
      expect(delays).toEqual([7_000]);
      expect(response.attempts).toBe(2);
      expect(fake.requests).toHaveLength(2);
    });

    it('waits until an HTTP date, measured on the injected clock', async () => {
      const { client, delays, time } = clientFor(fake);
      fake.fail({ type: 'status', status: 429, headers: { 'Retry-After': new Date(time.now + 13_000).toUTCString() } });
      await client.get('/ats/interviews', QUERY);
      expect(delays).toEqual([13_000]);
      expect(fake.requests).toHaveLength(2);
    });

    it('backs off exponentially when there is no Retry-After', async () => {
      fake.fail({ type: 'status', status: 429 }, { times: 2 });
      const { client, delays } = clientFor(fake, { random: () => 1 });
      await client.get('/ats/interviews', QUERY);
      expect(delays).toEqual([1_000, 2_000]);
    });

    it('gives up at once, saying why, when Retry-After is longer than the policy waits', async () => {
      fake.fail({ type: 'status', status: 429, headers: { 'Retry-After': '3600' } });
      const { client, delays } = clientFor(fake);
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error.status).toBe(429);
      expect(error.message).toMatch(/Retry-After 3600 s is longer than we wait/);
      expect(delays).toEqual([]);
      expect(fake.requests).toHaveLength(1);
    });
  });

  it('retries a 5xx storm up to maxAttempts, then fails with the status, the attempts and why', async () => {
    fake.fail({ type: 'status', status: 503 }, { times: 100 });
    const { client, delays } = clientFor(fake);
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(fake.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(error).toMatchObject({ kind: 'http', status: 503, attempts: 3 });
    expect(error.message).toMatch(/503.*gave up after 3 attempts/);
  });

  it('recovers from a short 5xx burst', async () => {
    fake.fail({ type: 'status', status: 502 }, { times: 2 });
    const { client } = clientFor(fake);
    expect((await client.get('/ats/interviews', QUERY)).attempts).toBe(3);
  });

  it.each([400, 401, 403, 404, 422])('does not retry a %i: exactly one request', async (status) => {
    fake.fail({ type: 'status', status }, { times: 100 });
    const { client, delays } = clientFor(fake);
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(error).toMatchObject({ kind: 'http', status, attempts: 1 });
    expect(fake.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it("branches on Kombo's error.code: a 400 REMOTE.RATE_LIMIT_EXCEEDED is retried", async () => {
    fake.fail({ type: 'status', status: 400, body: kombo('REMOTE.RATE_LIMIT_EXCEEDED', 'the ATS is rate limiting us') });
    const { client } = clientFor(fake);
    expect((await client.get('/ats/interviews', QUERY)).attempts).toBe(2);
    expect(fake.requests).toHaveLength(2);
  });

  it("branches on Kombo's error.code: a 503 PLATFORM.AUTHENTICATION_INVALID is not retried", async () => {
    fake.fail({ type: 'status', status: 503, body: kombo('PLATFORM.AUTHENTICATION_INVALID', 'bad key') }, { times: 100 });
    const { client } = clientFor(fake);
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(error).toMatchObject({ status: 503, code: 'PLATFORM.AUTHENTICATION_INVALID', attempts: 1 });
    expect(error.message).toContain('PLATFORM.AUTHENTICATION_INVALID: bad key');
    expect(fake.requests).toHaveLength(1);
  });

  it('fails a wrong API key at once, without retrying and without the key in the error', async () => {
    const { client } = clientFor(fake, { apiKey: 'sk-wrong-key-that-must-not-leak' });
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(error).toMatchObject({ status: 401, code: 'PLATFORM.AUTHENTICATION_INVALID' });
    expect(fake.requests).toHaveLength(1);
    const everything = `${error.message} ${JSON.stringify(error)} ${JSON.stringify(error.request)} ${String(error.stack)}`;
    expect(everything).not.toContain('sk-wrong-key-that-must-not-leak');
  });

  it('retries a 200 whose body is not JSON, and reports invalid_json when it persists', async () => {
    fake.fail({ type: 'malformed' });
    const { client } = clientFor(fake);
    expect((await client.get('/ats/interviews', QUERY)).attempts).toBe(2);

    fake.requests.length = 0;
    fake.fail({ type: 'malformed' }, { times: 100 });
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(error).toMatchObject({ kind: 'invalid_json', attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  it('retries a dropped connection, and reports a network error when it persists', async () => {
    fake.fail({ type: 'drop' });
    const { client } = clientFor(fake);
    expect((await client.get('/ats/interviews', QUERY)).attempts).toBe(2);

    fake.fail({ type: 'drop' }, { times: 100 });
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(error).toMatchObject({ kind: 'network', attempts: 3 });
  });

  it('times out a hung response, retries it, and reports a timeout when it persists', async () => {
    fake.fail({ type: 'hang' });
    const { client } = clientFor(fake, { timeoutMs: 150 });
    expect((await client.get('/ats/interviews', QUERY)).attempts).toBe(2);

    fake.fail({ type: 'hang' }, { times: 100 });
    const error = await failure(client.get('/ats/interviews', QUERY));
    expect(error).toMatchObject({ kind: 'timeout', attempts: 3 });
    expect(error.message).toMatch(/did not answer within 150 ms/);
  });

  it('stops at once when its signal aborts, without further attempts', async () => {
    fake.fail({ type: 'hang' }, { times: 100 });
    const controller = new AbortController();
    const { client } = clientFor(fake, { timeoutMs: 10_000 });
    const pending = failure(client.get('/ats/interviews', QUERY, controller.signal));
    while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('shutting down'));
    expect(await pending).toMatchObject({ kind: 'aborted' });
    expect(fake.requests).toHaveLength(1);
  });

  describe('bounded time with the DEFAULT policy', () => {
    it('gives up on a permanently failing Kombo within a minute of simulated time, saying why', async () => {
      fake.fail({ type: 'status', status: 500 }, { times: 1_000 });
      const { client, delays, time } = clientFor(fake, { policy: DEFAULT_RETRY_POLICY, random: Math.random });
      const started = time.now;
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(time.now - started).toBeLessThanOrEqual(60_000);
      expect(fake.requests).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
      expect(delays.every((ms) => ms > 0)).toBe(true);
      expect(error.message).toMatch(/500.*gave up after 5 attempts/);
    });

    it('gives up on endless 429s within about a minute even when each Retry-After is within the cap', async () => {
      fake.fail({ type: 'status', status: 429, headers: { 'Retry-After': '20' } }, { times: 1_000 });
      const { client, delays, time } = clientFor(fake, { policy: DEFAULT_RETRY_POLICY });
      const started = time.now;
      const error = await failure(client.get('/ats/interviews', QUERY));
      // A fourth attempt would start as the minute ends, with nothing of it left to run in.
      expect(delays).toEqual([20_000, 20_000]);
      expect(time.now - started).toBeLessThanOrEqual(60_000);
      expect(error.message).toMatch(/429.*gave up after 3 attempts in 40 s/);
    });

    it('cuts the timeout of a retry to what is left of the budget, so a last hang cannot outlast it', async () => {
      // The first attempt answers 429 and asks for 19 s, which leaves 200 ms of a 19.2 s budget for the retry.
      fake.fail({ type: 'status', status: 429, headers: { 'Retry-After': '19' } });
      fake.fail({ type: 'hang' }, { times: 100 });
      const policy = { ...DEFAULT_RETRY_POLICY, budgetMs: 19_200 };
      const { client, time } = clientFor(fake, { policy, timeoutMs: 10_000 });
      const started = time.now;
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ kind: 'timeout', attempts: 2 });
      expect(error.message).toMatch(/did not answer within 200 ms/);
      expect(time.now - started).toBe(19_000);
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('the size of an answer (issue 14, finding 1)', () => {
    const CAP = 64 * 1024;
    /** What the reported bomb inflated to, from about 2 MB of gzip; the stand-in makes it only as fast as it is read. */
    const BOMB = 2_200_000_000;
    const results = (response: { body: unknown }) => (response.body as { data: { results: unknown[] } }).data.results;

    it('reads a gzip answer of exactly maxResponseBytes once inflated, and refuses one byte more at once, unretried', async () => {
      const { client } = clientFor(fake, { maxResponseBytes: CAP });
      fake.fail({ type: 'padded', bytes: CAP, gzip: true });
      const response = await client.get('/ats/interviews', QUERY);
      expect(response.bytes).toBe(CAP);
      expect(results(response)).toHaveLength(1);

      fake.requests.length = 0;
      fake.fail({ type: 'padded', bytes: CAP + 1, gzip: true }, { times: 100 });
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ kind: 'too_large', status: 200, attempts: 1 });
      expect(error.message).toBe(
        'Kombo answered 200 with a body of more than 65,536 bytes; an answer may hold 65,536 bytes once decoded (KOMBO_MAX_RESPONSE_MB)',
      );
      expect(fake.requests).toHaveLength(1);
    });

    it('reads an unencoded answer of exactly maxResponseBytes, and refuses a larger one from its Content-Length alone', async () => {
      const { client } = clientFor(fake, { maxResponseBytes: CAP });
      fake.fail({ type: 'padded', bytes: CAP });
      const response = await client.get('/ats/interviews', QUERY);
      expect(response.bytes).toBe(CAP);
      expect(results(response)).toHaveLength(1);

      fake.requests.length = 0;
      fake.fail({ type: 'padded', bytes: CAP + 1 }, { times: 100 });
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ kind: 'too_large', attempts: 1 });
      expect(error.message).toMatch(/^Kombo answered 200 with a Content-Length of 65,537 bytes; an answer may hold 65,536 bytes/);
      expect(fake.requests).toHaveLength(1);
    });

    it('stops reading a gzip bomb of 2.2 GB just past the default cap: the stand-in got to send a sliver of it', async () => {
      fake.fail({ type: 'padded', bytes: BOMB, gzip: true });
      const { client } = clientFor(fake);
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ kind: 'too_large', attempts: 1 });
      expect(error.message).toContain(`more than ${DEFAULT_MAX_RESPONSE_BYTES.toLocaleString('en')} bytes`);
      expect(fake.requests).toHaveLength(1);
      // Cancelling the body closed the connection: the stand-in stopped long before the end of the bomb.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fake.streamed).toHaveLength(1);
      expect(fake.streamed[0]!.complete).toBe(false);
      expect(fake.streamed[0]!.bytes).toBeLessThan(BOMB / 4);
      // The connection pool is fine: the next request is answered.
      expect(results(await client.get('/ats/interviews', QUERY))).toHaveLength(1);
    });

    it('refuses a declared 2.2 GB body from its headers, without reading it', async () => {
      fake.fail({ type: 'padded', bytes: BOMB });
      const { client } = clientFor(fake);
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ kind: 'too_large', attempts: 1 });
      expect(error.message).toContain('Content-Length of 2,200,000,000 bytes');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fake.streamed[0]!.complete).toBe(false);
      expect(fake.streamed[0]!.bytes).toBeLessThan(BOMB / 4);
    });

    it(`reads at most ${MAX_ERROR_BODY_BYTES / 1024} KiB of an error answer: a 503 whose body inflates to 2.2 GB is still a retried 503`, async () => {
      fake.fail({ type: 'padded', bytes: BOMB, gzip: true, status: 503 }, { times: 100 });
      const { client } = clientFor(fake);
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ kind: 'http', status: 503, attempts: 3 });
      expect(error.message).toMatch(/^Kombo answered 503 \(gave up after 3 attempts\)$/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fake.streamed).toHaveLength(3);
      for (const answer of fake.streamed) expect(answer.bytes).toBeLessThan(BOMB / 4);
    });

    it("still reads Kombo's error code and message from an error answer within the limit", async () => {
      fake.fail({ type: 'status', status: 400, body: kombo('PLATFORM.INPUT_INVALID', 'x'.repeat(MAX_ERROR_BODY_BYTES - 200)) });
      const { client } = clientFor(fake);
      const error = await failure(client.get('/ats/interviews', QUERY));
      expect(error).toMatchObject({ status: 400, code: 'PLATFORM.INPUT_INVALID' });
    });
  });
});
