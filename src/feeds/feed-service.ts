import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import { eventEndMs } from '../calendar/interview-event.js';
import { renderFeed } from '../calendar/render-feed.js';
import type { Interview } from '../interviews/interview.js';
import { personOf, shownInterviews } from '../interviews/linked-records.js';
import type { Snapshot } from '../interviews/snapshot.js';
import type { FeedDetail } from '../config.js';
import type { FeedTeam } from './feed-token.js';
import { subjectKey } from './link-generations.js';
import { personCalendarName, teamCalendarName } from './calendar-name.js';

const DAY_MS = 86_400_000;

/**
 * What one cached feed costs beyond its two bodies: the RenderedFeed object, its strings, the Buffer headers and
 * the response header objects the feed route builds once per feed. Counted so that many small feeds cannot hold far
 * more memory than the byte bound says.
 */
export const FEED_CACHE_ENTRY_OVERHEAD_BYTES = 2_048;
/** How long an unrequested feed stays cached, when not evicted sooner for room. */
export const FEED_CACHE_TTL_SECONDS = 6 * 3600;

/**
 * A feed rendered once and served many times: both encodings, the ETag and the response headers are computed here
 * and never per request.
 */
export interface RenderedFeed {
  readonly integrationId: string;
  /** The cache key: integration, person or team, detail level. */
  readonly key: string;
  /** The calendar's name, as clients show it. */
  readonly calendarName: string;
  readonly body: Buffer;
  readonly gzipped: Buffer;
  /** Strong ETag of the identity body; the gzip representation's is {@link gzipEtag}. */
  readonly etag: string;
  readonly gzipEtag: string;
  readonly lastModifiedMs: number;
  readonly lastModified: string;
  readonly events: number;
  /** The day whose past window it was rendered for: a new day renders again. */
  readonly windowDay: number;
}

/** Counts what the cache did, for metrics. */
export interface FeedServiceEvents {
  onRender?: (info: { integrationId: string; events: number; durationMs: number }) => void;
  onCacheHit?: () => void;
}

/** What rendering feeds needs. */
export interface FeedServiceOptions extends FeedServiceEvents {
  feedPastDays: number;
  defaultDurationMinutes: number;
  refreshMinutes: number;
  now?: () => number;
  /**
   * Bytes the cache may hold, {@link FEED_CACHE_ENTRY_OVERHEAD_BYTES} per feed included; the least recently used
   * feed leaves first. A feed larger than this is served, just not cached.
   */
  cacheMaxBytes: number;
  /** How long an unrequested feed stays cached (default {@link FEED_CACHE_TTL_SECONDS}). */
  cacheTtlSeconds?: number;
  /** SHOW_CONFIDENTIAL_NAMES: feeds name the candidates and jobs of confidential searches too (default: they do not). */
  showConfidentialNames?: boolean;
}

/** Whose calendar a feed is: one interviewer's, or a team's (one job's interviews, or every interview). */
export type FeedTarget = { readonly email: string } | { readonly team: FeedTeam };

