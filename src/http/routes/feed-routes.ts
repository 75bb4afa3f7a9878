import type { Express, Request, Response } from 'express';
import type { FeedService, FeedTarget, RenderedFeed } from '../../feeds/feed-service.js';
import type { FeedIdentity, FeedTokens } from '../../feeds/feed-token.js';
import type { FeedDetail } from '../../config.js';
import { createBrowserPages, opensInBrowser, type BrowserPages } from '../browser-pages.js';
import { NOT_FOUND_BODY } from '../http-error.js';

/** What the feed route needs. */
export interface FeedRouteOptions {
  feeds: FeedService;
  tokens: FeedTokens;
  /** Whether an integration is served: a token of one that is not (never was, or was removed) is an unknown token. */
  isServed: (integrationId: string) => boolean;
  /** Whether a token is of its link's current generation: a revoked link is an unknown token (no I/O, at most one Map lookup). */
  isCurrent: (identity: FeedIdentity) => boolean;
  /**
   * Whether the revocations held here are known to be all there are (a shared store confirmed them lately): while not,
   * no link is served, since any may have been revoked elsewhere (one comparison).
   */
  revocationsConfirmed: () => boolean;
  /** Confirms them now (one read of the shared store), resolving with whether they are; asked only when they are not. */
  confirmRevocations?: () => Promise<boolean>;
  /** Records that a person's current link was fetched, and with which User-Agent (in memory only). */
  onFetch: (integrationId: string, email: string, userAgent: string | undefined) => void;
  /** FEED_DEFAULT_DETAIL: what a link without a level of its own shows. */
  defaultDetail: FeedDetail;
  refreshMinutes: number;
  /** Logs and counts a feed request once answered (see RequestLog.record); the route skips the log middleware. */
  record: (req: Request, res: Response, route: string, startedNs: bigint, feedToken?: string) => void;
  /**
   * A link opened in a browser gets a page (how to subscribe; or that the link no longer works), and `/` says what
   * the service is; absent, browsers get what calendar clients get. `publicUrl` builds the subscribe links,
   * `selfService` (OIDC is on) and `adminPage` say where the pages may send people.
   */
  browser?: { publicUrl: string; selfService: boolean; adminPage: boolean };
}

const ROUTE = '/feeds/:file';

/**
 * Whether the client takes gzip: `Accept-Encoding` lists `gzip` (else `*`) with a non-zero weight. An explicit
 * `gzip;q=0` refuses it even after `*` (RFC 9110 §12.5.3: the most specific entry wins).
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  // Clients send a handful of distinct headers ("gzip, deflate, br", ...): parse each once.
  let known = gzipByHeader.get(header);
  if (known === undefined) {
    if (gzipByHeader.size >= 256) gzipByHeader.clear();
    gzipByHeader.set(header, (known = parseAcceptsGzip(header)));
  }
  return known;
}

const gzipByHeader = new Map<string, boolean>();

function parseAcceptsGzip(header: string): boolean {
  let wildcard: boolean | undefined;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const name = coding.trim();
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip') return accepted;
    wildcard ??= accepted;
  }
  return wildcard ?? false;
}

/** Whether `If-None-Match` names this feed (either encoding: they are the same content). */
function etagMatches(header: string, feed: RenderedFeed): boolean {
  if (header.trim() === '*') return true;
  for (const raw of header.split(',')) {
    const tag = raw.trim().replace(/^W\//, '');
    if (tag === feed.etag || tag === feed.gzipEtag) return true;
  }
  return false;
}

/** RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since counts only without it. */
export function isNotModified(req: Request, feed: RenderedFeed): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, feed);
  const ifModifiedSince = req.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && feed.lastModifiedMs <= since;
}

const UNCONFIRMED_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Retry-After': '30' } as const;
const UNCONFIRMED_BODY = { error: 'unavailable', message: 'Feeds cannot be served right now; try again shortly' } as const;

