import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedTokens, type FeedIdentity } from '../../src/feeds/feed-token.js';
import { BUSY_SUMMARY } from '../../src/calendar/interview-event.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs, type ParsedCalendar } from '../helpers/ics.js';
import { admin } from '../helpers/integrations.js';
import { serveOnLoopback } from '../helpers/loopback.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

/*
 * Detail levels end to end: fake Kombo on loopback, the real service, links from GET /admin/feed-url, feeds fetched
 * over a real socket (plain and gzip) and read by ical.js.
 */

/** Unusual enough that it can only come from the candidate. */
const CANDIDATE = { first: 'Zebulon', last: 'Quixotesson' };
const CANDIDATE_NAME = `${CANDIDATE.first} ${CANDIDATE.last}`;
const OWNER = 'ada@example.com';
const MEET = 'https://meet.example.com/abc-defg-hij';

const candidate = { id: 'cand-z', remote_id: '9', first_name: CANDIDATE.first, last_name: CANDIDATE.last, email_addresses: [{ type: 'PERSONAL', email_address: 'zebulon@example.org' }] };
const application = (job: { id: string; name: string } | null) => ({ id: 'app-z', remote_id: '9', outcome: 'PENDING', rejection_reason_name: null, candidate, job });
const ada = () => komboUser(OWNER, 'Ada', 'Lovelace');
const grace = () => komboUser('grace@example.com', 'Grace', 'Hopper');

/** The candidate's name in the ATS title, the candidate record and the record's own description (remote data). */
function records(): Record<string, unknown>[] {
  const remote_data = { interview: { description: `Notes on ${CANDIDATE_NAME}: strong on compilers` } };
  return [
    interviewRecord({
      id: 'iv-video',
      title: `Video call with ${CANDIDATE_NAME}`,
      location: null,
      video_conferencing_url: MEET,
      users: [ada(), grace()],
      application: application({ id: 'job-1', name: 'Backend Engineer' }),
      remote_data,
    }),
    interviewRecord({
      id: 'iv-room',
      title: `Onsite with ${CANDIDATE_NAME}`,
      starting_at: '2026-12-02T09:30:00.000Z',
      ending_at: '2026-12-02T10:15:00.000Z',
      location: { raw: 'Room Curie, Floor 2', city: null, country: null, state: null, street_1: null, street_2: null, zip_code: null },
      video_conferencing_url: 'https://meet.example.com/room',
      users: [grace(), ada()],
      application: application({ id: 'job-1', name: 'Backend Engineer' }),
      remote_data,
    }),
    // No ATS title: the full summary is built from the candidate's name.
    interviewRecord({
      id: 'iv-untitled',
      title: null,
      starting_at: '2026-12-03T14:00:00.000Z',
      ending_at: null,
      location: null,
      video_conferencing_url: null,
      users: [ada()],
      application: application({ id: 'job-2', name: 'Data Scientist' }),
    }),
    // No job either: nothing to name at `private` but that it is an interview.
    interviewRecord({ id: 'iv-nojob', title: `${CANDIDATE_NAME} (final)`, starting_at: '2026-12-04T08:00:00.000Z', users: [ada()], application: application(null) }),
    interviewRecord({ id: 'iv-canceled', title: `Canceled with ${CANDIDATE_NAME}`, canceled: true, users: [ada()] }),
  ];
}

type Level = 'full' | 'private' | 'busy';
const LEVELS: Level[] = ['full', 'private', 'busy'];

/** Every spelling of the candidate a client (or anyone reading the bytes) could find, folded lines joined. */
function candidateTraces(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  const unfolded = text.replace(/\r\n[ \t]/g, '');
  const found: string[] = [];
  for (const needle of [CANDIDATE.first, CANDIDATE.last, 'zebulon@example.org', 'compilers', 'Candidate:']) {
    for (const haystack of [text, unfolded]) if (haystack.toLowerCase().includes(needle.toLowerCase())) found.push(needle);
  }
  return [...new Set(found)];
}

