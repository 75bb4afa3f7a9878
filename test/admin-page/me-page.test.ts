import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOidcSignIn, OIDC_LOGIN_TTL_MS, OidcSignInError } from '../../src/http/oidc/oidc-sign-in.js';
import { createMemoryPendingSignIns, OIDC_PENDING_LOGINS_MAX } from '../../src/state/pending-sign-ins.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { startIdentityProvider, oidcEnv, signInThroughProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { admin } from '../helpers/integrations.js';
import { buildTestService, PUBLIC_URL } from '../helpers/test-service.js';
import { csrfIn, pageRecords } from './page-fixtures.js';

const CALLBACK = `${PUBLIC_URL}/auth/callback`;

describe('self-service sign-in (GET /me) against a real OpenID Connect provider', () => {
  let idp: IdentityProvider;
  let fake: FakeKombo;
  beforeAll(async () => {
    idp = await startIdentityProvider([CALLBACK]);
  });
  afterAll(async () => {
    await idp.close();
  });
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    return () => fake.close();
  });

  async function service(adminEmails?: string) {
    const built = buildTestService(fake, { env: oidcEnv(idp, adminEmails) });
    await built.sync.refresh();
    return built;
  }

  it('sends the browser to the provider with PKCE (S256), state, nonce and the callback as redirect URI', async () => {
    const s = await service();
    const res = await request(s.app).get('/me').expect(303);
    const url = new URL(res.headers.location!);
    expect(url.origin).toBe(idp.issuer);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(idp.clientId);
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The state is bound to this browser by a Lax cookie (the provider's redirect back is cross-site).
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-oidc-login='))!;
    expect(cookie).toContain(`=${url.searchParams.get('state')};`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
  });

  it('shows a signed-in interviewer their own link, the very URL the admin API gives, and it serves their feed', async () => {
    const s = await service();
    const { res, cookie } = await signInThroughProvider(s.app, idp, 'grace@example.com');
    expect(res.status).toBe(200);
    // A page that moves on by itself: a redirect would not carry the SameSite=Strict session cookie.
    expect(res.text).toContain('<meta http-equiv="refresh" content="0;url=/me">');
    const page = await request(s.app).get('/me').set('Cookie', cookie).expect(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).toContain('grace@example.com');
    const api = (await admin(s, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string; googleUrl: string };
    expect(page.text).toContain(`data-copy="${api.url}"`);
    expect(page.text).toContain('Reset my link');
    expect(page.text).not.toContain('ada@example.com'); // nobody else's link
    const feed = parseIcs((await request(s.app).get(new URL(api.url).pathname).expect(200)).text);
    expect(feed.events).toHaveLength(2);
    const qr = await request(s.app).get(`/me/qr.svg?integration=${encodeURIComponent(fake.integrationId)}&detail=busy`).set('Cookie', cookie).expect(200);
    expect(qr.headers['content-type']).toMatch(/^image\/svg\+xml/);
    // Signed in as Grace, no one asks for another's QR code: only the session's own email is ever used.
    await request(s.app).get('/me/qr.svg?integration=nope').set('Cookie', cookie).expect(404);
    await request(s.app).get(`/me/qr.svg?integration=${encodeURIComponent(fake.integrationId)}`).expect(404);
  });

  it('gives an unverified email and a stranger without interviews no link, and says why', async () => {
    const s = await service();
    idp.setVerified('ada@example.com', false);
    try {
      const { cookie } = await signInThroughProvider(s.app, idp, 'ada@example.com');
      const page = await request(s.app).get('/me').set('Cookie', cookie).expect(200);
      expect(page.text).toContain('has not verified the email ada@example.com');
      expect(page.text).not.toContain('/feeds/');
      expect(page.text).not.toContain('Reset my link');
      await request(s.app).post('/me/reset').set('Cookie', cookie).type('form').send({ _csrf: csrfIn(page.text), integration: fake.integrationId }).expect(403);
    } finally {
      idp.setVerified('ada@example.com', true);
    }
    const { cookie } = await signInThroughProvider(s.app, idp, 'stranger@example.com');
    const page = await request(s.app).get('/me').set('Cookie', cookie).expect(200);
    expect(page.text).toContain('No interviews are scheduled with stranger@example.com');
    expect(page.text).not.toContain('/feeds/');
  });

  it('"Reset my link" replaces their own link only: the old URL answers 404, the new one serves, Ada’s is untouched', async () => {
    const s = await service();
    const { cookie } = await signInThroughProvider(s.app, idp, 'grace@example.com');
    const before = (await admin(s, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string };
    const ada = (await admin(s, 'get', '/admin/feed-url?email=ada@example.com').expect(200)).body as { url: string };
    const page = await request(s.app).get('/me').set('Cookie', cookie).expect(200);
    const csrf = csrfIn(page.text);
    // Another site, or a form without the session's CSRF token, changes nothing.
    await request(s.app).post('/me/reset').set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').type('form').send({ _csrf: csrf, integration: fake.integrationId }).expect(403);
    await request(s.app).post('/me/reset').set('Cookie', cookie).type('form').send({ _csrf: 'wrong', integration: fake.integrationId }).expect(403);
    await request(s.app).get(new URL(before.url).pathname).expect(200);

    await request(s.app).post('/me/reset').set('Cookie', cookie).type('form').send({ _csrf: csrf, integration: fake.integrationId }).expect(303).expect('Location', '/me?notice=reset');
    await request(s.app).get(new URL(before.url).pathname).expect(404);
    const after = (await admin(s, 'get', '/admin/feed-url?email=grace@example.com').expect(200)).body as { url: string };
    expect(after.url).not.toBe(before.url);
    await request(s.app).get(new URL(after.url).pathname).expect(200);
    expect((await request(s.app).get('/me?notice=reset').set('Cookie', cookie).expect(200)).text).toContain(`data-copy="${after.url}"`);
    await request(s.app).get(new URL(ada.url).pathname).expect(200);
    // An integration where Grace is no interviewer is not hers to reset.
    await request(s.app).post('/me/reset').set('Cookie', cookie).type('form').send({ _csrf: csrf, integration: 'other' }).expect(404);
  });

  it('lets an OIDC_ADMIN_EMAILS person with a verified email into /admin by the same sign-in, and no one else', async () => {
    const s = await service('Grace@Example.com');
    const grace = await signInThroughProvider(s.app, idp, 'grace@example.com', '/auth/login?next=admin');
    expect(grace.res.text).toContain('content="0;url=/admin"');
    expect((await request(s.app).get('/admin').set('Cookie', grace.cookie).expect(200)).text).toContain('<h1>Integrations</h1>');
    const signInPage = await request(s.app).get('/admin').expect(200);
    expect(signInPage.text).toContain('href="/auth/login?next=admin"');

    const ada = await signInThroughProvider(s.app, idp, 'ada@example.com', '/auth/login?next=admin');
    expect(ada.res.text).toContain('content="0;url=/me"');
    expect((await request(s.app).get('/admin').set('Cookie', ada.cookie).expect(200)).text).toContain('Sign in');
    await request(s.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', ada.cookie).expect(303).expect('Location', '/admin');

    idp.setVerified('grace@example.com', false);
    try {
      const unverified = await signInThroughProvider(s.app, idp, 'grace@example.com', '/auth/login?next=admin');
      await request(s.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', unverified.cookie).expect(303).expect('Location', '/admin');
    } finally {
      idp.setVerified('grace@example.com', true);
    }
  });

  it('refuses a callback whose state this browser did not start, and a state used twice', async () => {
    const s = await service();
    const started = await request(s.app).get('/me').expect(303);
    const state = new URL(started.headers.location!).searchParams.get('state')!;
    const refused = await request(s.app).get(`/auth/callback?code=forged&state=${state}`).expect(400); // no login cookie: another browser
    expect(refused.text).toContain('This sign-in has expired or was started elsewhere. Sign in again.');
    // The refused state is spent: this browser cannot finish it afterwards either.
    const cookie = (started.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    await request(s.app).get(`/auth/callback?code=forged&state=${state}`).set('Cookie', cookie).expect(400);
    expect(s.logs.lines.some((line) => line.msg === 'a sign-in with the identity provider failed')).toBe(true);
  });

  it('holds at most OIDC_PENDING_LOGINS_MAX sign-ins, each for OIDC_LOGIN_TTL_MS', async () => {
    expect(OIDC_PENDING_LOGINS_MAX).toBe(10_000);
    let now = 0;
    const pending = createMemoryPendingSignIns({ max: 3 });
    const signIn = createOidcSignIn({ issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, redirectUri: CALLBACK, now: () => now, pending });
    const states: string[] = [];
    for (let n = 0; n < 5; n++) states.push((await signIn.start('me')).state);
    expect(pending.size()).toBe(3);
    const callback = (state: string) => new URL(`${CALLBACK}?code=x&state=${state}`);
    // The oldest were dropped past the bound.
    await expect(signIn.finish(callback(states[0]!), states[0])).rejects.toThrow(OidcSignInError);
    now += OIDC_LOGIN_TTL_MS;
    await expect(signIn.finish(callback(states[4]!), states[4])).rejects.toThrow('This sign-in has expired');
    expect(pending.size()).toBe(2);
  });
});
