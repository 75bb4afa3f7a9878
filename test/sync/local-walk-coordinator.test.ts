import { describe, expect, it } from 'vitest';
import type { SnapshotData } from '../../src/interviews/snapshot.js';
import { createMemorySnapshotStore, SnapshotFileError, type SnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createLocalWalkCoordinator } from '../../src/sync/local-walk-coordinator.js';
import { linkSignals } from '../../src/link-signals.js';
import { domainInterview } from '../helpers/factories.js';
import { captureLogger } from '../helpers/test-service.js';

const A = 'greenhouse:a';
const B = 'greenhouse:b';
const T = Date.UTC(2026, 10, 2, 9);
const NONE = { version: 0, lineage: '' };

function data(integrationId: string, syncedAtMs = T): SnapshotData {
  return { format: 1, integrationId, syncedAtMs, fullSyncedAtMs: syncedAtMs, firstSyncedAtMs: syncedAtMs, interviews: [domainInterview()], feedChangedAtMs: {} };
}

function local(store: SnapshotStore = createMemorySnapshotStore()) {
  const { logger, logs } = captureLogger();
  return { coordinator: createLocalWalkCoordinator({ store, logger }), logs, store };
}

/** A store whose saves wait until the test lets them finish. */
function gatedStore() {
  const inner = createMemorySnapshotStore();
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const store: SnapshotStore = { ...inner, save: async (d) => (await opened, inner.save(d)) };
  return { store, saved: inner.saved, open: () => open() };
}

