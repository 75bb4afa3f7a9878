import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotHolder } from '../../src/feeds/feed-service.js';
import type { RejectedRecord } from '../../src/interviews/interview-schema.js';
import type { Snapshot } from '../../src/interviews/snapshot.js';
import { createKomboClient } from '../../src/kombo/create-kombo-client.js';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { MassRemovalHeldError } from '../../src/sync/mass-removal-guard.js';
import type { WalkAsk } from '../../src/sync/single-flight.js';
import { createSnapshotBuilder, type SnapshotBuilderOptions } from '../../src/sync/snapshot-builder.js';
import { interviewRecord, manyRecords } from '../helpers/factories.js';
import { komboClientOptions, startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { captureLogger } from '../helpers/test-service.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ASK: WalkAsk = { full: false, confirmRemovals: false, periodic: false };
const signals = () => ({ signal: new AbortController().signal, slotSignal: new AbortController().signal });

describe('createSnapshotBuilder', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ pageSize: 2 });
    fake.setRecords(manyRecords(3, ['ada@example.com', 'grace@example.com']));
    fake.clock += 10 * MINUTE;
  });
  afterEach(() => fake.close());

  function builder(overrides: Partial<SnapshotBuilderOptions> = {}) {
    let current: Snapshot | undefined;
    const feeds: SnapshotHolder = { snapshot: () => current, replace: (next) => void (current = next) };
    const rejected: Array<[RejectedRecord, boolean]> = [];
    const { logger, logs } = captureLogger();
    const built = createSnapshotBuilder({
      client: createKomboClient({ ...komboClientOptions(fake), sleep: async () => {} }),
      feeds,
      logger,
      now: () => fake.clock,
      fullSyncIntervalMs: 24 * HOUR,
      massRemovalHoldMs: 24 * HOUR,
      onRejected: (record, kept) => void rejected.push([record, kept]),
      ...overrides,
    });
    /** Plans, builds and serves one walk, as the engine does. */
    const walk = async (ask: WalkAsk = ASK) => {
      const plan = built.plan(ask);
      const result = await built.build(plan, signals());
      feeds.replace(result.applied.snapshot, result.applied.changedEmails);
      return { plan, ...result };
    };
    return { builder: built, feeds, walk, rejected, logs };
  }

  it('plans a full walk while nothing is served, then incremental ones, and reads from the last walk less the overlap', async () => {
    const { builder: b, walk } = builder({ overlapMs: 30_000 });
    const first = await walk();
    expect(first.plan).toMatchObject({ full: true, kind: 'full', previous: undefined });
    expect(first.applied.snapshot.size).toBe(3);
    expect(first.result.pages).toBe(2);
    const firstAt = fake.clock;
    fake.clock += 5 * MINUTE;
    fake.requests.length = 0;
    expect(b.plan(ASK)).toMatchObject({ full: false, kind: 'incremental' });
    await walk();
    expect(fake.requests.map((r) => r.query.updated_after)).toEqual([new Date(firstAt - 30_000).toISOString()]);
  });

  it('plans a full walk when asked, for a confirmation, and once the full-sync interval has passed', async () => {
    const { builder: b, walk } = builder();
    await walk();
    expect(b.plan({ ...ASK, full: true }).full).toBe(true);
    expect(b.plan({ ...ASK, full: true, confirmRemovals: true }).full).toBe(true);
    fake.clock += 24 * HOUR - 1;
    expect(b.plan(ASK).full).toBe(false);
    fake.clock += 1;
    expect(b.plan(ASK).full).toBe(true);
  });

  it('holds a walk that would remove most interviews, and plans only full walks while it is held', async () => {
    fake.setRecords(manyRecords(100, ['ada@example.com']));
    const { builder: b, walk, feeds } = builder();
    await walk();
    fake.setRecords(manyRecords(10, ['ada@example.com']));
    await expect(walk({ ...ASK, full: true })).rejects.toBeInstanceOf(MassRemovalHeldError);
    expect(feeds.snapshot()?.size).toBe(100);
    expect(b.held()).toMatchObject({ removals: 90, of: 100 });
    expect(b.plan(ASK).full).toBe(true);
  });

  it('reports each invalid record, kept when an earlier version of its interview is served', async () => {
    const { walk, rejected } = builder();
    await walk();
    fake.clock += MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-0000', starting_at: 'not a date' }));
    fake.upsert(interviewRecord({ id: 'iv-new', starting_at: 'not a date' }));
    const { applied } = await walk();
    expect(rejected.map(([record, kept]) => [record.id, kept])).toEqual([
      ['iv-0000', true],
      ['iv-new', false],
    ]);
    expect(applied.snapshot.byId.has('iv-0000')).toBe(true);
  });

  it('applies nothing of a walk that fails, and throws what it threw', async () => {
    const { walk, feeds } = builder();
    fake.fail({ type: 'status', status: 500 }, { times: 100 });
    await expect(walk()).rejects.toBeInstanceOf(KomboError);
    expect(feeds.snapshot()).toBeUndefined();
  });

  it('fails a walk past its budget (the ceiling, before any walk), naming how the budget was set', async () => {
    const { walk } = builder({ walkCeiling: { records: 2, bytes: 1024 * 1024 * 1024 } });
    const error = await walk().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KomboError);
    expect((error as KomboError).kind).toBe('over_budget');
    expect((error as KomboError).message).toMatch(/KOMBO_WALK_MAX_RECORDS/);
  });
});