describe('detail levels: full, private, busy', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let server: Awaited<ReturnType<typeof serveOnLoopback>>;
  /** The feed path of each level, from the admin API as an operator gets it. */
  const paths = {} as Record<Level, string>;
  const plain = {} as Record<Level, Buffer>;
  const calendars = {} as Record<Level, ParsedCalendar>;

  beforeAll(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(records());
    service = buildTestService(fake);
    await service.sync.refresh();
    server = await serveOnLoopback(service.app);
    for (const level of LEVELS) {
      const res = await admin(service, 'get', `/admin/feed-url?email=${OWNER}&detail=${level}`).expect(200);
      expect(res.body.detail).toBe(level);
      paths[level] = new URL(res.body.url as string).pathname;
      const got = await server.fetch(paths[level]);
      expect(got.status).toBe(200);
      plain[level] = got.body;
      calendars[level] = parseIcs(got.body);
    }
  });
  afterAll(async () => {
    await server?.close();
    await service?.sync.close();
    await fake?.close();
  });

  it('the full feed names the candidate (so the traces looked for below are real)', () => {
    const events = calendars.full.events;
    expect(events.map((e) => e.summary)).toEqual([
      `Video call with ${CANDIDATE_NAME}`,
      `Onsite with ${CANDIDATE_NAME}`,
      `Interview: ${CANDIDATE_NAME} (Data Scientist)`,
      `${CANDIDATE_NAME} (final)`,
    ]);
    expect(events[0]!.description).toContain(`Candidate: ${CANDIDATE_NAME}`);
    expect(candidateTraces(plain.full)).toEqual(expect.arrayContaining([CANDIDATE.first, CANDIDATE.last]));
  });

  for (const level of ['private', 'busy'] as const) {
    it(`${level}: the candidate appears nowhere, not in the bytes, not once folded lines are joined, not in the gzip body`, async () => {
      expect(candidateTraces(plain[level])).toEqual([]);
      const gzipped = await server.fetch(paths[level], { 'Accept-Encoding': 'gzip' });
      expect(gzipped.status).toBe(200);
      expect(gzipped.headers['content-encoding']).toBe('gzip');
      const inflated = gunzipSync(gzipped.body);
      expect(inflated.equals(plain[level])).toBe(true);
      expect(candidateTraces(inflated)).toEqual([]);
      // And HEAD says as much as GET, no more: the same headers, no body.
      const head = await request(service.app).head(paths[level]).expect(200);
      expect(head.headers['content-length']).toBe(String(plain[level].length));
    });
  }

  it('all three hold the same events: the same UIDs, starts and ends, in the same order', () => {
    const times = (level: Level) => calendars[level].events.map((e) => [e.uid, e.start, e.end, e.sequence, e.dtstamp]);
    expect(times('full').map((t) => t[0])).toEqual(['iv-video', 'iv-room', 'iv-untitled', 'iv-nojob']);
    expect(times('private')).toEqual(times('full'));
    expect(times('busy')).toEqual(times('full'));
    // The default duration applies at every level to the interview without an end.
    expect(calendars.busy.events[2]!.end).toBe('2026-12-03T15:00:00.000Z');
  });

  it('busy: a fixed summary, and no DESCRIPTION, LOCATION or URL at all', () => {
    for (const event of calendars.busy.events) {
      expect(event).toMatchObject({ summary: BUSY_SUMMARY, description: null, location: null, url: null });
    }
    const unfolded = plain.busy.toString('utf8').replace(/\r\n[ \t]/g, '');
    expect(unfolded).not.toMatch(/\r\n(DESCRIPTION|LOCATION|URL)[;:]/);
    expect(unfolded).not.toContain('meet.example.com');
    expect(unfolded).not.toContain('Room Curie');
    expect(unfolded).not.toContain('Grace');
  });

  it('private: the job, the room, the join link (LOCATION, URL, first DESCRIPTION line) and the other interviewers stay', () => {
    const [video, room, untitled, nojob] = calendars.private.events;
    expect(video).toMatchObject({ summary: 'Interview: Backend Engineer', location: MEET, url: MEET });
    expect(video!.description!.split('\n')).toEqual([MEET, 'Job: Backend Engineer', 'Other interviewers: Grace Hopper']);
    expect(room).toMatchObject({ summary: 'Interview: Backend Engineer', location: 'Room Curie, Floor 2', url: 'https://meet.example.com/room' });
    expect(room!.description!.split('\n')).toEqual(['https://meet.example.com/room', 'Job: Backend Engineer', 'Other interviewers: Grace Hopper']);
    expect(untitled).toMatchObject({ summary: 'Interview: Data Scientist', location: null, url: null, description: 'Job: Data Scientist' });
    expect(nojob!.summary).toBe('Interview');
    expect(nojob!.description!.split('\n')[0]).toBe(MEET);
    // The calendar is still the interviewer's own.
    expect(calendars.private.name).toBe(calendars.full.name);
  });

  it('a tampered level is the same 404 as an unknown token: flipped bytes, or a token made under another secret', async () => {
    const unknown = await request(service.app).get(`/feeds/${'A'.repeat(60)}.ics`).expect(404);
    const busyToken = paths.busy.slice('/feeds/'.length, -'.ics'.length);
    const bytes = Buffer.from(busyToken, 'base64url');
    expect(bytes[0]).toBe(0x02); // a link with a level is format 2
    const tampered: string[] = [];
    for (let i = 0; i < bytes.length; i += 1) {
      const copy = Buffer.from(bytes);
      copy[i] = copy[i]! ^ (i === 0 ? 0x03 : 0x01); // byte 0: 0x02 becomes 0x01, format 1
      tampered.push(copy.toString('base64url'));
    }
    // What an attacker who knew the format but not FEED_SECRET would write: the same identity at `full`.
    const identity = service.tokens.decode(busyToken)!;
    expect(identity).toMatchObject({ integrationId: fake.integrationId, email: OWNER, detail: 'busy' });
    const forged: FeedIdentity = { ...identity, detail: 'full' };
    tampered.push(createFeedTokens('another-secret-of-at-least-32-characters!!').encode(forged));
    tampered.push(createFeedTokens('another-secret-of-at-least-32-characters!!').encode({ integrationId: fake.integrationId, email: OWNER }));
    for (const token of tampered) {
      const res = await request(service.app).get(`/feeds/${token}.ics`);
      expect(res.status, token).toBe(404);
      expect(res.text).toBe(unknown.text);
      expect(res.headers['content-type']).toBe(unknown.headers['content-type']);
    }
    // The genuine busy link still says only that the time is taken.
    const still = await request(service.app).get(paths.busy).expect(200);
    expect(parseIcs(still.text).events.every((e) => e.summary === BUSY_SUMMARY)).toBe(true);
  });

  it('a bad detail= is refused with a message naming the levels, and no link', async () => {
    const res = await admin(service, 'get', `/admin/feed-url?email=${OWNER}&detail=everything`).expect(400);
    expect(JSON.stringify(res.body)).toContain('full, private, busy');
    expect(res.body.url).toBeUndefined();
  });
});