describe('createLocalWalkCoordinator', () => {
  it('grants every lease at once, on a clock that only moves forward: an ask is always after every earlier grant', async () => {
    const { coordinator } = local();
    const answers = [await coordinator.acquire(A), await coordinator.acquire(A), await coordinator.acquire(B), await coordinator.acquire(A)];
    for (const answer of answers) {
      expect(answer.lease).toBeDefined();
      expect(answer.lease!.grantedAtMs).toBe(answer.nowMs);
      expect(answer.lease!.signal.aborted).toBe(false);
    }
    for (let n = 1; n < answers.length; n++) {
      expect(answers[n]!.nowMs).toBeGreaterThan(answers[n - 1]!.lease!.grantedAtMs);
      expect(answers[n]!.lease!.token).toBeGreaterThan(answers[n - 1]!.lease!.token);
    }
    // A local lease is never lost: nobody waits out its life.
    expect(coordinator.leaseMs).toBe(Infinity);
  });

  it('saves a full walk, or one that changed something; not an incremental walk that changed nothing', async () => {
    const { coordinator, store } = local();
    const { lease } = await coordinator.acquire(A);
    const saves = () => (store as ReturnType<typeof createMemorySnapshotStore>).saved.get(A)?.syncedAtMs;
    await (await lease!.publish(data(A, T), { full: true, changes: 0 })).written;
    expect(saves()).toBe(T);
    await (await lease!.publish(data(A, T + 1), { full: false, changes: 0 })).written;
    expect(saves()).toBe(T);
    await (await lease!.publish(data(A, T + 2), { full: false, changes: 3 })).written;
    expect(saves()).toBe(T + 2);
    // Told nothing of the walk: saved, as a full one would be.
    await (await lease!.publish(data(A, T + 3))).written;
    expect(saves()).toBe(T + 3);
  });

  it('numbers what it publishes, per integration, and never needs a delta', async () => {
    const { coordinator } = local();
    const { lease } = await coordinator.acquire(A);
    let deltas = 0;
    const change = {
      on: { version: 1, lineage: 'local' },
      delta: () => {
        deltas++;
        throw new Error('not needed');
      },
      size: 1,
    };
    const first = await lease!.publish(data(A), { full: false, changes: 1, change });
    const second = await lease!.publish(data(A), { full: false, changes: 1, change });
    const other = await (await coordinator.acquire(B)).lease!.publish(data(B), { full: true, changes: 1 });
    expect([first.version, second.version, other.version]).toEqual([1, 2, 1]);
    expect(first.lineage).toBe(second.lineage);
    expect(deltas).toBe(0);
  });

  it('resolves a publish before the snapshot is saved (feeds are served meanwhile); `written` settles once it is', async () => {
    const { store, saved, open } = gatedStore();
    const { coordinator } = local(store);
    const published = await (await coordinator.acquire(A)).lease!.publish(data(A), { full: true, changes: 1 });
    expect(saved.has(A)).toBe(false);
    let written = false;
    void published.written!.then(() => (written = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(written).toBe(false);
    open();
    await published.written;
    expect(saved.has(A)).toBe(true);
  });

  it('logs a save that fails, naming the integration, and neither the publish nor `written` rejects', async () => {
    const failing: SnapshotStore = { ...createMemorySnapshotStore(), save: async () => Promise.reject(new Error('EACCES: permission denied')) };
    const { coordinator, logs } = local(failing);
    const published = await (await coordinator.acquire(A)).lease!.publish(data(A), { full: true, changes: 1 });
    await expect(published.written).resolves.toBeUndefined();
    const line = logs.lines.find((l) => l.level === 'error');
    expect(line).toMatchObject({ msg: 'could not save the snapshot; feeds are still served from memory', integration: A });
    expect(JSON.stringify(line)).toContain('EACCES');
  });

  it('gives the stored snapshot once, as restored, for the integration’s start; later asks find nothing newer', async () => {
    const { coordinator, store } = local();
    await store.save(data(A, T - 60_000));
    const update = await coordinator.newer(A, NONE);
    expect(update).toMatchObject({ kind: 'whole', version: 1, walkedAtMs: 0, restored: true, deltas: [] });
    expect(update?.kind === 'whole' && update.data.syncedAtMs).toBe(T - 60_000);
    expect(await coordinator.newer(A, { version: 1, lineage: update!.lineage })).toBeUndefined();
    expect(await coordinator.newer(A, NONE)).toBeUndefined();
    expect(await coordinator.newer(B, NONE)).toBeUndefined(); // nothing stored
  });

  it('gives nothing from the store once the integration walked here: its own walks are newer', async () => {
    const { coordinator, store } = local();
    await store.save(data(A, T - 60_000));
    await coordinator.acquire(A);
    expect(await coordinator.newer(A, NONE)).toBeUndefined();
  });

  it('logs a snapshot it cannot read and gives nothing, so the integration waits for Kombo', async () => {
    const unreadable: SnapshotStore = {
      ...createMemorySnapshotStore(),
      load: async () => Promise.reject(new SnapshotFileError('/data/snapshot.json is not valid JSON')),
    };
    const { coordinator, logs } = local(unreadable);
    expect(await coordinator.newer(A, NONE)).toBeUndefined();
    const line = logs.lines.find((l) => l.level === 'warn');
    expect(line).toMatchObject({ msg: 'ignored an unreadable snapshot file; waiting for Kombo instead', integration: A });
    expect(JSON.stringify(line)).toContain('is not valid JSON');
  });

  it('has nothing to put back: the store is its own', async () => {
    const { coordinator, store } = local();
    await coordinator.putBack(A, { data: data(A), version: 3 });
    expect((store as ReturnType<typeof createMemorySnapshotStore>).saved.size).toBe(0);
  });

  it('gives each lease a signal of its own: a thousand walks waiting at start-up pile no listeners onto one signal', async () => {
    const coordinator = createLocalWalkCoordinator({ store: createMemorySnapshotStore(), logger: captureLogger().logger });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const links = [];
      for (let n = 0; n < 20; n++) {
        const { lease } = await coordinator.acquire(`integration-${n}`);
        links.push(linkSignals(new AbortController().signal, lease!.signal));
      }
      await new Promise((resolve) => setImmediate(resolve));
      for (const link of links) link.dispose();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
