import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Interview } from '../../src/interviews/interview.js';
import {
  createRecordInterner,
  clip,
  interviewRecordSchema,
  isRejected,
  MAX_ADDRESS_CHARS,
  MAX_ID_CHARS,
  MAX_NAME_CHARS,
  MAX_REJECTION_MESSAGE_CHARS,
  MAX_TITLE_CHARS,
  MAX_URL_CHARS,
  parseInterviewRecord,
  type ParsedRecord,
  type RejectedRecord,
  toInterview,
} from '../../src/interviews/interview-schema.js';
import { MAX_EMAIL_CHARS } from '../../src/interviews/normalize-email.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

function parsed(overrides: Record<string, unknown> = {}): ParsedRecord {
  const result = parseInterviewRecord(interviewRecord(overrides));
  if (isRejected(result)) throw new Error(`rejected at ${result.path}: ${result.message}`);
  return result;
}

function live(overrides: Record<string, unknown> = {}): Interview {
  const result = parsed(overrides);
  if (result.interview === null) throw new Error(`not live: ${result.reason}`);
  return result.interview;
}

function rejected(raw: unknown): RejectedRecord {
  const result = parseInterviewRecord(raw);
  if (!isRejected(result)) throw new Error('expected a rejection');
  return result;
}

describe('parseInterviewRecord', () => {
  it('reads a complete Kombo record', () => {
    expect(live()).toEqual({
      id: 'iv-1',
      title: 'Technical interview',
      startMs: Date.UTC(2026, 11, 1, 10),
      endMs: Date.UTC(2026, 11, 1, 11),
      address: 'Lohmühlenstraße 65, 12435 Berlin, DE',
      conferencingUrl: 'https://meet.example.com/abc-defg-hij',
      candidateName: 'Marie Curie',
      jobName: 'Backend Engineer',
      jobId: 'job-1',
      // The ids of the linked ATS records, which later changes of those records are applied by.
      interviewers: [{ email: 'ada@example.com', name: 'Ada Lovelace', userId: 'user-ada@example.com' }],
      applicationId: 'app-1',
      candidateId: 'cand-1',
      revisionMs: Date.UTC(2026, 9, 1, 9),
    });
  });

  it('tolerates unknown extra fields, at the top and nested', () => {
    const interview = live({
      brand_new_field: { anything: [1, 2, 3] },
      remote_data: { greenhouse: { deeply: 'nested' } },
      users: [{ ...komboUser('ada@example.com'), avatar: 'x.png', roles: ['lead'] }],
      application: { candidate: { first_name: 'Marie', last_name: 'Curie', tags: ['x'] }, job: { name: 'Chemist', extra: true }, more: 1 },
    });
    expect(interview.candidateName).toBe('Marie Curie');
    expect(interview.jobName).toBe('Chemist');
    expect(interview.interviewers).toEqual([{ email: 'ada@example.com', name: 'Ada Lovelace', userId: 'user-ada@example.com' }]);
  });

  it('trims and lower-cases interviewer emails', () => {
    expect(live({ users: [komboUser('  Ada.Lovelace@Example.COM \t')] }).interviewers[0]!.email).toBe('ada.lovelace@example.com');
  });

  it('keeps an interviewer with a null or blank email (named to the others) without indexing them', () => {
    const { interviewers } = live({ users: [komboUser('ada@example.com'), komboUser(null, 'Grace', 'Hopper'), komboUser('   ', 'Alan', 'Turing')] });
    expect(interviewers).toEqual([
      { email: 'ada@example.com', name: 'Ada Lovelace', userId: 'user-ada@example.com' },
      { email: null, name: 'Grace Hopper', userId: 'user-none' },
      { email: null, name: 'Alan Turing', userId: 'user-   ' },
    ]);
  });

  it('lists the same person once, however the ATS spells their email', () => {
    const { interviewers } = live({
      users: [komboUser('ada@example.com'), komboUser(' ADA@example.com'), komboUser('grace@example.com', 'Grace', 'Hopper')],
    });
    expect(interviewers.map((p) => p.email)).toEqual(['ada@example.com', 'grace@example.com']);
  });

  it('accepts emails that fail Kombo’s own pattern', () => {
    expect(live({ users: [komboUser("o'brien+x@example.co.uk")] }).interviewers[0]!.email).toBe("o'brien+x@example.co.uk");
  });

  it('reads null users as an interview nobody is indexed by', () => {
    expect(live({ users: null }).interviewers).toEqual([]);
  });

  describe('lengths', () => {
    it('cuts a title, name, job name or address over its cap on a character boundary, ending in …', () => {
      const interview = live({
        title: 'T'.repeat(MAX_TITLE_CHARS + 1),
        location: { raw: 'A'.repeat(MAX_ADDRESS_CHARS * 3) },
        application: { candidate: { first_name: 'C'.repeat(MAX_NAME_CHARS), last_name: 'Curie' }, job: { name: 'J'.repeat(10_000) } },
        users: [komboUser('ada@example.com', 'F'.repeat(MAX_NAME_CHARS + 1), null)],
      });
      expect(interview.title).toBe(`${'T'.repeat(MAX_TITLE_CHARS - 1)}…`);
      expect(interview.address).toBe(`${'A'.repeat(MAX_ADDRESS_CHARS - 1)}…`);
      expect(interview.candidateName).toBe(`${'C'.repeat(MAX_NAME_CHARS - 1)}…`);
      expect(interview.jobName).toBe(`${'J'.repeat(MAX_TITLE_CHARS - 1)}…`);
      expect(interview.interviewers[0]!.name).toBe(`${'F'.repeat(MAX_NAME_CHARS - 1)}…`);
    });

    it('keeps a value exactly at its cap whole, and measures it after trimming', () => {
      expect(live({ title: ` ${'T'.repeat(MAX_TITLE_CHARS)}\n` }).title).toBe('T'.repeat(MAX_TITLE_CHARS));
      expect(live({ location: { raw: null, street_1: 'S'.repeat(MAX_ADDRESS_CHARS), city: 'Berlin' } }).address).toBe(
        `${'S'.repeat(MAX_ADDRESS_CHARS - 1)}…`,
      );
    });

    it('never cuts between the halves of a surrogate pair', () => {
      // The cut falls just after a high surrogate: the whole emoji goes.
      const title = `${'a'.repeat(MAX_TITLE_CHARS - 2)}${'😀'.repeat(10)}`;
      const cut = live({ title }).title!;
      expect(cut).toBe(`${'a'.repeat(MAX_TITLE_CHARS - 2)}…`);
      expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut); // no lone surrogate, which UTF-8 cannot carry
      expect(clip(`${'a'.repeat(7)}😀😀`, 10)).toBe(`${'a'.repeat(7)}😀…`); // a whole pair fits before the …
      expect(clip(`${'a'.repeat(8)}😀😀`, 10)).toBe(`${'a'.repeat(8)}…`); // half of one would: it goes whole
    });

    it(`drops a conferencing URL over MAX_URL_CHARS (${MAX_URL_CHARS}) instead of cutting it into a broken link`, () => {
      const base = 'https://meet.example.com/';
      const atCap = base + 'x'.repeat(MAX_URL_CHARS - base.length);
      expect(live({ video_conferencing_url: atCap }).conferencingUrl).toBe(atCap);
      expect(live({ video_conferencing_url: `${atCap}x` }).conferencingUrl).toBeNull();
    });

    it('reads an email longer than an address can be as none: the person is named, not indexed', () => {
      const long = `${'a'.repeat(MAX_EMAIL_CHARS - '@example.com'.length + 1)}@example.com`;
      expect(live({ users: [komboUser(long, 'Grace', 'Hopper')] }).interviewers).toEqual([{ email: null, name: 'Grace Hopper' }]);
      const atCap = long.slice(1);
      expect(live({ users: [komboUser(atCap)] }).interviewers[0]!.email).toBe(atCap);
    });

    it('caps what a rejected record carries into the log', () => {
      const result = rejected(interviewRecord({ id: 'x'.repeat(1_000_000), starting_at: 'y'.repeat(1_000_000) }));
      expect(result.id).toBeNull();
      expect(result.message.length).toBeLessThanOrEqual(MAX_REJECTION_MESSAGE_CHARS);
    });
  });

  describe('location', () => {
    it('is null when location is null, absent, or has every field null', () => {
      expect(live({ location: null }).address).toBeNull();
      const record = interviewRecord();
      delete record.location;
      const result = parseInterviewRecord(record);
      expect(!isRejected(result) && result.interview?.address).toBeNull();
      const allNull = { raw: null, street_1: null, street_2: null, zip_code: null, city: null, state: null, country: null };
      expect(live({ location: allNull }).address).toBeNull();
    });

    it('prefers raw over the parts', () => {
      expect(live({ location: { raw: 'Room 4, HQ', city: 'Berlin', street_1: 'Somewhere 1' } }).address).toBe('Room 4, HQ');
    });

    it('builds an address from the parts it has, in postal order', () => {
      const address = live({
        location: { raw: null, street_1: 'Main St 1', street_2: 'Floor 3', zip_code: '12435', city: 'Berlin', state: 'BE', country: 'DE' },
      }).address!;
      for (const part of ['Main St 1', 'Floor 3', '12435', 'Berlin', 'BE', 'DE']) expect(address).toContain(part);
      expect(address.indexOf('Main St 1')).toBeLessThan(address.indexOf('Floor 3'));
      expect(address.indexOf('Floor 3')).toBeLessThan(address.indexOf('12435'));
      expect(address.indexOf('12435')).toBeLessThan(address.indexOf('Berlin'));
      expect(address.indexOf('Berlin')).toBeLessThan(address.lastIndexOf('DE'));
      expect(live({ location: { raw: '  ', city: 'Berlin' } }).address).toBe('Berlin');
    });

    it('never costs the interview for a malformed location', () => {
      expect(live({ location: 'Room 4' }).address).toBeNull();
      expect(live({ location: { raw: 42 } }).address).toBeNull();
    });
  });

  it('reads a null application, candidate or job as unknown, not as an error', () => {
    expect(live({ application: null })).toMatchObject({ candidateName: null, jobName: null });
    expect(live({ application: { candidate: null, job: null } })).toMatchObject({ candidateName: null, jobName: null });
    expect(live({ application: { candidate: { first_name: null, last_name: 'Curie' }, job: { name: null } } })).toMatchObject({
      candidateName: 'Curie',
      jobName: null,
    });
  });

  describe('times', () => {
    it('has no end when ending_at is missing, null, unreadable, before or equal to the start (the renderer applies the default)', () => {
      const record = interviewRecord();
      delete record.ending_at;
      const withoutEnd = parseInterviewRecord(record);
      expect(!isRejected(withoutEnd) && withoutEnd.interview?.endMs).toBeNull();
      expect(live({ ending_at: null }).endMs).toBeNull();
      expect(live({ ending_at: 'soon' }).endMs).toBeNull();
      expect(live({ ending_at: '2026-12-01T09:00:00.000Z' }).endMs).toBeNull();
      expect(live({ ending_at: '2026-12-01T10:00:00.000Z' }).endMs).toBeNull();
    });

    it('reads offsets and a missing zone as UTC instants', () => {
      expect(live({ starting_at: '2026-12-01T11:00:00+01:00' }).startMs).toBe(Date.UTC(2026, 11, 1, 10));
      expect(live({ starting_at: '2026-12-01T10:00:00' }).startMs).toBe(Date.UTC(2026, 11, 1, 10));
    });

    it('reads every ISO 8601 spelling Kombo may send to the instant Date.parse gives it', () => {
      for (const value of [
        '2026-12-01T10:00:00.000Z',
        '2026-12-01T10:00:00Z',
        '2026-12-01T10:00Z',
        '2026-12-01t10:00:00.5z',
        '2026-12-01T10:00:00.123456Z',
        '2026-12-01T15:30:00+05:30',
        '2026-12-01T02:00:00-0800',
        '2028-02-29T23:59:59.999+00:00',
        '2026-12-31T23:30:00-01:00',
        ' 2026-12-01T10:00:00Z ',
      ]) {
        expect(live({ starting_at: value }).startMs, value).toBe(Date.parse(value.trim()));
      }
      expect(live({ starting_at: '0099-06-01T00:00:00Z' }).startMs).toBe(Date.parse('0099-06-01T00:00:00Z'));
    });

    it('agrees with Date.parse on thousands of generated date-times, every zone spelling included', () => {
      let seed = 7;
      const next = (below: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % below);
      const two = (n: number) => String(n).padStart(2, '0');
      for (let i = 0; i < 3_000; i++) {
        const instant = new Date(Date.UTC(1970 + next(200), 0, 1) + next(366) * 86_400_000 + next(86_400) * 1_000 + next(1_000));
        const offset = next(3) === 0 ? 0 : (next(2) === 0 ? -1 : 1) * next(14 * 60);
        const local = new Date(instant.getTime() + offset * 60_000).toISOString().slice(0, 19);
        const fraction = ['', `.${next(10)}`, `.${String(next(1_000)).padStart(3, '0')}`, `.${String(next(1_000_000)).padStart(6, '0')}`][next(4)]!;
        const hhmm = `${two(Math.floor(Math.abs(offset) / 60))}${next(2) === 0 ? ':' : ''}${two(Math.abs(offset) % 60)}`;
        const zone = offset === 0 ? ['Z', 'z', '+00:00', ''][next(4)]! : `${offset < 0 ? '-' : '+'}${hhmm}`;
        const value = `${local}${fraction}${zone}`;
        expect(live({ starting_at: value }).startMs, value).toBe(Date.parse(zone === '' ? `${value}Z` : value));
      }
    });

    it('rejects a start that is no real moment, which Date.parse would roll over into the next month or day', () => {
      for (const value of ['2026-02-30T10:00:00Z', '2027-02-29T10:00:00Z', '2026-04-31T10:00:00Z', '2026-13-01T10:00:00Z', '2026-12-01T24:00:00Z', '2026-12-01T10:60:00Z', '2026-12-01']) {
        expect(rejected(interviewRecord({ id: 'iv-bad', starting_at: value })), value).toMatchObject({ path: 'starting_at' });
      }
    });

    it('leaves an interview without starting_at out of every feed, by id', () => {
      expect(parsed({ starting_at: null })).toEqual({ id: 'iv-1', interview: null, reason: 'unscheduled' });
      const record = interviewRecord();
      delete record.starting_at;
      expect(parseInterviewRecord(record)).toMatchObject({ id: 'iv-1', interview: null });
    });
  });

  describe('canceled and deleted', () => {
    it('keeps canceled: null and false, drops canceled: true', () => {
      expect(parsed({ canceled: null }).interview).not.toBeNull();
      expect(parsed({ canceled: false }).interview).not.toBeNull();
      const record = interviewRecord();
      delete record.canceled;
      expect((parseInterviewRecord(record) as ParsedRecord).interview).not.toBeNull();
      expect(parsed({ canceled: true })).toEqual({ id: 'iv-1', interview: null, reason: 'canceled' });
    });

    it('drops a record with remote_deleted_at set', () => {
      expect(parsed({ remote_deleted_at: '2026-10-02T00:00:00.000Z' })).toEqual({ id: 'iv-1', interview: null, reason: 'deleted' });
    });
  });

  describe('rejections', () => {
    it('rejects a record without an id, naming the path', () => {
      const record = interviewRecord();
      delete record.id;
      expect(rejected(record)).toMatchObject({ id: null, path: 'id' });
    });

    it('rejects an unreadable starting_at with the record id and the path', () => {
      expect(rejected(interviewRecord({ id: 'iv-bad', starting_at: 'not a date' }))).toMatchObject({ id: 'iv-bad', path: 'starting_at' });
    });

    it('rejects a blank id, naming the path', () => {
      expect(rejected(interviewRecord({ id: '   ' }))).toMatchObject({ path: 'id' });
    });

    it('drops a canceled record whose start time is unreadable, instead of rejecting it and so keeping its old event', () => {
      expect(parsed({ id: 'iv-9', canceled: true, starting_at: 'not a date' })).toEqual({ id: 'iv-9', interview: null, reason: 'canceled' });
      expect(parsed({ id: 'iv-9', canceled: true, starting_at: 5 })).toEqual({ id: 'iv-9', interview: null, reason: 'canceled' });
      expect(rejected(interviewRecord({ id: 'iv-9', starting_at: 5 }))).toMatchObject({ path: 'starting_at' });
    });

    it('rejects users that are not an array', () => {
      expect(rejected(interviewRecord({ id: 'iv-bad', users: 'ada@example.com' }))).toMatchObject({ id: 'iv-bad', path: 'users' });
    });

    it('rejects what is not a record at all, without throwing', () => {
      for (const raw of [null, 'iv-1', 42, []]) expect(isRejected(parseInterviewRecord(raw))).toBe(true);
    });

    it('rejects an id that is not a string, naming what it is, instead of coercing it', () => {
      expect(rejected(interviewRecord({ id: 1234 }))).toEqual({ id: null, path: 'id', message: 'id is not a string but a number 1234' });
      expect(rejected(interviewRecord({ id: null }))).toMatchObject({ id: null, path: 'id', message: 'id is not a string but null' });
      expect(rejected(interviewRecord({ id: { value: 'iv-1' } }))).toMatchObject({ id: null, path: 'id' });
    });

    it('takes an id exactly as sent: untrimmed, percent and control characters encoded, up to MAX_ID_CHARS', () => {
      expect(parsed({ id: ' padded ' }).id).toBe(' padded ');
      expect(parsed({ id: 'a%0Ab' }).id).toBe('a%250Ab');
      expect(parsed({ id: 'a\nb' }).id).toBe('a%0Ab');
      expect(parsed({ id: 'x'.repeat(MAX_ID_CHARS) }).id).toBe('x'.repeat(MAX_ID_CHARS));
      const long = rejected(interviewRecord({ id: 'x'.repeat(MAX_ID_CHARS + 1) }));
      expect(long).toMatchObject({ id: null, path: 'id' });
      expect(long.message).toBe(`id of ${MAX_ID_CHARS + 1} characters, over ${MAX_ID_CHARS}: "${'x'.repeat(40)}"…`);
    });

    it('gives a record rejected by the type check the id a valid one would have, and a message within its cap', () => {
      expect(rejected(interviewRecord({ id: ' a\nb', users: 'x' }))).toMatchObject({ id: ' a%0Ab', path: 'users' });
      expect(rejected(interviewRecord({ id: 'x'.repeat(MAX_ID_CHARS + 1), users: 'x' }))).toMatchObject({ id: null, path: 'users' });
      expect(rejected(interviewRecord({ id: 7, users: 'x' }))).toMatchObject({ id: null, path: 'users' });
    });
  });
});