describe('FEED_DEFAULT_DETAIL', () => {
  let fake: FakeKombo;
  beforeAll(async () => {
    fake = await startFakeKombo();
    fake.setRecords(records());
  });
  afterAll(async () => {
    await fake?.close();
  });

  async function summaries(service: ReturnType<typeof buildTestService>, path: string): Promise<(string | null)[]> {
    const res = await request(service.app).get(path).expect(200);
    return parseIcs(res.text).events.map((e) => e.summary);
  }
  async function linkAt(service: ReturnType<typeof buildTestService>, level?: Level): Promise<{ path: string; body: Record<string, unknown> }> {
    const res = await admin(service, 'get', `/admin/feed-url?email=${OWNER}${level ? `&detail=${level}` : ''}`).expect(200);
    return { path: new URL(res.body.url as string).pathname, body: res.body as Record<string, unknown> };
  }
  const FULL_SUMMARY = `Video call with ${CANDIDATE_NAME}`;

  it('busy: a link issued without a level is bound to busy; an old format 1 URL follows the default; one issued at full stays full', async () => {
    const service = buildTestService(fake, { env: { FEED_DEFAULT_DETAIL: 'busy' } });
    await service.sync.refresh();
    // The URL handed out before levels existed carries none: it shows what the default says.
    const before = feedPath(service, OWNER);
    expect((await summaries(service, before))[0]).toBe(BUSY_SUMMARY);
    // A link issued now without a level is bound to the default it was issued under...
    const unlevelled = await linkAt(service);
    expect(unlevelled.body.detail).toBe('busy');
    expect(unlevelled.path).not.toBe(before);
    expect((await summaries(service, unlevelled.path))[0]).toBe(BUSY_SUMMARY);
    // ...so setting the default back to full later never makes it reveal more than it was issued for.
    const underFull = buildTestService(fake);
    await underFull.sync.refresh();
    expect((await summaries(underFull, unlevelled.path))[0]).toBe(BUSY_SUMMARY);
    expect((await summaries(underFull, before))[0]).toBe(FULL_SUMMARY);
    const full = await linkAt(service, 'full');
    expect(full.path).not.toBe(unlevelled.path);
    expect((await summaries(service, full.path))[0]).toBe(FULL_SUMMARY);
    const priv = await linkAt(service, 'private');
    expect((await summaries(service, priv.path))[0]).toBe('Interview: Backend Engineer');
    await service.sync.close();
    await underFull.sync.close();
  });

  it('full (the default): a link without a level shows everything; one issued at busy stays busy', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect((await summaries(service, (await linkAt(service)).path))[0]).toBe(FULL_SUMMARY);
    const busy = await linkAt(service, 'busy');
    expect(await summaries(service, busy.path)).toEqual([BUSY_SUMMARY, BUSY_SUMMARY, BUSY_SUMMARY, BUSY_SUMMARY]);
    await service.sync.close();
  });

  it('the same busy link under FEED_DEFAULT_DETAIL=full and a full link under busy, both on one secret', async () => {
    const underFull = buildTestService(fake);
    const underBusy = buildTestService(fake, { env: { FEED_DEFAULT_DETAIL: 'busy' } });
    await underFull.sync.refresh();
    await underBusy.sync.refresh();
    const busyPath = (await linkAt(underFull, 'busy')).path;
    const fullPath = (await linkAt(underBusy, 'full')).path;
    // Links are made from FEED_SECRET alone: each service serves the other's at the level bound in.
    expect((await linkAt(underBusy, 'busy')).path).toBe(busyPath);
    expect((await summaries(underBusy, fullPath))[0]).toBe(FULL_SUMMARY);
    expect((await summaries(underFull, busyPath))[0]).toBe(BUSY_SUMMARY);
    await underFull.sync.close();
    await underBusy.sync.close();
  });
});