/** Where a sync engine finds the snapshot one integration's feeds are served from, and puts the next one. */
export interface SnapshotHolder {
  snapshot(): Snapshot | undefined;
  /** Swaps in `next`; the feeds of `changedEmails` (all, when told `'all'`) must be rendered again. */
  replace(next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void;
}

/** Holds each integration's current snapshot and each rendered feed. */
export interface FeedService {
  /** The snapshot an integration's feeds are served from; undefined until its first one is loaded. */
  snapshot(integrationId: string): Snapshot | undefined;
  /**
   * Swaps in `next` for its integration and drops the cached feeds of `changedEmails` only (all of them when told
   * `'all'`), and its team feeds whenever anything changed.
   */
  replace(integrationId: string, next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void;
  /** What one integration's sync engine reads and replaces. */
  holder(integrationId: string): SnapshotHolder;
  /** Forgets an integration: its snapshot and every cached feed of it. */
  remove(integrationId: string): void;
  /**
   * Sets what an integration's calendar names carry after the person's name (its organisation, when one person
   * could subscribe to two); a change drops its cached feeds.
   */
  setLabel(integrationId: string, label: string | null): void;
  /** What an integration's calendar names carry after the person's name, or null (see {@link setLabel}). */
  label(integrationId: string): string | null;
  /** Every integration with a snapshot. */
  snapshots(): IterableIterator<[string, Snapshot]>;
  /** The rendered feed of `target` in an integration at `detail` (possibly empty), or undefined before its first snapshot. */
  feed(integrationId: string, target: FeedTarget, detail: FeedDetail): RenderedFeed | undefined;
  /**
   * What an interviewer's feed holds now without rendering it: its events (as the feed counts them) and the start of
   * their next interview (null when none is ahead); undefined before the integration's first snapshot.
   */
  summary(integrationId: string, email: string): { events: number; nextStartMs: number | null } | undefined;
  /** The calendar name of a person's feed, as the feed carries it. */
  personCalendarName(integrationId: string, email: string): string;
  /**
   * Whose feed a person's link serves: the address the ATS gives the person now (a link made for a former address
   * follows them), or null while the ATS has them INACTIVE or deleted (their links answer as revoked ones do). An
   * address no ATS user has is served as it is.
   */
  personFeed(integrationId: string, email: string): string | null;
  /** Every address of the person `email` belongs to (their current one first, then former ones): a revocation revokes all. */
  addressesOf(integrationId: string, email: string): string[];
  /** Whether interviews of confidential searches show their names (SHOW_CONFIDENTIAL_NAMES). */
  readonly showsConfidentialNames: boolean;
  /** How many rendered feeds are cached. */
  cachedFeeds(): number;
  /** What the cached feeds count for against `cacheMaxBytes`. */
  cachedBytes(): number;
}

const DETAILS: readonly FeedDetail[] = ['full', 'private', 'busy'];

function quote(tag: string): string {
  return `"${tag}"`;
}

/**
 * When the past window last moved past one of `interviews` (the midnight it left the feed), or 0. An event leaving
 * the window changes the feed as surely as an edit does: without this, If-Modified-Since would answer 304 and a
 * client that sends only that would keep the event for good.
 */
function leftWindowAt(interviews: readonly Interview[], notEndedBeforeMs: number, options: FeedServiceOptions): number {
  let latest = 0;
  for (const interview of interviews) {
    const endMs = eventEndMs(interview, options.defaultDurationMinutes);
    if (endMs >= notEndedBeforeMs) continue;
    // The first window start that leaves it out, as renderFeed filters: end < windowDay * DAY_MS - pastDays.
    latest = Math.max(latest, (Math.floor((endMs + options.feedPastDays * DAY_MS) / DAY_MS) + 1) * DAY_MS);
  }
  return latest;
}

/** A team feed's interviews: every one of a job (by `application.job.id`), or of the integration, by start. */
function teamInterviews(snapshot: Snapshot, team: FeedTeam): readonly Interview[] {
  return snapshot.teamInterviews(team === 'all' ? null : team.job);
}

/** What an interviewer's feed holds at `nowMs` without rendering it (see {@link FeedService.summary}). */
function summarize(snapshot: Snapshot, email: string, nowMs: number, options: FeedServiceOptions): { events: number; nextStartMs: number | null } {
  // The window renderFeed applies: events that ended before it are not in the feed.
  const notEndedBeforeMs = Math.floor(nowMs / DAY_MS) * DAY_MS - options.feedPastDays * DAY_MS;
  let events = 0;
  let nextStartMs: number | null = null;
  for (const interview of snapshot.interviewsOf(email)) {
    if (eventEndMs(interview, options.defaultDurationMinutes) < notEndedBeforeMs) continue;
    events++;
    if (interview.startMs >= nowMs && (nextStartMs === null || interview.startMs < nextStartMs)) nextStartMs = interview.startMs;
  }
  return { events, nextStartMs };
}

/** Whose feed `email`'s link serves in `snapshot` (see {@link FeedService.personFeed}). */
function personFeedIn(snapshot: Snapshot | undefined, email: string): string | null {
  const person = personOf(snapshot?.data.linked, email);
  if (person === undefined) return email;
  return person.active ? person.email : null;
}

/** Every address of the person `email` belongs to in `snapshot` (see {@link FeedService.addressesOf}). */
function addressesIn(snapshot: Snapshot | undefined, email: string): string[] {
  const person = personOf(snapshot?.data.linked, email);
  return person === undefined ? [email] : [person.email, ...person.formerEmails];
}

/** Creates a {@link FeedService}. */
export function createFeedService(options: FeedServiceOptions): FeedService {
  const now = options.now ?? Date.now;
  // The cache hands back the very object stored, Buffers included (they are never mutated): a hit is a Map lookup
  // and a move to the front. ttlResolution reads the clock at most once a second for the staleness check.
  const cache = new LRUCache<string, RenderedFeed>({
    maxSize: options.cacheMaxBytes,
    sizeCalculation: (feed) => feed.body.length + feed.gzipped.length + FEED_CACHE_ENTRY_OVERHEAD_BYTES,
    ttl: (options.cacheTtlSeconds ?? FEED_CACHE_TTL_SECONDS) * 1000,
    ttlResolution: 1000,
    ttlAutopurge: true,
  });
  const current = new Map<string, Snapshot>();
  const labels = new Map<string, string>();
  /**
   * When what feeds show changed for reasons outside the snapshot: this process's settings (FEED_DEFAULT_DETAIL may
   * differ from the last process's) and each integration's calendar-name label. Last-Modified is never earlier, so a
   * client that revalidates with If-Modified-Since alone gets the new bytes, not a 304.
   */
  const startedAtMs = now();
  const relabeledAtMs = new Map<string, number>();
  // Keys: integration, then the person ("p:" email) or team ("j:" job id, "*" all), then the detail level. Integration
  // ids hold no line break (feed tokens rely on it too); emails none either.
  const keyOf = (integrationId: string, target: FeedTarget, detail: FeedDetail) => `${integrationId}\n${subjectKey(target)}\n${detail}`;
  /** Drops an integration's cached feeds (its team feeds only, when told): one pass over the cache. */
  function drop(integrationId: string, teamsOnly = false): void {
    const start = `${integrationId}\n`;
    for (const key of [...cache.keys()]) {
      if (!key.startsWith(start)) continue;
      // A team's subject is "j:" + job id or "*"; a person's is "p:" + email.
      if (!teamsOnly || key.charCodeAt(start.length) !== 0x70 /* p */) cache.delete(key);
    }
  }

  function render(integrationId: string, snapshot: Snapshot, target: FeedTarget, detail: FeedDetail, key: string, windowDay: number): RenderedFeed {
    const started = performance.now();
    const label = labels.get(integrationId);
    let interviews: readonly Interview[];
    let calendarName: string;
    let changedAtMs: number;
    if ('email' in target) {
      interviews = shownInterviews(snapshot.interviewsOf(target.email), options.showConfidentialNames === true);
      calendarName = personCalendarName(snapshot.names.get(target.email), target.email, label, detail);
      changedAtMs = snapshot.feedChangedAt(target.email);
    } else {
      // Confidential searches without their names, unless SHOW_CONFIDENTIAL_NAMES says otherwise.
      interviews = shownInterviews(teamInterviews(snapshot, target.team), options.showConfidentialNames === true);
      const jobName = target.team === 'all' ? undefined : interviews.find((interview) => interview.jobName !== null)?.jobName;
      calendarName = teamCalendarName(target.team, jobName, label, detail);
      // Whatever changed last in the integration: an interview leaving a team feed moves no time of its own.
      changedAtMs = snapshot.lastChangedAt();
    }
    // The window moves a day at a time, so a feed's bytes do not change with the clock between refreshes.
    const notEndedBeforeMs = windowDay * DAY_MS - options.feedPastDays * DAY_MS;
    const text = renderFeed(interviews, {
      ownerEmail: 'email' in target ? target.email : null,
      detail,
      calendarName,
      notEndedBeforeMs,
      defaultDurationMinutes: options.defaultDurationMinutes,
      refreshMinutes: options.refreshMinutes,
    });
    const body = Buffer.from(text, 'utf8');
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 32);
    const settingsAtMs = Math.max(startedAtMs, relabeledAtMs.get(integrationId) ?? 0);
    const lastModifiedMs = Math.floor(Math.max(changedAtMs, settingsAtMs, leftWindowAt(interviews, notEndedBeforeMs, options)) / 1000) * 1000;
    const feed: RenderedFeed = {
      integrationId,
      key,
      calendarName,
      body,
      gzipped: gzipSync(body, { level: 6 }),
      etag: quote(hash),
      gzipEtag: quote(`${hash}-gz`),
      lastModifiedMs,
      lastModified: new Date(lastModifiedMs).toUTCString(),
      events: (text.match(/\r\nBEGIN:VEVENT\r\n/g) ?? []).length,
      windowDay,
    };
    options.onRender?.({ integrationId, events: feed.events, durationMs: performance.now() - started });
    return feed;
  }

