import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOT_FOUND_BODY } from '../../src/http/http-error.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

/* An interviewer may subscribe before their first interview is booked, or outlive their last one. */

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

describe('an interviewer without interviews', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.clock = T0;
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('gets 200 and a valid, empty calendar with its name, with validators that answer 304', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const res = await request(service.app).get(feedPath(service, 'newcomer@example.com')).set('Accept-Encoding', 'identity').expect(200);
    expect(res.headers['content-type']).toBe('text/calendar; charset=utf-8');
    const calendar = parseIcs(res.text);
    expect(calendar.events).toEqual([]);
    expect(calendar.version).toBe('2.0');
    expect(calendar.name).toBe('Interviews: newcomer@example.com');
    expect(calendar.wrCalName).toBe(calendar.name);
    expect(res.text).not.toContain('BEGIN:VEVENT');
    expect(res.headers['last-modified']).toBe(new Date(T0).toUTCString());
    await request(service.app).get(feedPath(service, 'newcomer@example.com')).set('If-None-Match', res.headers.etag!).expect(304);
  });

  it('still differs from a forged token, which stays a 404', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const res = await request(service.app).get('/feeds/AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics').expect(404);
    expect(res.body).toEqual(NOT_FOUND_BODY);
  });

  it('gets an empty calendar once their last interview is canceled, and the old ETag stops matching', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const before = await request(service.app).get(feedPath(service, 'ada@example.com')).set('Accept-Encoding', 'identity').expect(200);
    expect(parseIcs(before.text).events.map((e) => e.uid)).toEqual(['iv-1']);

    fake.clock = T0 + 60_000;
    fake.upsert(interviewRecord({ id: 'iv-1', canceled: true, changed_at: '2026-11-01T12:00:30Z', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] }));
    await service.sync.refresh();
    const after = await request(service.app)
      .get(feedPath(service, 'ada@example.com'))
      .set({ 'Accept-Encoding': 'identity', 'If-None-Match': before.headers.etag! })
      .expect(200);
    const calendar = parseIcs(after.text);
    expect(calendar.events).toEqual([]);
    // The calendar keeps its owner's name, not their email, once their last interview has gone.
    expect(calendar.name).toBe('Interviews: Ada Lovelace');
    expect(Date.parse(after.headers['last-modified']!)).toBeGreaterThan(Date.parse(before.headers['last-modified']!));
  });

  it('gets 503, never an empty calendar, before the first snapshot (a client would delete every event it holds)', async () => {
    const service = buildTestService(fake);
    const res = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(503);
    expect(res.headers['content-type']).not.toMatch(/text\/calendar/);
    expect(res.headers['retry-after']).toBeDefined();
  });
});