describe('parseInterviewRecord against the schema', () => {
  /** What parseInterviewRecord answered when zod type-checked (and copied) every record. */
  function throughSchema(raw: unknown): ParsedRecord | RejectedRecord {
    const result = interviewRecordSchema.safeParse(raw);
    if (result.success) return toInterview(result.data);
    const issue = result.error.issues[0]!;
    const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
    const id = typeof rawId === 'string' && !isRejected(parseInterviewRecord({ id: rawId, canceled: true })) ? (parseInterviewRecord({ id: rawId, canceled: true }) as ParsedRecord).id : null;
    // The one wording that changed: zod called a missing id "expected nonoptional"; it is now told as the id problem it is.
    const message = issue.path.join('.') === 'id' ? 'missing id' : clip(issue.message, MAX_REJECTION_MESSAGE_CHARS);
    return { id, path: issue.path.length > 0 ? issue.path.join('.') : '(record)', message };
  }

  /** mulberry32: the same records on every run. */
  function prng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('accepts, refuses and reads every field of 20,000 odd records as the schema does', () => {
    const random = prng(23);
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const scalars = [undefined, null, true, false, 0, 42, '', '  ', 'text', ' Ada ', '2026-12-01T10:00:00Z', '2026-02-30T10:00:00Z', 'ada@example.com', [], ['x'], {}];
    const person = () => (random() < 0.2 ? pick(scalars) : { first_name: pick(scalars), last_name: pick(scalars), email: pick(scalars) });
    const value = (field: string): unknown => {
      const roll = random();
      if (field === 'remote_deleted_at' && roll < 0.7) return null;
      if (roll < 0.2) return pick(scalars);
      switch (field) {
        case 'users':
          return random() < 0.1 ? { email: 'ada@example.com' } : Array.from({ length: Math.floor(random() * 4) }, person);
        case 'location':
          return { raw: pick(scalars), street_1: pick(scalars), city: pick(scalars), zip_code: pick(scalars), country: pick(scalars) };
        case 'application':
          return { candidate: person(), job: random() < 0.2 ? pick(scalars) : { id: pick(scalars), name: pick(scalars) } };
        case 'canceled':
          return pick([true, false, null]);
        default:
          return roll < 0.8 ? pick(['2026-12-01T10:00:00Z', '2026-12-01T11:30:00+01:00', 'iv-1', 'Onsite']) : pick(scalars);
      }
    };
    const fields = ['id', 'title', 'starting_at', 'ending_at', 'location', 'video_conferencing_url', 'canceled', 'remote_updated_at', 'changed_at', 'remote_deleted_at', 'users', 'application'];
    let refused = 0;
    let live = 0;
    for (let n = 0; n < 20_000; n++) {
      const raw: unknown =
        random() < 0.02 ? pick(scalars) : Object.fromEntries(fields.filter(() => random() < 0.9).map((field) => [field, value(field)]));
      const expected = throughSchema(raw);
      expect(parseInterviewRecord(raw)).toEqual(expected);
      if (isRejected(expected)) refused++;
      else if (expected.interview !== null) live++;
    }
    // The records reach every outcome: refused by the type check, live, and not live.
    expect(refused).toBeGreaterThan(1_000);
    expect(live).toBeGreaterThan(1_000);
  });
});

