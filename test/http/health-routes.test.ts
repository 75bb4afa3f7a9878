import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { buildTestService } from '../helpers/test-service.js';

describe('health routes', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-2', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
    ]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('answers /healthz 200 with JSON while the process runs, before any snapshot too', async () => {
    const service = buildTestService(fake);
    const res = await request(service.app).get('/healthz').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ status: 'ok', snapshot: null });
  });

  it('reports the snapshot on /healthz once one is loaded, without any secret', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const res = await request(service.app).get('/healthz').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', demo: false, snapshot: { interviews: 2, interviewers: 2 } });
    for (const secret of [fake.apiKey, service.config.feedSecret, service.config.adminToken!]) expect(res.text).not.toContain(secret);
  });

  it('keeps /healthz 200 after a failed refresh, and says it failed', async () => {
    const service = buildTestService(fake);
    fake.fail({ type: 'status', status: 503 }, { times: 100 });
    await expect(service.sync.refresh()).rejects.toThrow();
    const res = await request(service.app).get('/healthz').expect(200);
    // Degraded (issue 24): the walk failed and there is no snapshot, so every feed answers 503.
    expect(res.body).toMatchObject({ status: 'degraded', problems: { total: 1, byReason: { unreachable: 1 } }, sync: { consecutiveFailures: 1 } });
  });

  it('answers /readyz 503 before a snapshot and 200 after', async () => {
    const service = buildTestService(fake);
    const before = await request(service.app).get('/readyz').expect(503);
    expect(before.headers['content-type']).toMatch(/^application\/json/);
    expect(before.headers['x-content-type-options']).toBe('nosniff');
    expect(before.body).toEqual({ ready: false });

    fake.fail({ type: 'malformed' }, { times: 100 });
    await expect(service.sync.refresh()).rejects.toThrow();
    await request(service.app).get('/readyz').expect(503);

    fake.clearFaults();
    await service.sync.refresh();
    const after = await request(service.app).get('/readyz').expect(200);
    expect(after.body).toEqual({ ready: true });
  });

  it('stays ready when a later refresh fails: the last snapshot keeps serving', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    fake.fail({ type: 'status', status: 500 }, { times: 100 });
    await expect(service.sync.refresh({ full: true })).rejects.toThrow();
    await request(service.app).get('/readyz').expect(200);
  });
});
