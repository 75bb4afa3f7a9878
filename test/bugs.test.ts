import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from './helpers/factories.js';
import { startFakeKombo, type FakeKombo } from './helpers/fake-kombo.js';
import { parseIcs } from './helpers/ics.js';
import { buildTestService, feedPath } from './helpers/test-service.js';

/** One block per bug found and fixed, named after the bug. */

describe('a Kombo id with a line break injected lines into the feed (UID was written raw)', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('keeps every interview one event with one single-line UID, stable across refreshes', async () => {
    const odd = ['iv-1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:injected\r\nSUMMARY:Pwned', 'iv-2\nX-INJECTED:1', 'iv-3\u0000\u0007'];
    fake.setRecords(odd.map((id, n) => interviewRecord({ id, title: `Interview ${n}` })));
    const service = buildTestService(fake);
    await service.sync.refresh();
    const res = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    const calendar = parseIcs(res.text);
    expect(calendar.events.map((e) => e.summary)).toEqual(['Interview 0', 'Interview 1', 'Interview 2']);
    expect(new Set(calendar.events.map((e) => e.uid)).size).toBe(3);
    expect(calendar.events.map((e) => e.uid)).not.toContain('injected');
    const unfolded = res.text.replace(/\r\n /g, '').split('\r\n');
    expect(unfolded.filter((line) => line.startsWith('UID:'))).toHaveLength(3);
    expect(unfolded.some((line) => line.startsWith('X-INJECTED') || line.startsWith('SUMMARY:Pwned'))).toBe(false);
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(res.text)).toBe(false);

    fake.clock += 60_000;
    await service.sync.refresh({ full: true });
    const again = parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text);
    expect(again.events.map((e) => e.uid)).toEqual(calendar.events.map((e) => e.uid));
  });

  it('still removes such an interview when it is canceled later', async () => {
    const id = 'iv-1\nodd';
    fake.setRecords([interviewRecord({ id })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id, canceled: true }));
    await service.sync.refresh();
    expect(parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text).events).toEqual([]);
  });
});

describe('a feed token with broken percent-encoding got 400 and an echo of the path instead of the usual 404', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('answers exactly like an unknown path', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const unknown = await request(service.app).get('/no/such/path').expect(404);
    for (const path of ['/feeds/%E0%A4%A.ics', '/feeds/%ZZ.ics', '/feeds/AQ%.ics']) {
      const res = await request(service.app).get(path).expect(404);
      expect(res.text).toBe(unknown.text);
      expect(res.headers['content-type']).toBe(unknown.headers['content-type']);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('a null or non-object entry in users cost every interviewer on the interview their event', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('skips the entry and keeps the interview for the interviewers who are listed', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [null, { ...komboUser('ada@example.com') }, 'grace@example.com', 42] }),
      interviewRecord({ id: 'iv-2', users: 'ada@example.com' }), // not a list at all: still a rejected record
    ]);
    const service = buildTestService(fake);
    const summary = await service.sync.refresh();
    expect(summary.rejectedRecords).toBe(1);
    const calendar = parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text);
    expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1']);
  });
});

describe("a team feed dropped interviewers without an email from each event's list (null owner matched null email)", () => {
  it('names every interviewer in a team feed, and everyone but the owner in a person\'s', async () => {
    const { renderFeed } = await import('../src/calendar/render-feed.js');
    const interview = {
      id: 'iv-1', title: 'Panel', startMs: Date.UTC(2026, 11, 1, 10), endMs: Date.UTC(2026, 11, 1, 11), address: null, conferencingUrl: null,
      candidateName: null, jobName: null, jobId: 'job-1', revisionMs: Date.UTC(2026, 9, 1),
      interviewers: [{ email: 'ada@example.com', name: 'Ada Lovelace' }, { email: null, name: 'Emil Less' }],
    };
    const options = { calendarName: 'x', notEndedBeforeMs: 0, defaultDurationMinutes: 60, refreshMinutes: 60 };
    expect(parseIcs(renderFeed([interview], { ...options, ownerEmail: null })).events[0]!.description).toBe('Interviewers: Ada Lovelace, Emil Less');
    expect(parseIcs(renderFeed([interview], { ...options, ownerEmail: 'ada@example.com' })).events[0]!.description).toBe('Other interviewers: Emil Less');
  });
});

describe('a change to an interview without any interviewer email left team feeds cached and their Last-Modified unmoved', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('drops it from the all feed at once, and If-Modified-Since with the old Last-Modified is no 304', async () => {
    const record = interviewRecord({ id: 'iv-nomail', users: [komboUser(null, 'Emil', 'Less')] });
    fake.setRecords([record, interviewRecord({ id: 'iv-ada', users: [komboUser('ada@example.com')] })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const path = `/feeds/${service.tokens.encode({ integrationId: fake.integrationId, team: 'all' })}.ics`;
    const before = await request(service.app).get(path).expect(200);
    expect(parseIcs(before.text).events.map((e) => e.uid)).toEqual(['iv-ada', 'iv-nomail']);
    fake.clock += 600_000;
    fake.upsert({ ...record, canceled: true, changed_at: new Date(fake.clock).toISOString() });
    await service.sync.refresh();
    const after = await request(service.app).get(path).set('If-Modified-Since', before.headers['last-modified']!).expect(200);
    expect(parseIcs(after.text).events.map((e) => e.uid)).toEqual(['iv-ada']);
    await service.sync.close();
  });
});
