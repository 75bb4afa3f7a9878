import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Request, Response } from 'express';
import { pageHeaders } from './page-headers.js';
import { subscribeLinks } from '../calendar/subscribe-links.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Calendar clients whose User-Agent starts like a browser's: Thunderbird is Gecko and may send a browser's Accept;
 * the rest never ask for HTML, but a match costs nothing on the rare request that gets this far.
 */
const CALENDAR_CLIENT = /Thunderbird|Lightning|Google-Calendar|Microsoft|Outlook|Exchange|dataaccessd|CalendarAgent|iCal\/|vdirsyncer|DAVx|Evolution|KOrganizer/i;

/**
 * Whether a request comes from a person's browser rather than a calendar client: it asks for HTML (`Accept` names
 * `text/html`, which no calendar client's fetcher does, and Google's sends no `Accept` at all) and says it is a
 * browser (`Mozilla/…`, not a calendar client dressed as one). The `Accept` test comes first and settles nearly every
 * calendar client's request with one substring search.
 */
export function opensInBrowser(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (accept === undefined || !accept.includes('text/html')) return false;
  const agent = req.headers['user-agent'];
  return agent !== undefined && agent.startsWith('Mozilla/') && !CALENDAR_CLIENT.test(agent);
}

/** The files the public pages load: the page's stylesheet and script, and the favicon, held in memory. */
const ASSETS: ReadonlyMap<string, { type: string; body: Buffer }> = new Map(
  (
    [
      ['admin.css', 'text/css; charset=utf-8'],
      ['admin.js', 'text/javascript; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ] as const
  ).map(([name, type]) => [name, { type, body: readFileSync(here(`./admin-page/assets/${name}`)) }]),
);

/** What a browser is shown at a feed link, a dead link and `/`. */
export interface BrowserPages {
  /** A live link (`path`, /feeds/….ics) opened in a browser: what the calendar is, how to subscribe, and not to import the file. */
  feed(req: Request, res: Response, data: { calendarName: string; path: string }): void;
  /** An unknown, revoked or removed link opened in a browser (404): it no longer works, and what to do. */
  gone(req: Request, res: Response): void;
  /** `/` in a browser: what this service is and where to go. */
  home(req: Request, res: Response): void;
  /** GET /admin while no sign-in opens the admin page (production without ADMIN_TOKEN): it is off, and what turns it on. */
  adminOff(req: Request, res: Response): void;
  /** GET /assets/{name}: false when there is no such asset. */
  asset(name: string, res: Response): boolean;
}

/** Creates the pages a browser meets outside the admin page and /me (server-rendered, every ATS text escaped). */
export function createBrowserPages(options: {
  publicUrl: string;
  /** `/me` is on (OIDC): a person can get their current link there. */
  selfService: boolean;
  /** The admin page is on, for `/` to point administrators to. */
  adminPage: boolean;
}): BrowserPages {
  const eta = new Eta({ views: here('./admin-page/views'), autoEscape: true, cache: true });
  const secure = options.publicUrl.startsWith('https:');
  // The admin page's headers, but no-referrer: a page about a secret feed URL links to Google and Microsoft, and
  // must never send them its own address. The page has no form, so nothing needs the Origin that policy withholds.
  const headers = pageHeaders({ secure, forms: 'none' });
  const base = { home: '/', assets: '/assets', selfService: options.selfService, adminPage: options.adminPage, csrf: null };

  function render(req: Request, res: Response, status: number, view: string, data: Record<string, unknown>): void {
    headers(req, res, () => {
      res
        .status(status)
        // The same URL answers calendar clients with the feed: a cache must never hand one the other.
        .set({ 'Cache-Control': 'no-store', Vary: 'Accept, User-Agent' })
        .type('html')
        .send(eta.render(`./${view}`, { ...base, ...data }));
    });
  }

  return {
    feed: (req, res, { calendarName, path }) =>
      render(req, res, 200, 'feed-page', { title: calendarName, calendarName, links: subscribeLinks(`${options.publicUrl}${path}`, calendarName) }),
    gone: (req, res) => render(req, res, 404, 'link-gone', { title: 'This calendar link no longer works' }),
    home: (req, res) => render(req, res, 200, 'home', { title: 'Interview calendars' }),
    adminOff: (req, res) => render(req, res, 404, 'admin-off', { title: 'The admin page is off' }),
    asset(name, res) {
      const asset = ASSETS.get(name);
      if (asset === undefined) return false;
      res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': asset.body.length, 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }).end(asset.body);
      return true;
    },
  };
}
