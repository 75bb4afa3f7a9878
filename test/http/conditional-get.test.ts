import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acceptsGzip } from '../../src/http/routes/feed-routes.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { serveOnLoopback as serve } from '../helpers/loopback.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

/* Counts gzipSync calls, so a test can tell compression per rendered feed from compression per request. */
const zlibCalls = vi.hoisted(() => ({ gzipSync: 0 }));
vi.mock('node:zlib', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:zlib')>();
  return {
    ...actual,
    gzipSync: (...args: Parameters<typeof actual.gzipSync>) => {
      zlibCalls.gzipSync++;
      return actual.gzipSync(...args);
    },
  };
});

/** Every header but Date, which says when the answer was sent, not what it is. */
function withoutDate(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { date: _date, ...rest } = headers;
  return rest;
}

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const ADA = 'ada@example.com';

describe('feed HTTP: validators, conditional GET, HEAD, gzip', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;
  let client: Awaited<ReturnType<typeof serve>>;
  let path: string;

  async function start(env: Record<string, string> = {}) {
    service = buildTestService(fake, { env });
    await service.sync.refresh();
    client = await serve(service.app);
    path = feedPath(service, ADA);
  }

  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.clock = T0;
    fake.setRecords([
      interviewRecord({ id: 'iv-1' }),
      interviewRecord({ id: 'iv-2', title: 'Culture fit', starting_at: '2026-12-02T10:00:00Z', ending_at: '2026-12-02T11:00:00Z' }),
    ]);
    zlibCalls.gzipSync = 0;
  });
  afterEach(async () => {
    await client?.close();
    await fake.close();
  });

  it('answers with a calendar type, a strong ETag, Last-Modified and a private max-age matching the refresh hint', async () => {
    await start();
    const res = await client.fetch(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/calendar; charset=utf-8');
    expect(res.headers.etag).toMatch(/^"[!#-~]+"$/); // strong: no W/ prefix
    expect(res.headers['last-modified']).toBe(new Date(T0).toUTCString());
    expect(res.headers['cache-control']).toBe('private, max-age=3600');
    expect(res.headers['content-length']).toBe(String(res.body.length));
    expect(res.headers['content-encoding']).toBeUndefined();
    const text = res.body.toString('utf8');
    expect(text).toContain('\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n');
    expect(text).toContain('\r\nX-PUBLISHED-TTL:PT1H\r\n');
    expect(parseIcs(res.body).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
  });

  it('takes its refresh hint and max-age from FEED_REFRESH_MINUTES', async () => {
    await start({ FEED_REFRESH_MINUTES: '90' });
    const res = await client.fetch(path);
    expect(res.headers['cache-control']).toBe('private, max-age=5400');
    const text = res.body.toString('utf8');
    expect(text).toContain('\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H30M\r\n');
    expect(text).toContain('\r\nX-PUBLISHED-TTL:PT1H30M\r\n');
    parseIcs(res.body);
  });

  it('answers If-None-Match with 304 and no body, for the tag alone, in a list, or weak', async () => {
    await start();
    const first = await client.fetch(path);
    const etag = first.headers.etag!;
    for (const ifNoneMatch of [etag, `"something-else", ${etag}`, `W/${etag}`, `"a",W/${etag} , "b"`, '*']) {
      const res = await client.fetch(path, { 'If-None-Match': ifNoneMatch });
      expect(res.status, ifNoneMatch).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers['cache-control']).toBe('private, max-age=3600');
      expect(res.headers['last-modified']).toBe(first.headers['last-modified']);
    }
    for (const ifNoneMatch of ['"nope"', etag.slice(0, -2) + '"', `W/"x", "y"`]) {
      const res = await client.fetch(path, { 'If-None-Match': ifNoneMatch });
      expect(res.status, ifNoneMatch).toBe(200);
      expect(res.body.equals(first.body)).toBe(true);
    }
  });

  it('answers If-Modified-Since with 304 only while the feed has not changed since, even within one second', async () => {
    await start();
    const first = await client.fetch(path);
    const lastModified = first.headers['last-modified']!;
    expect((await client.fetch(path, { 'If-Modified-Since': lastModified })).status).toBe(304);
    expect((await client.fetch(path, { 'If-Modified-Since': new Date(T0 + 3_600_000).toUTCString() })).status).toBe(304);
    expect((await client.fetch(path, { 'If-Modified-Since': new Date(T0 - 1000).toUTCString() })).status).toBe(200);
    expect((await client.fetch(path, { 'If-Modified-Since': 'not a date' })).status).toBe(200);

    // An edit 400 ms later: the same second as the copy the client holds, yet that copy is stale.
    fake.clock = T0 + 400;
    fake.upsert(interviewRecord({ id: 'iv-1', title: 'Technical interview (moved room)', changed_at: new Date(T0 + 400).toISOString() }));
    await service.sync.refresh();
    const after = await client.fetch(path, { 'If-Modified-Since': lastModified });
    expect(after.status).toBe(200);
    expect(parseIcs(after.body).events[0]!.summary).toBe('Technical interview (moved room)');
    expect(Date.parse(after.headers['last-modified']!)).toBeGreaterThan(Date.parse(lastModified));
    expect((await client.fetch(path, { 'If-Modified-Since': after.headers['last-modified']! })).status).toBe(304);
  });

  it('lets If-None-Match win over If-Modified-Since', async () => {
    await start();
    const first = await client.fetch(path);
    const etag = first.headers.etag!;
    const lastModified = first.headers['last-modified']!;
    const stale = await client.fetch(path, { 'If-None-Match': '"an-old-version"', 'If-Modified-Since': lastModified });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(first.body)).toBe(true);
    const fresh = await client.fetch(path, { 'If-None-Match': etag, 'If-Modified-Since': new Date(T0 - 86_400_000).toUTCString() });
    expect(fresh.status).toBe(304);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    await start();
    for (const headers of [{}, { 'Accept-Encoding': 'gzip' }] as Record<string, string>[]) {
      const get = await client.fetch(path, headers);
      const head = await client.fetch(path, headers, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(withoutDate(head.headers)).toEqual(withoutDate(get.headers));
      expect(head.headers['content-length']).toBe(String(get.body.length));
    }
    const conditional = await client.fetch(path, { 'If-None-Match': (await client.fetch(path)).headers.etag! }, 'HEAD');
    expect(conditional.status).toBe(304);
    // supertest agrees: same headers, no body.
    const viaSupertest = await request(service.app).head(path).set('Accept-Encoding', 'identity').expect(200);
    expect(viaSupertest.headers.etag).toBe((await client.fetch(path)).headers.etag);
    expect(viaSupertest.text ?? '').toBe('');
  });

  it('gzips when asked, to the identical bytes, compressed once per rendered feed and never per request', async () => {
    await start();
    const plain = await client.fetch(path, { 'Accept-Encoding': 'identity' });
    const renders = (await service.metrics.feedRenders.get()).values[0]!.value;
    const gzipCallsAfterRender = zlibCalls.gzipSync;
    expect(gzipCallsAfterRender).toBe(1);

    const bodies: Buffer[] = [];
    for (const acceptEncoding of ['gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.8, *;q=0.1', 'GZIP', '*', 'identity;q=0.5, *']) {
      const res = await client.fetch(path, { 'Accept-Encoding': acceptEncoding });
      expect(res.status, acceptEncoding).toBe(200);
      expect(res.headers['content-encoding'], acceptEncoding).toBe('gzip');
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.headers['content-type']).toBe('text/calendar; charset=utf-8');
      expect(res.headers['content-length']).toBe(String(res.body.length));
      expect(res.body.length).toBeLessThan(plain.body.length);
      expect(gunzipSync(res.body).equals(plain.body), acceptEncoding).toBe(true);
      // A strong ETag names one representation: the gzip one has its own, stable across requests.
      expect(res.headers.etag).not.toBe(plain.headers.etag);
      expect(res.headers.etag).toMatch(/^"[!#-~]+"$/);
      bodies.push(res.body);
    }
    expect(new Set(bodies.map((b) => b.toString('base64'))).size).toBe(1);
    expect(zlibCalls.gzipSync, 'no compression per request').toBe(gzipCallsAfterRender);
    expect((await service.metrics.feedRenders.get()).values[0]!.value, 'no render per request').toBe(renders);
    // The very Buffer the feed service holds is what goes out: nothing is copied or re-encoded per request.
    const held = service.feeds.feed(service.config.kombo.integrationIds[0]!, { email: ADA }, 'full')!;
    expect(service.feeds.feed(service.config.kombo.integrationIds[0]!, { email: ADA }, 'full')!.gzipped).toBe(held.gzipped);
    expect(held.gzipped.equals(bodies[0]!)).toBe(true);
    expect(held.body.equals(plain.body)).toBe(true);

    // Either validator answers 304 whichever encoding is asked for: they name the same content.
    const gzipEtag = (await client.fetch(path, { 'Accept-Encoding': 'gzip' })).headers.etag!;
    expect((await client.fetch(path, { 'Accept-Encoding': 'gzip', 'If-None-Match': gzipEtag })).status).toBe(304);
    expect((await client.fetch(path, { 'Accept-Encoding': 'gzip', 'If-None-Match': plain.headers.etag! })).status).toBe(304);
    expect((await client.fetch(path, { 'If-None-Match': gzipEtag })).status).toBe(304);
    expect(zlibCalls.gzipSync).toBe(gzipCallsAfterRender);
  });

  it('does not gzip when the client refuses it or does not ask', async () => {
    await start();
    const plain = await client.fetch(path);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    for (const acceptEncoding of ['gzip;q=0', 'gzip; q=0.000', 'br', 'identity', '*;q=0', '*;q=0.5, gzip;q=0', 'deflate, gzip;q=0, br']) {
      const res = await client.fetch(path, { 'Accept-Encoding': acceptEncoding });
      expect(res.headers['content-encoding'], acceptEncoding).toBeUndefined();
      expect(res.body.equals(plain.body), acceptEncoding).toBe(true);
      expect(res.headers.etag).toBe(plain.headers.etag);
    }
  });

  it('serves the same bytes and headers whatever User-Agent or Accept says (Google sends no Accept)', async () => {
    await start();
    const reference = await client.fetch(path);
    const clients: Record<string, string>[] = [
      { 'User-Agent': 'Google-Calendar-Importer' },
      { 'User-Agent': 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)', Accept: '*/*' },
      { 'User-Agent': 'macOS/15.1 (24B83) dataaccessd/1.0', Accept: 'text/calendar' },
      { 'User-Agent': 'Mozilla/5.0 Thunderbird/128.0', Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
      { Accept: 'application/json' },
      { Accept: 'image/png' },
    ];
    for (const headers of clients) {
      const res = await client.fetch(path, headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(res.body.equals(reference.body), JSON.stringify(headers)).toBe(true);
      expect(withoutDate(res.headers)).toEqual(withoutDate(reference.headers));
    }
  });
});

describe('acceptsGzip', () => {
  it('reads Accept-Encoding the way RFC 9110 §12.5.3 does', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('')).toBe(false);
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('x-gzip-ish, gzip;q=0.2')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0')).toBe(false);
    // The explicit entry wins over the wildcard, wherever it stands.
    expect(acceptsGzip('*;q=0.5, gzip;q=0')).toBe(false);
    expect(acceptsGzip('*;q=0, gzip')).toBe(true);
  });
});

describe('the feed route with a two-interviewer fake', () => {
  it('keeps each interviewer their own validators', async () => {
    const fake = await startFakeKombo();
    try {
      fake.setRecords([
        interviewRecord({ id: 'iv-1', users: [komboUser(ADA)] }),
        interviewRecord({ id: 'iv-2', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
      ]);
      const service = buildTestService(fake);
      await service.sync.refresh();
      const ada = await request(service.app).get(feedPath(service, ADA)).set('Accept-Encoding', 'identity').expect(200);
      const grace = await request(service.app).get(feedPath(service, 'grace@example.com')).set('Accept-Encoding', 'identity').expect(200);
      expect(ada.headers.etag).not.toBe(grace.headers.etag);
      // Ada's ETag is no validator for Grace's feed.
      await request(service.app).get(feedPath(service, 'grace@example.com')).set('If-None-Match', ada.headers.etag!).expect(200);
    } finally {
      await fake.close();
    }
  });
});
