import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import { eventEndMs } from '../calendar/interview-event.js';
import { renderFeed } from '../calendar/render-feed.js';
import type { Interview } from '../interviews/interview.js';
import type { Snapshot } from '../interviews/snapshot.js';

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
  readonly email: string;
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
  onRender?: (info: { email: string; events: number; durationMs: number }) => void;
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
}

/** Holds the current snapshot and each interviewer's rendered feed. */
export interface FeedService {
  /** The snapshot feeds are served from; undefined until the first one is loaded. */
  snapshot(): Snapshot | undefined;
  /** Swaps in `next` and drops the cached feeds of `changedEmails` only (all of them when told `'all'`). */
  replace(next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void;
  /** The rendered feed of `email` (possibly empty), or undefined before any snapshot exists. */
  feed(email: string): RenderedFeed | undefined;
  /** How many rendered feeds are cached. */
  cachedFeeds(): number;
  /** What the cached feeds count for against `cacheMaxBytes`. */
  cachedBytes(): number;
}

function quote(tag: string): string {
  return `"${tag}"`;
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
  let current: Snapshot | undefined;

  /**
   * When the past window last moved past one of `interviews` (the midnight it left the feed), or 0. An event leaving
   * the window changes the feed as surely as an edit does: without this, If-Modified-Since would answer 304 and a
   * client that sends only that would keep the event for good.
   */
  function leftWindowAt(interviews: readonly Interview[], notEndedBeforeMs: number): number {
    let latest = 0;
    for (const interview of interviews) {
      const endMs = eventEndMs(interview, options.defaultDurationMinutes);
      if (endMs >= notEndedBeforeMs) continue;
      // The first window start that leaves it out, as renderFeed filters: end < windowDay * DAY_MS - pastDays.
      latest = Math.max(latest, (Math.floor((endMs + options.feedPastDays * DAY_MS) / DAY_MS) + 1) * DAY_MS);
    }
    return latest;
  }

  function render(snapshot: Snapshot, email: string, windowDay: number): RenderedFeed {
    const started = performance.now();
    const interviews = snapshot.interviewsOf(email);
    const name = snapshot.names.get(email) ?? email;
    // The window moves a day at a time, so a feed's bytes do not change with the clock between refreshes.
    const notEndedBeforeMs = windowDay * DAY_MS - options.feedPastDays * DAY_MS;
    const text = renderFeed(interviews, {
      ownerEmail: email,
      calendarName: `Interviews: ${name}`,
      notEndedBeforeMs,
      defaultDurationMinutes: options.defaultDurationMinutes,
      refreshMinutes: options.refreshMinutes,
    });
    const body = Buffer.from(text, 'utf8');
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 32);
    const lastModifiedMs =
      Math.floor(Math.max(snapshot.feedChangedAt(email), leftWindowAt(interviews, notEndedBeforeMs)) / 1000) * 1000;
    const feed: RenderedFeed = {
      email,
      body,
      gzipped: gzipSync(body, { level: 6 }),
      etag: quote(hash),
      gzipEtag: quote(`${hash}-gz`),
      lastModifiedMs,
      lastModified: new Date(lastModifiedMs).toUTCString(),
      events: (text.match(/\r\nBEGIN:VEVENT\r\n/g) ?? []).length,
      windowDay,
    };
    options.onRender?.({ email, events: feed.events, durationMs: performance.now() - started });
    return feed;
  }

  return {
    snapshot: () => current,
    replace(next, changedEmails) {
      current = next;
      if (changedEmails === 'all') cache.clear();
      else for (const email of changedEmails) cache.delete(email);
    },
    feed(email) {
      const snapshot = current;
      if (snapshot === undefined) return undefined;
      const windowDay = Math.floor(now() / DAY_MS);
      const cached = cache.get(email);
      if (cached !== undefined && cached.windowDay === windowDay) {
        options.onCacheHit?.();
        return cached;
      }
      const feed = render(snapshot, email, windowDay);
      cache.set(email, feed); // not kept when larger than the whole bound (and any older copy goes)
      return feed;
    },
    cachedFeeds: () => cache.size,
    cachedBytes: () => cache.calculatedSize,
  };
}