  function replace(integrationId: string, next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void {
    current.set(integrationId, next);
    if (changedEmails === 'all') return drop(integrationId);
    if (changedEmails.size === 0) return;
    for (const email of changedEmails) for (const detail of DETAILS) cache.delete(keyOf(integrationId, { email }, detail));
    drop(integrationId, true);
  }

  const service: FeedService = {
    snapshot: (integrationId) => current.get(integrationId),
    replace,
    // Through `service`, so whoever wraps `replace` (the benchmark's instrumentation) sees every engine's swaps.
    holder: (integrationId) => ({
      snapshot: () => current.get(integrationId),
      replace: (next, changed) => service.replace(integrationId, next, changed),
    }),
    remove(integrationId) {
      current.delete(integrationId);
      labels.delete(integrationId);
      relabeledAtMs.delete(integrationId);
      drop(integrationId);
    },
    setLabel(integrationId, label) {
      if ((labels.get(integrationId) ?? null) === label) return;
      if (label === null) labels.delete(integrationId);
      else labels.set(integrationId, label);
      relabeledAtMs.set(integrationId, now());
      drop(integrationId);
    },
    label: (integrationId) => labels.get(integrationId) ?? null,
    snapshots: () => current.entries(),
    feed(integrationId, target, detail) {
      const snapshot = current.get(integrationId);
      if (snapshot === undefined) return undefined;
      const windowDay = Math.floor(now() / DAY_MS);
      const key = keyOf(integrationId, target, detail);
      const cached = cache.get(key);
      if (cached !== undefined && cached.windowDay === windowDay) {
        options.onCacheHit?.();
        return cached;
      }
      const feed = render(integrationId, snapshot, target, detail, key, windowDay);
      cache.set(key, feed); // not kept when larger than the whole bound (and any older copy goes)
      return feed;
    },
    summary(integrationId, email) {
      const snapshot = current.get(integrationId);
      return snapshot === undefined ? undefined : summarize(snapshot, email, now(), options);
    },
    personCalendarName: (integrationId, email) => personCalendarName(current.get(integrationId)?.names.get(email), email, labels.get(integrationId)),
    personFeed: (integrationId, email) => personFeedIn(current.get(integrationId), email),
    addressesOf: (integrationId, email) => addressesIn(current.get(integrationId), email),
    showsConfidentialNames: options.showConfidentialNames === true,
    cachedFeeds: () => cache.size,
    cachedBytes: () => cache.calculatedSize,
  };
  return service;
}
