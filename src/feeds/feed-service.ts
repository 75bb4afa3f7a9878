import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import NodeCache from 'node-cache';
import { eventEndMs } from '../calendar/interview-event.js';
import { renderFeed } from '../calendar/render-feed.js';
import type { Interview } from '../interviews/interview.js';
import type { Snapshot } from '../interviews/snapshot.js';
import type { SnapshotHolder } from '../sync/sync-engine.js';

const DAY_MS = 86_400_000;

/**
 * A feed rendered once and served many times: both encodings, the ETag and the response headers are computed here
 * and never per request.
 */
export interface RenderedFeed {
  readonly integrationId: string;
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
  onRender?: (info: { integrationId: string; email: string; events: number; durationMs: number }) => void;
  onCacheHit?: () => void;
}

/** What rendering feeds needs. */
export interface FeedServiceOptions extends FeedServiceEvents {
  feedPastDays: number;
  defaultDurationMinutes: number;
  refreshMinutes: number;
  now?: () => number;
  /** How long an unrequested feed stays cached. */
  cacheTtlSeconds?: number;
}

/** Holds each integration's current snapshot and each interviewer's rendered feed. */
export interface FeedService {
  /** The snapshot an integration's feeds are served from; undefined until its first one is loaded. */
  snapshot(integrationId: string): Snapshot | undefined;
  /** Swaps in `next` for its integration and drops the cached feeds of `changedEmails` only (all of them when told `'all'`). */
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
  /** The rendered feed of `email` in an integration (possibly empty), or undefined before its first snapshot. */
  feed(integrationId: string, email: string): RenderedFeed | undefined;
  /** How many rendered feeds are cached. */
  cachedFeeds(): number;
}

function quote(tag: string): string {
  return `"${tag}"`;
}

/** Creates a {@link FeedService}. */
export function createFeedService(options: FeedServiceOptions): FeedService {
  const now = options.now ?? Date.now;
  // useClones: false: the cache hands back the very object stored, Buffers included; they are never mutated.
  const cache = new NodeCache({ stdTTL: options.cacheTtlSeconds ?? 6 * 3600, checkperiod: 600, useClones: false });
  const current = new Map<string, Snapshot>();
  const labels = new Map<string, string>();
  /** Cache keys: integration ids hold no line break (feed tokens rely on it too). */
  const keyOf = (integrationId: string, email: string) => `${integrationId}\n${email}`;
  function dropIntegration(integrationId: string): void {
    const prefix = keyOf(integrationId, '');
    cache.del(cache.keys().filter((key) => key.startsWith(prefix)));
  }

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

  function render(integrationId: string, snapshot: Snapshot, email: string, windowDay: number): RenderedFeed {
    const started = performance.now();
    const interviews = snapshot.interviewsOf(email);
    const label = labels.get(integrationId);
    const name = `${snapshot.names.get(email) ?? email}${label === undefined ? '' : ` (${label})`}`;
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
      integrationId,
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
    options.onRender?.({ integrationId, email, events: feed.events, durationMs: performance.now() - started });
    return feed;
  }

  function replace(integrationId: string, next: Snapshot, changedEmails: ReadonlySet<string> | 'all'): void {
    current.set(integrationId, next);
    if (changedEmails === 'all') dropIntegration(integrationId);
    else if (changedEmails.size > 0) cache.del([...changedEmails].map((email) => keyOf(integrationId, email)));
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
      dropIntegration(integrationId);
    },
    setLabel(integrationId, label) {
      if ((labels.get(integrationId) ?? null) === label) return;
      if (label === null) labels.delete(integrationId);
      else labels.set(integrationId, label);
      dropIntegration(integrationId);
    },
    label: (integrationId) => labels.get(integrationId) ?? null,
    snapshots: () => current.entries(),
    feed(integrationId, email) {
      const snapshot = current.get(integrationId);
      if (snapshot === undefined) return undefined;
      const windowDay = Math.floor(now() / DAY_MS);
      const key = keyOf(integrationId, email);
      const cached = cache.get<RenderedFeed>(key);
      if (cached !== undefined && cached.windowDay === windowDay) {
        options.onCacheHit?.();
        return cached;
      }
      const feed = render(integrationId, snapshot, email, windowDay);
      cache.set(key, feed);
      return feed;
    },
    cachedFeeds: () => cache.keys().length,
  };
  return service;
}
