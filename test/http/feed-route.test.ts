import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

describe('GET /feeds/{token}.ics', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('serves each interviewer exactly their live interviews, walked over every page', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('Ada@Example.com ', 'Ada', 'Lovelace'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-2', title: 'Only Grace', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-3', title: 'Canceled', canceled: true }),
      interviewRecord({ id: 'iv-4', title: 'Deleted', remote_deleted_at: '2026-10-02T00:00:00Z' }),
      interviewRecord({ id: 'iv-5', title: 'Unscheduled', starting_at: null, ending_at: null }),
    ]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    expect(fake.requests.length).toBe(2); // 4 records listed (Kombo hides the deleted one on a full walk), 2 a page

    const res = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    expect(res.headers['content-type']).toBe('text/calendar; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    const calendar = parseIcs(res.text);
    expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1']);
    expect(calendar.name).toBe('Interviews: Ada Lovelace');
    expect(calendar.events[0]).toMatchObject({
      summary: 'Technical interview',
      start: '2026-12-01T10:00:00.000Z',
      end: '2026-12-01T11:00:00.000Z',
      location: 'Lohmühlenstraße 65, 12435 Berlin, DE',
      url: 'https://meet.example.com/abc-defg-hij',
    });
    expect(calendar.events[0]!.description!.split('\n')).toEqual([
      'https://meet.example.com/abc-defg-hij',
      'Candidate: Marie Curie',
      'Job: Backend Engineer',
      'Other interviewers: Grace Hopper',
    ]);

    const grace = parseIcs((await request(service.app).get(feedPath(service, 'grace@example.com')).expect(200)).text);
    expect(grace.events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
  });

  it('answers an unknown, tampered or malformed token exactly like an unknown path', async () => {
    fake.setRecords([interviewRecord()]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const good = feedPath(service, 'ada@example.com');
    const token = good.slice('/feeds/'.length, -'.ics'.length);
    const tampered = `/feeds/${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}.ics`;
    const otherSecret = buildTestService(fake, { env: { FEED_SECRET: 'another-secret-entirely-0123456789abcdef' } });
    const foreign = feedPath(otherSecret, 'ada@example.com');
    const unknownPath = await request(service.app).get('/no/such/path').expect(404);
    for (const path of [tampered, foreign, '/feeds/not-a-token.ics', `/feeds/${token}.ical`, `/feeds/${token}`, '/feeds/.ics']) {
      const res = await request(service.app).get(path).expect(404);
      expect(res.text).toBe(unknownPath.text);
      expect(res.headers['content-type']).toBe(unknownPath.headers['content-type']);
    }
  });
});
