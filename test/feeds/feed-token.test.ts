import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedTokens } from '../../src/feeds/feed-token.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService } from '../helpers/test-service.js';

const SECRET = 'a-feed-secret-of-at-least-32-characters!';
const ADA = { integrationId: 'greenhouse:acme', email: 'ada.lovelace@example.com' };

function bytesOf(token: string): Buffer {
  return Buffer.from(token, 'base64url');
}

describe('createFeedTokens', () => {
  const tokens = createFeedTokens(SECRET);

  it('round-trips the integration id and email', () => {
    const token = tokens.encode(ADA);
    expect(tokens.decode(token)).toEqual(ADA);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a URL path as is
  });

  it('gives the same interviewer the same URL every time, and different people different ones', () => {
    expect(tokens.encode(ADA)).toBe(tokens.encode({ ...ADA }));
    expect(createFeedTokens(SECRET).encode(ADA)).toBe(tokens.encode(ADA)); // survives a restart
    expect(tokens.encode({ ...ADA, email: 'ada.lovelace@example.org' })).not.toBe(tokens.encode(ADA));
  });

  it('does not show the email, not even base64-decoded', () => {
    const token = tokens.encode(ADA);
    const decoded = bytesOf(token);
    for (const needle of [ADA.email, 'ada.lovelace', 'example.com', ADA.integrationId]) {
      expect(token.toLowerCase()).not.toContain(needle.toLowerCase());
      expect(decoded.includes(Buffer.from(needle, 'utf8'))).toBe(false);
      expect(decoded.toString('latin1').toLowerCase()).not.toContain(needle.toLowerCase());
      // Nor in the base64 of the email at any of the three alignments.
      for (const shift of ['', 'x', 'xx']) {
        const encoded = Buffer.from(shift + needle, 'utf8').toString('base64url').slice(4, -4);
        if (encoded.length >= 6) expect(token).not.toContain(encoded);
      }
    }
  });

  it('starts with a version byte, so a later format can live beside this one', () => {
    const a = bytesOf(tokens.encode(ADA));
    const b = bytesOf(createFeedTokens('x'.repeat(40)).encode({ integrationId: 'other', email: 'x@y.z' }));
    expect(a[0]).toBe(b[0]);
    const other = Buffer.from(a);
    other[0] = a[0]! + 1;
    expect(tokens.decode(other.toString('base64url'))).toBeUndefined();
  });

  it('carries at least 128 bits the secret decides: another secret gives an unrelated token and cannot read this one', () => {
    const token = tokens.encode(ADA);
    const foreign = createFeedTokens(`${SECRET}-but-different`);
    expect(foreign.decode(token)).toBeUndefined();
    const mine = bytesOf(token);
    const theirs = bytesOf(foreign.encode(ADA));
    expect(mine.length).toBeGreaterThanOrEqual(1 + 16);
    // Beyond the version byte, a different key changes the token everywhere (a few bytes may agree by chance).
    let same = 0;
    for (let i = 1; i < Math.min(mine.length, theirs.length); i++) if (mine[i] === theirs[i]) same++;
    expect(same).toBeLessThan(4);
    expect(mine.length - 1 - same).toBeGreaterThanOrEqual(16);
  });

  it('rejects a change to any byte', () => {
    const bytes = bytesOf(tokens.encode(ADA));
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = Buffer.from(bytes);
        tampered[i] = tampered[i]! ^ mask;
        expect(tokens.decode(tampered.toString('base64url')), `byte ${i} ^ ${mask}`).toBeUndefined();
      }
    }
  });

  it('rejects a change to any character, a cut or an extension', () => {
    const token = tokens.encode(ADA);
    for (let i = 0; i < token.length; i++) {
      const replacement = token[i] === 'A' ? 'B' : 'A';
      expect(tokens.decode(token.slice(0, i) + replacement + token.slice(i + 1)), `character ${i}`).toBeUndefined();
    }
    expect(tokens.decode(token.slice(0, -1))).toBeUndefined();
    expect(tokens.decode(token.slice(1))).toBeUndefined();
    expect(tokens.decode(`${token}A`)).toBeUndefined();
    expect(tokens.decode(`${token}AAAA`)).toBeUndefined();
    expect(tokens.decode(`${token}=`)).toBeUndefined();
  });

  it('rejects malformed strings without throwing', () => {
    const token = tokens.encode(ADA);
    const malformed = [
      '',
      'A',
      'AQ',
      '!!!!',
      `${token.slice(0, 10)}+/${token.slice(12)}`, // standard base64, not base64url
      `${token.slice(0, 10)} ${token.slice(11)}`,
      `${token.slice(0, 10)}%${token.slice(11)}`,
      'ä'.repeat(40),
      'A'.repeat(100_000),
      token.repeat(200),
      '\u0000'.repeat(64),
    ];
    for (const value of malformed) expect(tokens.decode(value)).toBeUndefined();
  });

  it('keeps integration id and email apart, even when the email has odd characters', () => {
    const odd = { integrationId: 'personio:1', email: "o'brien+x@example.co.uk" };
    expect(tokens.decode(tokens.encode(odd))).toEqual(odd);
  });
});

