import { describe, expect, it } from 'vitest';
import { boundLevel, currentFeedLinks, feedLinksAtLevel, feedLinksFor, linkSubjectKey, type LinkIssuer } from '../../src/feeds/feed-links.js';
import { createFeedTokens } from '../../src/feeds/feed-token.js';
import { createLinkGenerations, createMemoryLinkGenerationStore } from '../../src/feeds/link-generations.js';

const SECRET = 'x'.repeat(40);
const tokens = createFeedTokens(SECRET);
const publicUrl = 'https://feeds.example.com';

/** The identity inside a link's URL. */
function identityOf(url: string) {
  const token = /\/feeds\/([^/]+)\.ics$/.exec(url)![1]!;
  return tokens.decode(token);
}

async function issuer(defaultDetail: LinkIssuer['defaultDetail'], revoked: string[] = []): Promise<LinkIssuer> {
  const links = createLinkGenerations(createMemoryLinkGenerationStore());
  for (const subject of revoked) await links.bump('int-1', subject);
  return { tokens, publicUrl, defaultDetail, links };
}

describe('boundLevel', () => {
  it('binds the level asked for, else a default that is not full; a full default binds nothing', () => {
    expect(boundLevel('busy', 'full')).toBe('busy');
    expect(boundLevel('full', 'private')).toBe('full');
    expect(boundLevel(undefined, 'private')).toBe('private');
    expect(boundLevel(undefined, 'full')).toBeUndefined();
  });
});

describe('linkSubjectKey', () => {
  it('keys a person by their normalised email and a team by job or "*"', () => {
    expect(linkSubjectKey({ email: ' Ada@Example.COM ' })).toBe('p:ada@example.com');
    expect(linkSubjectKey({ team: { job: 'job-1' } })).toBe('j:job-1');
    expect(linkSubjectKey({ team: 'all' })).toBe('*');
  });
});

describe('feedLinksFor', () => {
  it('writes a never-revoked person’s link without a level in format 1, the URL handed out before levels existed', () => {
    const links = feedLinksFor({ tokens, publicUrl }, 'int-1', 'Ada@Example.com', 'Interviews: Ada');
    expect(links).toMatchObject({ integration: 'int-1', email: 'ada@example.com' });
    expect(links).not.toHaveProperty('detail');
    expect(links.url).toMatch(/^https:\/\/feeds\.example\.com\/feeds\/A[A-Za-z0-9_-]+\.ics$/); // 0x01 → base64url "A…"
    expect(identityOf(links.url)).toEqual({ integrationId: 'int-1', email: 'ada@example.com' });
    expect(new URL(links.outlookUrl).searchParams.get('name')).toBe('Interviews: Ada');
  });

  it('binds a level, a team and a generation into the token, and names the calendar "Interviews" when not told', () => {
    const links = feedLinksFor({ tokens, publicUrl }, 'int-1', { team: { job: 'job-1' } }, undefined, 'busy', 3);
    expect(links).toMatchObject({ integration: 'int-1', team: { job: 'job-1' }, detail: 'busy' });
    expect(identityOf(links.url)).toEqual({ integrationId: 'int-1', team: { job: 'job-1' }, detail: 'busy', generation: 3 });
    expect(new URL(links.outlookUrl).searchParams.get('name')).toBe('Interviews');
  });
});

describe('currentFeedLinks', () => {
  it('issues a revoked link’s replacement, and the same URL as feedLinksFor for one never revoked', async () => {
    const fresh = await issuer('full');
    expect(currentFeedLinks(fresh, 'int-1', { email: 'ada@example.com' }, undefined).url).toBe(feedLinksFor(fresh, 'int-1', 'ada@example.com').url);

    const revoked = await issuer('full', ['p:ada@example.com', 'p:ada@example.com']);
    const links = currentFeedLinks(revoked, 'int-1', { email: 'ADA@example.com' }, undefined);
    expect(identityOf(links.url)).toEqual({ integrationId: 'int-1', email: 'ada@example.com', generation: 2 });
    // Another person's link, and the same person's in another integration, are untouched.
    expect(identityOf(currentFeedLinks(revoked, 'int-1', { email: 'grace@example.com' }, undefined).url)).toEqual({ integrationId: 'int-1', email: 'grace@example.com' });
    expect(identityOf(currentFeedLinks(revoked, 'int-2', { email: 'ada@example.com' }, undefined).url)).toEqual({ integrationId: 'int-2', email: 'ada@example.com' });
  });

  it('binds FEED_DEFAULT_DETAIL when it is not full and no level is asked for', async () => {
    const links = currentFeedLinks(await issuer('private'), 'int-1', { team: 'all' }, undefined);
    expect(identityOf(links.url)).toEqual({ integrationId: 'int-1', team: 'all', detail: 'private' });
  });
});

describe('feedLinksAtLevel', () => {
  it('shows the API’s own URL at the default level, and a bound one at any other', async () => {
    const full = await issuer('full');
    expect(feedLinksAtLevel(full, 'int-1', { email: 'ada@example.com' }, 'full').url).toBe(currentFeedLinks(full, 'int-1', { email: 'ada@example.com' }, undefined).url);
    expect(identityOf(feedLinksAtLevel(full, 'int-1', { email: 'ada@example.com' }, 'busy').url)).toMatchObject({ detail: 'busy' });
    // Asked for explicitly, the API binds `full`; a page shows the unbound default link instead.
    expect(currentFeedLinks(full, 'int-1', { email: 'ada@example.com' }, 'full').url).not.toBe(feedLinksAtLevel(full, 'int-1', { email: 'ada@example.com' }, 'full').url);

    const busy = await issuer('busy', ['p:ada@example.com']);
    expect(identityOf(feedLinksAtLevel(busy, 'int-1', { email: 'ada@example.com' }, 'busy').url)).toEqual({
      integrationId: 'int-1',
      email: 'ada@example.com',
      detail: 'busy',
      generation: 1,
    });
  });
});
