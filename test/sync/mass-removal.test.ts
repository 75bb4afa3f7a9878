import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { MASS_REMOVAL_FRACTION, MASS_REMOVAL_MIN, MassRemovalHeldError } from '../../src/sync/mass-removal-guard.js';
import { manyRecords } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { ADMIN_TOKEN, buildTestService, feedBytes } from '../helpers/test-service.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PEOPLE = Array.from({ length: 10 }, (_, n) => `person${n}@example.com`);
const AUTH = `Bearer ${ADMIN_TOKEN}`;

type Logged = Record<string, unknown>;
const errors = (service: { logs: { lines: Logged[] } }) => service.logs.lines.filter((line) => line.level === 'error');

async function allFeeds(service: Service): Promise<Buffer[]> {
  return Promise.all(PEOPLE.map((email) => feedBytes(service, email)));
}

const eventCount = (feeds: Buffer[]) => feeds.reduce((sum, bytes) => sum + parseIcs(bytes).events.length, 0);

async function healthz(service: Service) {
  return (await request(service.app).get('/healthz').expect(200)).body as {
    snapshot: { interviews: number };
    sync: { held: Record<string, unknown> | null; lastSuccess: { startedAt: string } | null };
  };
}

describe('the mass-removal guard', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let T0: number;

  /** A snapshot of `count` interviews over ten interviewers, then five minutes on. */
  async function start(count: number, env: Record<string, string> = {}) {
    fake.setRecords(manyRecords(count, PEOPLE));
    fake.clock += 10 * MINUTE;
    T0 = fake.clock;
    service = buildTestService(fake, { env, overrides: { timeoutMs: 10_000 } });
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full', interviews: count });
    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;
  }

  /** Kombo now lists only the first `keep` of the records it had. */
  function keepOnly(keep: number) {
    fake.setRecords(fake.records().slice(0, keep));
  }

  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('names its bounds', () => {
    expect(MASS_REMOVAL_FRACTION).toBe(0.5);
    expect(MASS_REMOVAL_MIN).toBe(50);
  });

  it('holds one valid, empty page after a snapshot of 100 interviews: feeds unchanged, status held, one error logged', async () => {
    await start(100);
    const before = await allFeeds(service);
    expect(eventCount(before)).toBe(100);
    fake.setRecords([]);

    const held = service.sync.refresh({ full: true });
    await expect(held).rejects.toBeInstanceOf(MassRemovalHeldError);
    await expect(held).rejects.toThrow(/would remove 100 of 100 interviews/);
    const after = await allFeeds(service);
    for (const [n, bytes] of after.entries()) expect(bytes.equals(before[n]!), PEOPLE[n]).toBe(true);
    const heldAt = new Date(fake.clock).toISOString();
    expect(service.sync.status().held).toEqual({
      removals: 100,
      of: 100,
      since: heldAt,
      kind: 'full',
      lastHeldAt: heldAt,
      appliesFrom: new Date(fake.clock + 24 * HOUR).toISOString(),
    });
    const health = await healthz(service);
    expect(health.snapshot.interviews).toBe(100);
    expect(health.sync.held).toMatchObject({ removals: 100, of: 100, since: heldAt, kind: 'full' });
    await request(service.app).get('/readyz').expect(200);
    expect(errors(service)).toHaveLength(1);
    expect(String(errors(service)[0]!.msg)).toMatch(/held a walk that would remove 100 of 100 interviews/);

    // The scheduled refreshes go on (as full walks, while held): held again, but logged as an error only once.
    for (let n = 0; n < 3; n++) {
      fake.clock += 5 * MINUTE;
      fake.requests.length = 0;
      await expect(service.sync.refresh()).rejects.toBeInstanceOf(MassRemovalHeldError);
      expect(fake.requests[0]!.query).not.toHaveProperty('updated_after');
    }
    expect(errors(service)).toHaveLength(1);
    expect(service.sync.status()).toMatchObject({ held: { since: heldAt, lastHeldAt: new Date(fake.clock).toISOString() }, consecutiveFailures: 0 });
    const counted = (await service.metrics.refreshes.get()).values.filter((v) => v.labels.outcome === 'held');
    expect(counted.reduce((sum, v) => sum + v.value, 0)).toBe(4);
    expect(eventCount(await allFeeds(service))).toBe(100);
  });

  it('applies a held removal when an operator confirms it, with a full walk of its own', async () => {
    await start(100);
    keepOnly(10);
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);

    // Without confirmation the admin route says it is held; a confirmation without a full walk is refused.
    const asked = await request(service.app).post('/admin/sync?full=true').set('Authorization', AUTH).expect(409);
    expect(asked.body).toMatchObject({ status: 'held', held: { removals: 90, of: 100 } });
    expect(asked.body.error).toMatch(/confirmRemovals=true/);
    const requests = fake.requests.length;
    const refused = await request(service.app).post('/admin/sync?confirmRemovals=true').set('Authorization', AUTH).expect(400);
    expect(refused.body.message).toMatch(/full=true/);
    expect(fake.requests.length, 'a refused confirmation walks nothing').toBe(requests);
    expect(eventCount(await allFeeds(service))).toBe(100);

    fake.clock += MINUTE;
    const confirmed = await request(service.app).post('/admin/sync?full=true&confirmRemovals=true').set('Authorization', AUTH).expect(200);
    expect(confirmed.body.summary).toMatchObject({ kind: 'full', interviews: 10, changes: 90 });
    expect(eventCount(await allFeeds(service))).toBe(10);
    expect(service.sync.status().held).toBeNull();
    expect((await healthz(service)).sync.held).toBeNull();
    expect(service.logs.lines.some((l) => l.level === 'warn' && /operator confirmed/.test(String(l.msg)))).toBe(true);
  });

  it('confirms with a walk read after the confirmation, not the one already in flight', async () => {
    await start(100);
    keepOnly(0);
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    fake.clock += MINUTE;
    const inFlight = service.sync.refresh();
    const confirmed = service.sync.refresh({ full: true, confirmRemovals: true });
    await expect(inFlight).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(await confirmed).toMatchObject({ kind: 'full', interviews: 0 });
    expect(service.sync.status().held).toBeNull();
  });

  it.each([
    ['49 of 60: below the minimum', 60, 11, 'applies'],
    ['50 of 100: not more than half', 100, 50, 'applies'],
    ['51 of 100: more than half', 100, 49, 'holds'],
    ['50 of 99: more than half, and the minimum', 99, 49, 'holds'],
  ] as const)('a full walk removing %s %s', async (_name, count, keep, outcome) => {
    await start(count);
    keepOnly(keep);
    const refreshed = service.sync.refresh({ full: true });
    if (outcome === 'applies') {
      expect(await refreshed).toMatchObject({ interviews: keep, changes: count - keep });
      expect(service.sync.status().held).toBeNull();
      expect(errors(service)).toHaveLength(0);
    } else {
      await expect(refreshed).rejects.toBeInstanceOf(MassRemovalHeldError);
      expect(service.sync.status().held).toMatchObject({ removals: count - keep, of: count });
      expect(service.feeds.snapshot(fake.integrationId)!.size).toBe(count);
    }
  });

  it('holds an incremental walk that deletes most interviews, then walks in full until it is settled', async () => {
    await start(100);
    const deletedAt = new Date(fake.clock).toISOString();
    for (const record of fake.records().slice(0, 51)) fake.upsert({ ...record, remote_deleted_at: deletedAt });
    fake.clock += MINUTE;
    await expect(service.sync.refresh()).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(fake.requests[0]!.query).toHaveProperty('updated_after');
    expect(service.sync.status().held).toMatchObject({ removals: 51, of: 100, kind: 'incremental', appliesFrom: null });
    // The held walk's time is not the snapshot's: the next incremental walk must still ask from before it.
    expect(service.feeds.snapshot(fake.integrationId)!.data.syncedAtMs).toBe(T0);

    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;
    await expect(service.sync.refresh()).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(fake.requests[0]!.query).not.toHaveProperty('updated_after');
    expect(service.sync.status().held).toMatchObject({ kind: 'incremental', appliesFrom: new Date(fake.clock + 24 * HOUR).toISOString() });
    expect(errors(service)).toHaveLength(1);
    expect(eventCount(await allFeeds(service))).toBe(100);
  });

  it('applies a removal that full walks keep agreeing on for MASS_REMOVAL_HOLD_HOURS, and not a moment sooner', async () => {
    await start(100);
    keepOnly(0);
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    const heldAt = fake.clock;
    for (const step of [6 * HOUR, 6 * HOUR, 6 * HOUR, 6 * HOUR - 1]) {
      fake.clock += step;
      await expect(service.sync.refresh()).rejects.toBeInstanceOf(MassRemovalHeldError);
    }
    expect(fake.clock - heldAt).toBe(24 * HOUR - 1);
    expect(eventCount(await allFeeds(service))).toBe(100);

    fake.clock += 1;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full', interviews: 0, changes: 100 });
    expect(eventCount(await allFeeds(service))).toBe(0);
    expect(service.sync.status().held).toBeNull();
    expect(service.logs.lines.some((l) => l.level === 'warn' && /full walks agreed/.test(String(l.msg)))).toBe(true);
  });

  it('takes the agreement time from MASS_REMOVAL_HOLD_HOURS', async () => {
    await start(100, { MASS_REMOVAL_HOLD_HOURS: '2' });
    keepOnly(0);
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    fake.clock += HOUR;
    await expect(service.sync.refresh()).rejects.toBeInstanceOf(MassRemovalHeldError);
    fake.clock += HOUR;
    expect(await service.sync.refresh()).toMatchObject({ interviews: 0 });
  });

  it('clears the hold when Kombo lists the interviews again, and asks for changes from that walk on', async () => {
    await start(100);
    const records = fake.records();
    keepOnly(0);
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    // An agreeing walk in between does not change the outcome once Kombo recovers.
    fake.clock += HOUR;
    await expect(service.sync.refresh()).rejects.toBeInstanceOf(MassRemovalHeldError);

    fake.clock += HOUR;
    fake.setRecords(records);
    const recoveredAt = fake.clock;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full', interviews: 100, changes: 0 });
    expect(service.sync.status().held).toBeNull();
    expect(service.logs.lines.some((l) => l.level === 'info' && /hold is cleared/.test(String(l.msg)))).toBe(true);
    expect(eventCount(await allFeeds(service))).toBe(100);

    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental' });
    expect(fake.requests[0]!.query.updated_after).toBe(new Date(recoveredAt - MINUTE).toISOString());
    // A later mass removal is a new hold, logged again.
    keepOnly(0);
    fake.clock += 5 * MINUTE;
    await expect(service.sync.refresh({ full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(errors(service)).toHaveLength(2);
  });
});
