import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLinkGenerations, createMemoryLinkGenerationStore } from '../src/feeds/link-generations.js';
import { createMemoryRegistryStore } from '../src/integrations/registry-store.js';
import type { SnapshotData } from '../src/interviews/snapshot.js';
import { createMemoryState } from '../src/state/create-memory-state.js';
import type { StateListeners } from '../src/state/state-bundle.js';
import { StoreUnavailableError } from '../src/storage/store-errors.js';
import type { WalkCoordinator } from '../src/sync/walk-coordinator.js';
import { interviewRecord, komboUser, snapshotData } from './helpers/factories.js';
import { startFakeKombo, type FakeKombo } from './helpers/fake-kombo.js';
import { until } from './helpers/integrations.js';
import { buildTestService } from './helpers/test-service.js';

const ADA = 'ada@example.com';

/** A coordinator in memory that can be "away": what a shared store does, without one. */
function fakeCoordinator(now: () => number) {
  const shared = new Map<string, { data: SnapshotData; version: number }>();
  const seen = { down: false, newer: 0 };
  const coordinator: WalkCoordinator = {
    leaseMs: 1_000,
    shared: true,
    async acquire(integrationId) {
      if (seen.down) throw new StoreUnavailableError('the shared store is away');
      const lease = {
        token: 1,
        grantedAtMs: now(),
        signal: new AbortController().signal,
        async publish(data: SnapshotData) {
          const version = (shared.get(integrationId)?.version ?? 0) + 1;
          shared.set(integrationId, { data, version });
          return { version, lineage: 'one' };
        },
        release: async () => {},
      };
      return { lease, nowMs: now() };
    },
    async newer(integrationId, held) {
      seen.newer++;
      const stored = shared.get(integrationId);
      if (!stored || stored.version <= held.version) return undefined;
      return { kind: 'whole', data: stored.data, deltas: [], version: stored.version, lineage: 'one', walkedAtMs: now() };
    },
    putBack: async () => {},
  };
  return { coordinator, shared, seen };
}

describe('following changes made elsewhere in a shared state bundle', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', title: 'Walked here', users: [komboUser(ADA)] })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  /** A service on a memory bundle with `fakeCoordinator`, whose watch hands its listeners to the test. */
  function build() {
    const registry = createMemoryRegistryStore();
    const links = createMemoryLinkGenerationStore();
    const { coordinator, shared, seen } = fakeCoordinator(() => fake.clock);
    let listeners: StateListeners | undefined;
    const state = { ...createMemoryState({ registry, links }), coordinator: () => coordinator, watch: (given: StateListeners) => void (listeners = given) };
    // Asked-for walks may start 50 ms apart (not seconds): the test waits for one.
    const service = buildTestService(fake, { overrides: { state }, config: { webhookWalkIntervalMs: 50 } });
    return { service, registry, links, shared, seen, listeners: listeners! };
  }

  it('follows the registry: an integration added elsewhere is served here', async () => {
    const { service, registry, listeners } = build();
    await service.restore();
    const saved = (await registry.load())!;
    const other = { ...saved.integrations[0]!, id: 'lever:other', seq: saved.nextSeq, source: 'api' as const };
    await registry.save({ ...saved, nextSeq: saved.nextSeq + 1, integrations: [...saved.integrations, other] });
    expect(service.sync.get('lever:other')).toBeUndefined();
    await listeners.registryChanged();
    expect(service.sync.get('lever:other')).toBeDefined();
  });

  it('reads revocations again: a link revoked elsewhere stops being current here', async () => {
    const { service, links, listeners } = build();
    await service.restore();
    const subject = `p:${ADA}`;
    await createLinkGenerations(links).bump(fake.integrationId, subject);
    expect(service.links.current(fake.integrationId, subject)).toBe(0);
    await listeners.linksChanged();
    expect(service.links.current(fake.integrationId, subject)).toBe(1);
  });

  it('takes in a newer shared snapshot, and asks nothing for one it holds already', async () => {
    const { service, shared, seen, listeners } = build();
    await service.sync.refresh();
    expect(service.feeds.snapshot(fake.integrationId)?.data.interviews[0]?.title).toBe('Walked here');
    const asked = seen.newer;
    await listeners.snapshotChanged(fake.integrationId, 1); // the version this process published itself
    await listeners.snapshotChanged('lever:not-served', 7);
    expect(seen.newer).toBe(asked);
    shared.set(fake.integrationId, { data: snapshotData(fake.integrationId, 'Walked elsewhere', fake.clock), version: 2 });
    await listeners.snapshotChanged(fake.integrationId, 2);
    expect(service.feeds.snapshot(fake.integrationId)?.data.interviews[0]?.title).toBe('Walked elsewhere');
  });

  it('runs a walk asked for while the store was away once it is back, and only such a walk', async () => {
    const { service, seen, listeners } = build();
    seen.down = true;
    await expect(service.sync.refresh()).rejects.toThrow(StoreUnavailableError);
    expect(service.sync.status().waitingForStore).toBe(true);
    seen.down = false;
    listeners.storeUp();
    await until(() => service.feeds.snapshot(fake.integrationId) !== undefined, 'the walk that waited');
    await until(() => !service.sync.status().waitingForStore, 'no longer waiting');
    const requests = fake.requests.length;
    listeners.storeUp();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.requests.length).toBe(requests);
  });

  it('hands over each snapshot it holds, with its version, when the store lost its data', async () => {
    const { service, listeners } = build();
    expect([...listeners.heldSnapshots()]).toEqual([]);
    await service.sync.refresh();
    const held = [...listeners.heldSnapshots()];
    expect(held).toEqual([{ integrationId: fake.integrationId, data: service.feeds.snapshot(fake.integrationId)!.data, version: 1 }]);
  });
});