const NOT_MODIFIED = { 'X-Content-Type-Options': 'nosniff', Vary: 'Accept-Encoding' } as const;

/**
 * GET (and HEAD) /feeds/{token}.ics. The warm path does no hashing, rendering or compression: every header object
 * is built once per rendered feed and reused. Registered on the app itself, which spares every feed request a nested
 * router's dispatch. With `browser`, also what a person's browser meets: a page at a feed link (content negotiation:
 * a browser asking for HTML; calendar clients get the feed exactly as without it), at `/`, and the pages' assets.
 */
export function feedRoutes(options: FeedRouteOptions, app: Pick<Express, 'get'>): void {
  const cacheControl = `private, max-age=${options.refreshMinutes * 60}`;
  const headerCache = new WeakMap<RenderedFeed, { plain: Record<string, string | number>; gzip: Record<string, string | number>; notModified: Record<string, string>; notModifiedGzip: Record<string, string> }>();

  function headersFor(feed: RenderedFeed) {
    let headers = headerCache.get(feed);
    if (headers === undefined) {
      const common = {
        'X-Content-Type-Options': 'nosniff',
        'Content-Type': 'text/calendar; charset=utf-8',
        'Cache-Control': cacheControl,
        'Last-Modified': feed.lastModified,
        Vary: 'Accept-Encoding',
        'Content-Disposition': 'inline; filename="interviews.ics"',
      };
      headers = {
        plain: { ...common, ETag: feed.etag, 'Content-Length': feed.body.length },
        gzip: { ...common, ETag: feed.gzipEtag, 'Content-Encoding': 'gzip', 'Content-Length': feed.gzipped.length },
        notModified: { ...NOT_MODIFIED, 'Cache-Control': cacheControl, 'Last-Modified': feed.lastModified, ETag: feed.etag },
        notModifiedGzip: { ...NOT_MODIFIED, 'Cache-Control': cacheControl, 'Last-Modified': feed.lastModified, ETag: feed.gzipEtag },
      };
      headerCache.set(feed, headers);
    }
    return headers;
  }

  const { record } = options;
  const pages = options.browser ? createBrowserPages(options.browser) : undefined;

  /** A browser at a feed link: the subscribe page of a link that works, the same "no longer works" page for any other. */
  function page(pages: BrowserPages, req: Request, res: Response, file: string): string | undefined {
    const identity = file.endsWith('.ics') ? options.tokens.decode(file.slice(0, -4)) : undefined;
    const target = identity === undefined ? undefined : targetOf(identity);
    if (identity === undefined || target === undefined || !options.isServed(identity.integrationId) || !options.isCurrent(identity)) {
      pages.gone(req, res);
      return undefined;
    }
    // Not recorded as a fetch: a person reading this page has subscribed to nothing yet.
    const feed = options.feeds.feed(identity.integrationId, target, identity.detail ?? options.defaultDetail);
    const calendarName = feed?.calendarName ?? ('email' in target ? options.feeds.personCalendarName(identity.integrationId, target.email) : 'Interviews');
    pages.feed(req, res, { calendarName, path: `${FEEDS_PREFIX}${file}` });
    return file;
  }

  function answer(req: Request, res: Response, file: string): string | undefined {
    if (!file.endsWith('.ics')) return notFound(res);
    const identity = options.tokens.decode(file.slice(0, -4));
    // A revoked link answers exactly as a token never issued: nothing tells the holder it once worked.
    if (identity === undefined || !options.isServed(identity.integrationId)) return notFound(res);
    if (!options.revocationsConfirmed()) {
      // Cut off from the shared store, this process cannot tell whether the link was revoked elsewhere. Clients keep
      // the copy they have and ask again: nothing is lost, and a revoked link is not served meanwhile.
      res.status(503).set(UNCONFIRMED_HEADERS).json(UNCONFIRMED_BODY);
      return file;
    }
    if (!options.isCurrent(identity)) return notFound(res);
    // A link without a level (every link made before levels existed) shows the service's default.
    const detail = identity.detail ?? options.defaultDetail;
    const target = targetOf(identity);
    if (target === undefined) return notFound(res);
    // Under the address the person has now: the admin page lists them there (a link for a former one follows them).
    if ('email' in target) options.onFetch(identity.integrationId, target.email, req.headers['user-agent']);
    const feed = options.feeds.feed(identity.integrationId, target, detail);
    if (feed === undefined) {
      // Never an empty calendar before the first snapshot: clients would delete every event they hold.
      res
        .status(503)
        .set({ 'X-Content-Type-Options': 'nosniff', 'Retry-After': '30' })
        .json({ error: 'not_ready', message: 'Feeds are loading; try again shortly' });
      return file;
    }
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    const headers = headersFor(feed);
    if (isNotModified(req, feed)) res.writeHead(304, gzip ? headers.notModifiedGzip : headers.notModified).end();
    else res.writeHead(200, gzip ? headers.gzip : headers.plain).end(gzip ? feed.gzipped : feed.body);
    return file;
  }

  /**
   * The feed a link serves: a team's, or the person's under the address the ATS gives them now; none while the ATS
   * has them INACTIVE or deleted (a suspension: the same link works again once they are ACTIVE).
   */
  function targetOf(identity: FeedIdentity): FeedTarget | undefined {
    if (identity.team !== undefined) return { team: identity.team };
    if (identity.email === undefined) return undefined;
    const email = options.feeds.personFeed(identity.integrationId, identity.email);
    return email === null ? undefined : { email };
  }

  function notFound(res: Response): undefined {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.status(404).json(NOT_FOUND_BODY);
    return undefined;
  }

  // A regular expression without groups rather than a `:file` route: Express would percent-decode the parameter and
  // answer a mangled token with its own 400. A token is base64url, so the raw path needs no decoding at all. (Case
  // insensitive, as Express's own paths are.)
  app.get(/^\/feeds\/[^/]+$/i, (req, res, next) => {
    const started = process.hrtime.bigint();
    // Clients send the origin form (`/feeds/…`); a proxy may send the absolute form (`http://host/feeds/…`, RFC 9112
    // §3.2.2), which the route matched on its path, and which only that rare request pays to take apart.
    const url = req.url.charCodeAt(0) === SLASH ? req.url : originForm(req.url);
    const query = url.indexOf('?');
    const file = (query < 0 ? url : url.slice(0, query)).slice(FEEDS_PREFIX.length);
    // Only a token that decoded is named (by a short hash) in the log line; an unknown one is not worth a name.
    // A calendar client's request fails the browser test at its first header (see opensInBrowser).
    const respond = () => {
      const token = pages !== undefined && opensInBrowser(req) ? page(pages, req, res, file) : answer(req, res, file);
      record(req, res, ROUTE, started, token);
    };
    // The first feed after a quiet spell: the revocations are confirmed first (one read), not refused with a 503.
    if (options.confirmRevocations && !options.revocationsConfirmed()) options.confirmRevocations().then(respond).catch(next);
    else respond();
  });

  if (pages === undefined) return;
  // Anything else (an API client, a monitor) goes on to the JSON 404 it always got.
  app.get('/', (req, res, next) => {
    if (!opensInBrowser(req)) return next();
    const started = process.hrtime.bigint();
    pages.home(req, res);
    record(req, res, '/', started);
  });
  app.get('/assets/:name', (req, res, next) => {
    const started = process.hrtime.bigint();
    if (!pages.asset(String(req.params.name), res)) return next();
    record(req, res, '/assets/:name', started);
  });
}

const FEEDS_PREFIX = '/feeds/';
const SLASH = 0x2f;

/** The path and query of an absolute-form request target (`http://host/path?query`). */
function originForm(url: string): string {
  const path = url.indexOf('/', url.indexOf('//') + 2);
  return path < 0 ? '/' : url.slice(path);
}
