import { describe, expect, it } from 'vitest';
import { createLinkGenerations, createMemoryLinkGenerationStore, type LinkGenerationStore } from '../../src/feeds/link-generations.js';
import { revokeLink } from '../../src/feeds/revoke-link.js';
import { StoreUnavailableError } from '../../src/storage/store-errors.js';

describe('revokeLink', () => {
  it('saves the next generation of a person’s link under their normalised email, and of a team’s', async () => {
    const store = createMemoryLinkGenerationStore();
    const links = createLinkGenerations(store);
    expect(await revokeLink(links, 'int-1', { email: ' Ada@Example.com' })).toEqual({ revoked: true, generation: 1 });
    expect(await revokeLink(links, 'int-1', { email: 'ada@example.com' })).toEqual({ revoked: true, generation: 2 });
    expect(await revokeLink(links, 'int-1', { team: { job: 'job-1' } })).toEqual({ revoked: true, generation: 1 });
    expect(await revokeLink(links, 'int-1', { team: 'all' })).toEqual({ revoked: true, generation: 1 });
    expect(store.saved).toEqual({ format: 1, generations: { 'int-1': { 'p:ada@example.com': 2, 'j:job-1': 1, '*': 1 } } });
    // The old token is refused from now on; the new one is served.
    expect(links.isCurrent({ integrationId: 'int-1', email: 'ada@example.com', generation: 1 })).toBe(false);
    expect(links.isCurrent({ integrationId: 'int-1', email: 'ada@example.com', generation: 2 })).toBe(true);
  });

  it('answers a refusal (too many revoked links) with its reason, changing nothing', async () => {
    const store = createMemoryLinkGenerationStore();
    const links = createLinkGenerations(store, 1);
    await revokeLink(links, 'int-1', { email: 'ada@example.com' });
    const refused = await revokeLink(links, 'int-1', { email: 'grace@example.com' });
    expect(refused).toEqual({ revoked: false, reason: 'cannot revoke more than 1 links (MAX_REVOKED_LINKS)' });
    expect(links.current('int-1', 'p:grace@example.com')).toBe(0);
    expect(store.saved).toEqual({ format: 1, generations: { 'int-1': { 'p:ada@example.com': 1 } } });
  });

  it('lets a store that cannot be reached throw (the caller may try again)', async () => {
    const down: LinkGenerationStore = {
      load: async () => undefined,
      save: async () => {
        throw new StoreUnavailableError('the store did not answer');
      },
    };
    await expect(revokeLink(createLinkGenerations(down), 'int-1', { email: 'ada@example.com' })).rejects.toThrow(StoreUnavailableError);
  });
});
