import { normalizeEmail } from '../interviews/normalize-email.js';
import { linkSubjectKey, type LinkSubject } from './feed-links.js';
import { LinkGenerationError, type LinkGenerations } from './link-generations.js';

/** What a revocation did: the link's new generation, or why it was refused (the store holds as many as it may). */
export type Revocation = { revoked: true; generation: number } | { revoked: false; reason: string };

/**
 * Revokes a subject's link in an integration, the one place every revocation goes through (the admin API, the
 * admin page's "Revoke link", /me's "Reset my link"): its next generation is saved before it is served, so the old
 * URL answers 404 from then on, across restarts, and every other link is untouched. A refusal is an answer, not an
 * error; a store that cannot be reached still throws. With `feeds`, a person's other addresses (see
 * FeedService.addressesOf) are revoked too.
 */
export async function revokeLink(
  links: Pick<LinkGenerations, 'bump'>,
  integrationId: string,
  subject: LinkSubject,
  feeds?: { addressesOf(integrationId: string, email: string): string[] },
): Promise<Revocation> {
  try {
    const generation = await links.bump(integrationId, linkSubjectKey(subject));
    // A person's links are one: those handed out for their former addresses (which follow them) go too.
    if (subject.email !== undefined && feeds !== undefined) {
      const asked = normalizeEmail(subject.email);
      for (const email of feeds.addressesOf(integrationId, asked)) {
        if (email !== asked) await links.bump(integrationId, linkSubjectKey({ email }));
      }
    }
    return { revoked: true, generation };
  } catch (error) {
    if (error instanceof LinkGenerationError) return { revoked: false, reason: error.message };
    throw error;
  }
}
