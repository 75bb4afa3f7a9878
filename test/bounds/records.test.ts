import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OTHER_INTERVIEWERS_NAMED } from '../../src/calendar/interview-event.js';
import { MAX_ADDRESS_CHARS, MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS } from '../../src/interviews/interview-schema.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedBytes, feedPath } from '../helpers/test-service.js';

/** Issue 14, "Bounds everywhere": one block per finding about the records Kombo sends, each against the real service. */

let fake: FakeKombo;
beforeEach(async () => {
  fake = await startFakeKombo();
});
afterEach(async () => {
  await fake.close();
});

type Service = ReturnType<typeof buildTestService>;

async function calendarOf(service: Service, email: string) {
  return parseIcs(await feedBytes(service, email));
}

function rejectionLines(service: Service) {
  return service.logs.lines.filter((line) => String(line.msg).startsWith('invalid Kombo record'));
}

describe('finding 3: a full walk deleted an interview whose record failed validation, while the log said "skipped"', () => {
  it('keeps its last good version in full and incremental walks alike, and the log says which record kept what', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Original' }), interviewRecord({ id: 'iv-2', title: 'Other' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const before = await feedBytes(service, 'ada@example.com');

    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Broken', starting_at: 'not a date' }));
    fake.upsert(interviewRecord({ id: 'iv-new', title: 'Broken too', starting_at: 'not a date' }));
    for (const full of [true, false]) {
      const summary = await service.sync.refresh({ full });
      const calendar = await calendarOf(service, 'ada@example.com');
      expect(calendar.events.map((e) => [e.uid, e.summary])).toEqual([
        ['iv-1', 'Original'],
        ['iv-2', 'Other'],
      ]);
      expect((await feedBytes(service, 'ada@example.com')).equals(before)).toBe(true);
      expect(summary.kind).toBe(full ? 'full' : 'incremental');
      expect(summary.rejectedRecords).toBe(2);
    }

    const lines = rejectionLines(service);
    expect(lines).toHaveLength(4);
    expect(lines.map((line) => [line.msg, line.recordId, line.kept])).toEqual([
      ['invalid Kombo record: kept its last good version', 'iv-1', true],
      ['invalid Kombo record: skipped, no earlier version', 'iv-new', false],
      ['invalid Kombo record: kept its last good version', 'iv-1', true],
      ['invalid Kombo record: skipped, no earlier version', 'iv-new', false],
    ]);
    expect(lines.every((line) => line.level === 'warn')).toBe(true);
  });

  it('still lets the interview go once a valid record cancels it, or a full walk no longer lists it', async () => {
    fake.setRecords([interviewRecord({ id: 'iv-1' }), interviewRecord({ id: 'iv-2' })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', starting_at: 'not a date' }));
    await service.sync.refresh({ full: true });
    fake.clock += 60_000;
    fake.setRecords([interviewRecord({ id: 'iv-1', canceled: true })]);
    await service.sync.refresh({ full: true });
    expect((await calendarOf(service, 'ada@example.com')).events).toEqual([]);
  });
});

describe('finding 6: upstream text had no length limit (five 10 MB fields made a 62 MB feed; a 1 MB id a 1 MB log line)', () => {
  it('cuts each field a calendar shows to its cap on a character boundary, and drops an over-long link', async () => {
    const huge = 64 * 1024;
    const title = `${'t'.repeat(MAX_TITLE_CHARS - 2)}${'😀'.repeat(huge)}`; // the cut falls inside an emoji
    fake.setRecords([
      interviewRecord({
        id: 'iv-huge',
        title,
        location: { raw: 'r'.repeat(huge) },
        video_conferencing_url: `https://meet.example.com/${'u'.repeat(huge)}`,
        users: [komboUser('ada@example.com'), komboUser('grace@example.com', 'g'.repeat(huge), 'Hopper')],
        application: { candidate: { first_name: 'c'.repeat(huge), last_name: 'Curie' }, job: { name: 'j'.repeat(huge) } },
      }),
    ]);
    const service = buildTestService(fake);
    expect((await service.sync.refresh()).rejectedRecords).toBe(0);

    const bytes = await feedBytes(service, 'ada@example.com');
    expect(bytes.length).toBeLessThan(4 * 1024);
    const [event] = (await calendarOf(service, 'ada@example.com')).events;
    expect(event!.summary).toBe(`${'t'.repeat(MAX_TITLE_CHARS - 2)}…`);
    expect(event!.location).toBe(`${'r'.repeat(MAX_ADDRESS_CHARS - 1)}…`);
    expect(event!.url).toBeNull();
    expect(event!.description!.split('\n')).toEqual([
      `Candidate: ${'c'.repeat(MAX_NAME_CHARS - 1)}…`,
      `Job: ${'j'.repeat(MAX_TITLE_CHARS - 1)}…`,
      `Other interviewers: ${'g'.repeat(MAX_NAME_CHARS - 1)}…`,
    ]);
    // Grace's own calendar is named, not blown up, by her name.
    expect((await calendarOf(service, 'grace@example.com')).name).toBe(`Interviews: ${'g'.repeat(MAX_NAME_CHARS - 1)}…`);
  });

  it('keeps a link exactly at its cap whole, in URL, LOCATION and the first line of DESCRIPTION', async () => {
    const base = 'https://meet.example.com/';
    const url = base + 'u'.repeat(MAX_URL_CHARS - base.length);
    fake.setRecords([interviewRecord({ id: 'iv-1', location: null, video_conferencing_url: url, application: null })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const [event] = (await calendarOf(service, 'ada@example.com')).events;
    expect([event!.url, event!.location, event!.description]).toEqual([url, url, url]);
  });

  it('logs a rejected record with a huge id in a short line', async () => {
    fake.setRecords([
      interviewRecord({ id: 'i'.repeat(200_000), starting_at: 'not a date' }),
      interviewRecord({ id: 'iv-bad', starting_at: `${'d'.repeat(200_000)}` }),
      interviewRecord({ id: 'iv-1' }),
    ]);
    const service = buildTestService(fake);
    expect((await service.sync.refresh()).rejectedRecords).toBe(2);
    for (const raw of service.logs.raw) expect(raw.length).toBeLessThan(1_024);
    expect(rejectionLines(service).map((line) => line.recordId)).toEqual([null, 'iv-bad']);
    expect(rejectionLines(service)[0]!.reason).toBe(`id of 200000 characters, over ${MAX_ID_CHARS}: "${'i'.repeat(40)}"…`);
  });
});

describe('finding 7: each interviewer’s event listed every other one, so feed memory grew with the square of a panel', () => {
  it('keeps every feed of an interview with 10,000 interviewers small, naming a few and counting the rest', async () => {
    const count = 10_000;
    const users = Array.from({ length: count }, (_, n) => ({ first_name: 'P', last_name: String(n), email: `p${n}@x.co` }));
    fake.setRecords([interviewRecord({ id: 'iv-panel', video_conferencing_url: null, application: null, users })]);
    const service = buildTestService(fake);
    await service.sync.refresh();

    for (const owner of [0, 4_321, count - 1]) {
      const bytes = await feedBytes(service, `p${owner}@x.co`);
      expect(bytes.length).toBeLessThan(2 * 1024);
      const [event] = parseIcs(bytes).events;
      const named = Array.from({ length: count }, (_, n) => n)
        .filter((n) => n !== owner)
        .slice(0, MAX_OTHER_INTERVIEWERS_NAMED)
        .map((n) => `P ${n}`);
      expect(event!.description).toBe(`Other interviewers: ${named.join(', ')} and 9,969 more`);
    }
  });
});

describe('finding 13: lower-casing turned the Kelvin sign into k, so Kate@… landed in kate@…’s feed and renamed it', () => {
  it('keeps an address that only Unicode lower-cases onto another apart from it', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-kate', changed_at: '2026-10-01T09:00:00Z', users: [komboUser('kate@x.com', 'Kate', 'Bell')] }),
      interviewRecord({ id: 'iv-kelvin', changed_at: '2026-10-02T09:00:00Z', users: [komboUser('\u212AATE@x.com', 'Mallory', 'Imposter')] }),
      interviewRecord({ id: 'iv-dotted', users: [komboUser('\u0130NCI@x.com', 'Not', 'Inci')] }),
      interviewRecord({ id: 'iv-inci', users: [komboUser('inci@x.com', 'Inci', 'Real')] }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();

    const kate = await calendarOf(service, 'kate@x.com');
    expect(kate.events.map((e) => e.uid)).toEqual(['iv-kate']);
    expect(kate.name).toBe('Interviews: Kate Bell');
    expect((await calendarOf(service, 'inci@x.com')).events.map((e) => e.uid)).toEqual(['iv-inci']);

    // The Kelvin-sign address has a feed of its own, reached through the link an operator hands out for it.
    const res = await request(service.app)
      .get('/admin/feed-url')
      .query({ email: '\u212AATE@X.COM' })
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .expect(200);
    expect(res.body).toMatchObject({ email: '\u212Aate@x.com', name: 'Mallory Imposter' });
    const own = parseIcs((await request(service.app).get(new URL(res.body.url as string).pathname).expect(200)).text);
    expect(own.events.map((e) => e.uid)).toEqual(['iv-kelvin']);
    expect(new URL(res.body.url as string).pathname).not.toBe(feedPath(service, 'kate@x.com'));
  });

  it('still serves a feed URL handed out before, keyed by the address lower-cased the old way', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-asa', users: [komboUser('ÅSA@X.SE', 'Åsa', 'Lund')] }),
      interviewRecord({ id: 'iv-sigma', users: [komboUser('ΣΑΣ@x.gr', 'Sas', 'Papas')] }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    for (const [typed, uid] of [
      ['ÅSA@X.SE', 'iv-asa'],
      ['ΣΑΣ@x.gr', 'iv-sigma'],
    ] as const) {
      const handedOut = feedPath(service, typed.trim().toLowerCase()); // the key tokens carried up to 11f8a8a
      expect(parseIcs((await request(service.app).get(handedOut).expect(200)).text).events.map((e) => e.uid)).toEqual([uid]);
    }
  });

  it('treats an internationalised domain and its punycode spelling as two addresses, as written', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-unicode', users: [komboUser('Ada@BÜCHER.de')] }),
      interviewRecord({ id: 'iv-punycode', users: [komboUser('ada@xn--bcher-kva.de')] }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await calendarOf(service, 'ada@bücher.de')).events.map((e) => e.uid)).toEqual(['iv-unicode']);
    expect((await calendarOf(service, 'ada@xn--bcher-kva.de')).events.map((e) => e.uid)).toEqual(['iv-punycode']);
  });
});

describe('finding 14: numeric 12345 and string "12345" ids collided, as did " padded" and "padded": one interview vanished', () => {
  it('compares ids exactly as the strings Kombo sends, and rejects one that is not a string or is too long', async () => {
    fake.setRecords([
      interviewRecord({ id: '12345', title: 'String id', starting_at: '2026-12-01T09:00:00Z' }),
      interviewRecord({ id: 12345, title: 'Numeric id', starting_at: '2026-12-01T09:00:00Z' }),
      interviewRecord({ id: ' padded', title: 'Padded' }),
      interviewRecord({ id: 'padded', title: 'Plain' }),
      interviewRecord({ id: 'x'.repeat(MAX_ID_CHARS), title: 'Longest', starting_at: '2026-12-02T09:00:00Z' }),
      interviewRecord({ id: 'x'.repeat(MAX_ID_CHARS + 1), title: 'Too long', starting_at: '2026-12-03T09:00:00Z' }),
    ]);
    const service = buildTestService(fake);
    const summary = await service.sync.refresh();
    const events = (await calendarOf(service, 'ada@example.com')).events;
    expect(events.map((e) => [e.uid, e.summary])).toEqual([
      ['12345', 'String id'],
      [' padded', 'Padded'],
      ['padded', 'Plain'],
      ['x'.repeat(MAX_ID_CHARS), 'Longest'],
    ]);
    expect(summary.rejectedRecords).toBe(2);
    // Neither can be matched to an interview, so nothing of theirs is kept, and the log says so.
    expect(rejectionLines(service).map((line) => [line.recordId, line.path, line.msg, line.reason])).toEqual([
      [null, 'id', 'invalid Kombo record: skipped, no readable id', 'id is not a string but a number 12345'],
      [null, 'id', 'invalid Kombo record: skipped, no readable id', expect.stringMatching(/^id of 257 characters, over 256: "x+"…$/)],
    ]);
  });
});