describe('validation during a walk', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 3 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('skips a failing record alone, logs its id and path, and still serves the rest of its page', async () => {
    const noId = interviewRecord({ title: 'No id' });
    delete noId.id;
    fake.setRecords([
      interviewRecord({ id: 'iv-1', title: 'Before' }),
      interviewRecord({ id: 'iv-bad-date', starting_at: 'not a date' }),
      interviewRecord({ id: 'iv-2', title: 'Between' }),
      interviewRecord({ id: 'iv-bad-users', users: { email: 'ada@example.com' } }),
      noId,
      interviewRecord({ id: 'iv-3', title: 'After' }),
    ]);
    const service = buildTestService(fake);
    const summary = await service.sync.refresh();
    expect(summary.rejectedRecords).toBe(3);

    const calendar = parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text);
    expect(calendar.events.map((e) => e.uid).sort()).toEqual(['iv-1', 'iv-2', 'iv-3']);

    const skipped = service.logs.lines.filter((line) => String(line.msg).startsWith('invalid Kombo record'));
    expect(skipped.map((line) => [line.recordId, line.path, line.msg])).toEqual([
      ['iv-bad-date', 'starting_at', 'invalid Kombo record: skipped, no earlier version'],
      ['iv-bad-users', 'users', 'invalid Kombo record: skipped, no earlier version'],
      [null, 'id', 'invalid Kombo record: skipped, no readable id'],
    ]);
    expect(skipped.every((line) => line.level === 'warn')).toBe(true);
  });

  it('fails the walk on a page whose envelope is invalid, and changes no feed', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Original' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const before = (await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text;

    fake.setRecords([
      interviewRecord({ id: 'iv-1', title: 'Changed' }),
      interviewRecord({ id: 'iv-2' }),
      interviewRecord({ id: 'iv-3' }),
      interviewRecord({ id: 'iv-4', title: 'On page two' }),
    ]);
    fake.fail({ type: 'invalid-envelope' }, { times: 10, when: (r) => r.query.cursor !== undefined });
    await expect(service.sync.refresh()).rejects.toThrow();

    const after = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    expect(after.text).toBe(before);
    expect(parseIcs(after.text).events.map((e) => e.summary)).toEqual(['Original']);
  });
});

describe('createRecordInterner', () => {
  it('gives the interviews of one walk one object per person and per repeated text, and keeps them apart by name', () => {
    const intern = createRecordInterner();
    const first = parseInterviewRecord(interviewRecord({ id: 'iv-1', title: 'Onsite' }), intern);
    const second = parseInterviewRecord(interviewRecord({ id: 'iv-2', title: 'Onsite' }), intern);
    if (isRejected(first) || isRejected(second) || !first.interview || !second.interview) throw new Error('expected live interviews');
    expect(second.interview.interviewers[0]).toBe(first.interview.interviewers[0]);
    expect(Object.isFrozen(first.interview.interviewers[0])).toBe(true);
    expect(second.interview.title).toBe(first.interview.title);
    const renamed = intern.person(first.interview.interviewers[0]!.email, 'Someone Else');
    expect(renamed).not.toBe(first.interview.interviewers[0]);
    expect(renamed).toEqual({ email: first.interview.interviewers[0]!.email, name: 'Someone Else' });
  });
});
