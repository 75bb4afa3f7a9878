import { subscribeLinks, type SubscribeLinks } from '../calendar/subscribe-links.js';
import type { FeedDetail } from '../config.js';
import { isPlausibleEmail, MAX_EMAIL_CHARS, normalizeEmail } from '../interviews/normalize-email.js';
import { DEFAULT_CALENDAR_NAME } from './calendar-name.js';
import type { FeedTeam, FeedTokens } from './feed-token.js';
import { subjectKey, type LinkGenerations } from './link-generations.js';

/** What a link is for: a person (by email) or a team, at a detail level (none: FEED_DEFAULT_DETAIL, as links always were). */
export type LinkSubject = { email: string; team?: undefined } | { team: FeedTeam; email?: undefined };

/** What writing a link needs: the token keys and the service's public URL. */
export interface LinkSigner {
  tokens: FeedTokens;
  publicUrl: string;
}

/** What issuing a subject's current link needs: a {@link LinkSigner}, FEED_DEFAULT_DETAIL and each link's generation. */
export interface LinkIssuer extends LinkSigner {
  defaultDetail: FeedDetail;
  links: Pick<LinkGenerations, 'current'>;
}

/** A feed's URL and subscribe links, with whose feed it is: what the admin API answers and the CLI prints. */
export type FeedLinks = { integration: string; detail?: FeedDetail } & ({ email: string } | { team: FeedTeam }) & SubscribeLinks;

/**
 * The level bound into a new link: the one asked for, else FEED_DEFAULT_DETAIL when that is not `full`. So a link
 * issued while the default is `private` stays private if the default is later set back to `full`: no link reveals
 * more than it was issued for. Only a person's link issued at the `full` default carries no level (it is the very
 * format-1 URL handed out before levels existed, and follows FEED_DEFAULT_DETAIL like every such link).
 */
export function boundLevel(asked: FeedDetail | undefined, defaultDetail: FeedDetail): FeedDetail | undefined {
  return asked ?? (defaultDetail === 'full' ? undefined : defaultDetail);
}

/**
 * Whether a link may be issued or revoked for `email`: a plausible address, or whatever text the integration's ATS
 * gives one of its interviewers (`john doe@acme.example`, `jdoe`): every link the service hands out can be replaced.
 */
export function isLinkableEmail(email: string, interviewers: { has(email: string): boolean } | undefined): boolean {
  if (isPlausibleEmail(email)) return true;
  const key = normalizeEmail(email);
  return key !== '' && key.length <= MAX_EMAIL_CHARS && interviewers?.has(key) === true;
}

/** The key a subject's revocations are kept under (see subjectKey), its email normalised as every token's is. */
export function linkSubjectKey(subject: LinkSubject): string {
  return subjectKey(subject.email !== undefined ? { email: normalizeEmail(subject.email) } : { team: subject.team });
}

/**
 * The feed URL and subscribe links of an interviewer (or a team) in an integration. `detail` is bound into the
 * token; a person's link without one, never revoked, is the very URL handed out before detail levels existed.
 */
export function feedLinksFor(
  signer: LinkSigner,
  integrationId: string,
  subject: string | LinkSubject,
  calendarName?: string,
  detail?: FeedDetail,
  /** The link's current generation (see LinkGenerations); 0 when never revoked. */
  generation = 0,
): FeedLinks {
  const target: LinkSubject = typeof subject === 'string' ? { email: subject } : subject;
  const email = target.email === undefined ? undefined : normalizeEmail(target.email);
  const token = signer.tokens.encode({
    integrationId,
    ...(email !== undefined ? { email } : { team: target.team! }),
    ...(detail !== undefined ? { detail } : {}),
    // A link never revoked is written as it always was (format 1 for a person without a level).
    ...(generation > 0 ? { generation } : {}),
  });
  const url = `${signer.publicUrl}/feeds/${token}.ics`;
  return {
    integration: integrationId,
    ...(email !== undefined ? { email } : { team: target.team === 'all' ? 'all' : { job: target.team!.job } }),
    ...(detail !== undefined ? { detail } : {}),
    ...subscribeLinks(url, calendarName ?? DEFAULT_CALENDAR_NAME),
  };
}

/**
 * A subject's current link: of its latest generation (a revoked link's replacement), at the level asked for as
 * {@link boundLevel} binds it. The admin API, links.csv and the command line hand out this one.
 */
export function currentFeedLinks(
  issuer: LinkIssuer,
  integrationId: string,
  subject: LinkSubject,
  asked: FeedDetail | undefined,
  calendarName?: string,
): FeedLinks {
  const generation = issuer.links.current(integrationId, linkSubjectKey(subject));
  return feedLinksFor(issuer, integrationId, subject, calendarName, boundLevel(asked, issuer.defaultDetail), generation);
}

/**
 * The link a page shows for `detail` (the admin page, /me): at FEED_DEFAULT_DETAIL it is the very URL the API and
 * links.csv give, so a person sees one link for their default calendar wherever they look.
 */
export function feedLinksAtLevel(
  issuer: LinkIssuer,
  integrationId: string,
  subject: LinkSubject,
  detail: FeedDetail,
  calendarName?: string,
): FeedLinks {
  return currentFeedLinks(issuer, integrationId, subject, detail === issuer.defaultDetail ? undefined : detail, calendarName);
}
