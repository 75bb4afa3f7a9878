import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LINK_FETCHES_FILE } from '../../src/feeds/link-fetches.js';
import { LINK_GENERATIONS_FILE } from '../../src/feeds/link-generations.js';
import { REGISTRY_FILE } from '../../src/integrations/registry-store.js';
import { createEmbeddedState } from '../../src/state/create-embedded-state.js';
import { WEBHOOK_IDS_FILE } from '../../src/state/webhook-ids.js';
import { snapshotData } from '../helpers/factories.js';
import { captureLogger } from '../helpers/test-service.js';

const ID = 'greenhouse:acme';

describe('the embedded state bundle', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'embedded-state-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the registry, snapshots, revocations and link fetches in files under DATA_DIR, read back by a new bundle', async () => {
    const first = createEmbeddedState({ dataDir });
    const registry = { format: 1 as const, nextSeq: 1, integrations: [], removed: [{ id: ID, removedAtMs: 5 }] };
    const generations = { format: 1 as const, generations: { [ID]: { 'p:ada@example.com': 2 } } };
    const fetches = { format: 1 as const, fetches: { [ID]: { 'ada@example.com': { atMs: 7, client: 'google' as const } } } };
    await first.registry.save(registry);
    await first.snapshots.save(snapshotData(ID, 'Kept', 1_000));
    await first.links.save(generations);
    await first.fetches.save(fetches);
    const files = await readdir(dataDir);
    for (const file of [REGISTRY_FILE, LINK_GENERATIONS_FILE, LINK_FETCHES_FILE]) expect(files).toContain(file);
    expect(files.some((file) => file.startsWith('snapshot-'))).toBe(true);

    const restarted = createEmbeddedState({ dataDir });
    expect(await restarted.registry.load()).toEqual(registry);
    expect((await restarted.snapshots.load(ID))?.interviews[0]?.title).toBe('Kept');
    expect(await restarted.links.load()).toEqual(generations);
    expect(await restarted.fetches.load()).toEqual(fetches);
  });

  it('keeps sessions and sign-ins in progress in memory: a restart forgets them; webhook ids seen outlive it (issue 20, finding 4)', async () => {
    const first = createEmbeddedState({ dataDir });
    const now = () => 0;
    const session = await first.sessions({ ttlMs: 60_000, now }).create();
    await first.pendingSignIns().hold('state-1', { verifier: 'v', nonce: 'n', next: 'me', expiresAtMs: 60_000 }, 0);
    const ids = first.webhookIds({ now });
    expect(await ids.claim('evt-1')).toBe(false);
    expect(await ids.claim('evt-1')).toBe(true);
    expect(await readdir(dataDir)).toEqual([WEBHOOK_IDS_FILE]); // nothing of sessions or sign-ins reached the disk

    const restarted = createEmbeddedState({ dataDir });
    expect(await restarted.sessions({ ttlMs: 60_000, now }).get(session.id)).toBeUndefined();
    expect(await restarted.pendingSignIns().take('state-1')).toBeUndefined();
    expect(await restarted.webhookIds({ now }).claim('evt-1')).toBe(true);
  });

  it('has nothing to connect to, no health to show, and never tells of changes elsewhere', async () => {
    const state = createEmbeddedState({ dataDir });
    expect(state.health).toBeUndefined();
    // Its coordinator is a process alone's: it walks whenever asked, and shares no walk.
    expect(state.coordinator(captureLogger().logger).shared).toBe(false);
    const calls: string[] = [];
    state.watch({
      registryChanged: async () => void calls.push('registry'),
      linksChanged: async () => void calls.push('links'),
      snapshotChanged: async () => void calls.push('snapshot'),
      snapshotWalked: async () => void calls.push('walked'),
      storeUp: () => void calls.push('up'),
      heldSnapshots: () => (calls.push('held'), []),
    });
    await state.connect(1);
    await state.registry.save({ format: 1, nextSeq: 1, integrations: [], removed: [] });
    await state.links.save({ format: 1, generations: {} });
    await state.close();
    expect(calls).toEqual([]);
  });
});
