import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLinkFetches, createMemoryLinkFetchStore } from '../../src/feeds/link-fetches.js';
import {
  createFileLinkGenerationStore,
  createLinkGenerations,
  createMemoryLinkGenerationStore,
  LINK_GENERATIONS_FILE,
  LinkGenerationError,
} from '../../src/feeds/link-generations.js';

describe('link stores: bounds and bad files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'interview-feeds-link-stores-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to revoke a new subject past the bound, saving nothing, and still revokes ones already revoked', async () => {
    const store = createMemoryLinkGenerationStore();
    const links = createLinkGenerations(store, 2);
    await links.bump('i', 'p:a@example.com');
    await links.bump('i', 'p:b@example.com');
    await expect(links.bump('i', 'p:c@example.com')).rejects.toThrow(LinkGenerationError);
    expect(links.current('i', 'p:c@example.com')).toBe(0);
    expect(store.saved).toEqual({ format: 1, generations: { i: { 'p:a@example.com': 1, 'p:b@example.com': 1 } } });
    expect(await links.bump('i', 'p:a@example.com')).toBe(2);
    expect(links.isCurrent({ integrationId: 'i', email: 'a@example.com', generation: 2 })).toBe(true);
    expect(links.isCurrent({ integrationId: 'i', email: 'a@example.com', generation: 1 })).toBe(false);
    expect(links.isCurrent({ integrationId: 'i', email: 'a@example.com' })).toBe(false);
    expect(links.isCurrent({ integrationId: 'i', email: 'c@example.com' })).toBe(true);
  });

  it('stops start-up on a revocation file it cannot read, naming it (serving on would bring revoked links back)', async () => {
    await writeFile(join(dir, LINK_GENERATIONS_FILE), '{"format":1,"generations":{"i":{"p:a@example.com":"one"}}}');
    const links = createLinkGenerations(createFileLinkGenerationStore(dir));
    await expect(links.restore()).rejects.toThrow(LINK_GENERATIONS_FILE);
    await writeFile(join(dir, LINK_GENERATIONS_FILE), '{"format":1,');
    await expect(links.restore()).rejects.toThrow(/not valid JSON/);
  });

  it('records fetches of at most the bound of links, and keeps updating those it holds', async () => {
    let now = 1_000;
    const fetches = createLinkFetches({ store: createMemoryLinkFetchStore(), now: () => now, maxEntries: 2 });
    fetches.record('i', 'a@example.com', 'Google-Calendar-Importer');
    fetches.record('i', 'b@example.com', undefined);
    fetches.record('i', 'c@example.com', 'Google-Calendar-Importer');
    now = 2_000;
    fetches.record('i', 'a@example.com', 'iOS/17.4 (21E219) dataaccessd/1.0');
    expect(fetches.get('i', 'a@example.com')).toEqual({ atMs: 2_000, client: 'apple' });
    expect(fetches.get('i', 'b@example.com')).toEqual({ atMs: 1_000, client: 'other' });
    expect(fetches.get('i', 'c@example.com')).toBeUndefined();
  });
});