describe('feed tokens, format 2: detail levels, team feeds, generations', () => {
  const tokens = createFeedTokens(SECRET);
  const identities = [
    { ...ADA, detail: 'private' as const },
    { ...ADA, detail: 'busy' as const },
    { ...ADA, detail: 'full' as const },
    { integrationId: ADA.integrationId, team: { job: 'job-1' } },
    { integrationId: ADA.integrationId, team: 'all' as const, detail: 'busy' as const },
    { integrationId: ADA.integrationId, team: { job: '*' } },
    { ...ADA, generation: 3 },
  ];

  it('round-trips each identity, and a person\'s link without level or generation stays format 1', () => {
    for (const identity of identities) {
      const token = tokens.encode(identity);
      expect(tokens.decode(token)).toEqual(identity);
      expect(createFeedTokens(SECRET).decode(token)).toEqual(identity); // survives a restart
      expect(bytesOf(token)[0]).toBe(0x02);
    }
    expect(bytesOf(tokens.encode(ADA))[0]).toBe(0x01);
  });

  it('gives every level, team and generation its own URL', () => {
    const all = [ADA, ...identities].map((identity) => tokens.encode(identity));
    expect(new Set(all).size).toBe(all.length);
    // A job whose id is "*" is not every interview.
    expect(tokens.decode(tokens.encode({ integrationId: 'x', team: { job: '*' } }))?.team).toEqual({ job: '*' });
  });

  it('rejects a change to any byte of a format 2 token, the version byte included', () => {
    for (const identity of identities) {
      const bytes = bytesOf(tokens.encode(identity));
      expect(bytes[0]).toBe(0x02);
      expect(tokens.decode(bytes.toString('base64url'))).toEqual(identity);
      for (let i = 0; i < bytes.length; i++) {
        for (const mask of [0x01, 0x03, 0x80]) {
          const tampered = Buffer.from(bytes);
          tampered[i] = tampered[i]! ^ mask;
          expect(tokens.decode(tampered.toString('base64url')), `byte ${i} ^ ${mask}`).toBeUndefined();
        }
      }
    }
  });

  it('cannot be re-encoded at another level without the secret', () => {
    const foreign = createFeedTokens(`${SECRET}-but-different`);
    for (const identity of identities) {
      expect(foreign.decode(foreign.encode({ ...identity, detail: 'full' }))).toEqual({ ...identity, detail: 'full' });
      expect(tokens.decode(foreign.encode({ ...identity, detail: 'full' }))).toBeUndefined();
    }
  });

  it('refuses to make a token that names both a person and a team, or neither', () => {
    expect(() => tokens.encode({ ...ADA, team: 'all' })).toThrow(/person or a team/);
    expect(() => tokens.encode({ integrationId: ADA.integrationId })).toThrow(/person or a team/);
  });
});

describe('feed tokens over HTTP', () => {
  let fake: FakeKombo;
  beforeAll(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com')] })]);
  });
  afterAll(async () => {
    await fake.close();
  });

  it('serves a token for this integration and 404s one for another integration, like an unknown path', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const good = service.tokens.encode({ integrationId: fake.integrationId, email: 'ada@example.com' });
    const res = await request(service.app).get(`/feeds/${good}.ics`).expect(200);
    expect(parseIcs(res.text).events.map((e) => e.uid)).toEqual(['iv-1']);

    const unknownPath = await request(service.app).get('/definitely/not/here').expect(404);
    const otherIntegration = service.tokens.encode({ integrationId: 'lever:someone-else', email: 'ada@example.com' });
    const foreignSecret = createFeedTokens('y'.repeat(48)).encode({ integrationId: fake.integrationId, email: 'ada@example.com' });
    const tampered = `${good.slice(0, -2)}${good.at(-2) === 'A' ? 'B' : 'A'}${good.at(-1)}`;
    for (const token of [otherIntegration, foreignSecret, tampered, '', 'x'.repeat(5000), 'not+base64url']) {
      const res = await request(service.app).get(`/feeds/${encodeURIComponent(token)}.ics`).expect(404);
      expect(res.text).toBe(unknownPath.text);
      expect(res.headers['content-type']).toBe(unknownPath.headers['content-type']);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});
