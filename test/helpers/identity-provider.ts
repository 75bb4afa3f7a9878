import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import request from 'supertest';
import { expect } from 'vitest';

/** A real OpenID Connect provider (oidc-provider 9) on loopback, with its development login and consent pages. */
export interface IdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  server: Server;
  /** Whether the provider vouches for `email` (its `email_verified`); an account not set is verified. */
  setVerified(email: string, verified: boolean): void;
  close(): Promise<void>;
}

/** Starts the provider; `redirectUri` is the one client's registered callback (`{PUBLIC_URL}/auth/callback`). */
export async function startIdentityProvider(redirectUris: string[]): Promise<IdentityProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'interview-feeds';
  const clientSecret = 'identity-provider-test-client-secret';
  const unverified = new Set<string>();
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris, grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The login form's "login" is the account id; tests sign in with an email as the login.
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: id, email_verified: !unverified.has(id), name: id }),
    }),
    cookies: { keys: ['identity-provider-test-cookie-key'] },
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
  });
  // Quiet: oidc-provider warns about development interactions and keys, which is what a test wants.
  provider.on('server_error', () => {});
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    server,
    setVerified: (email, verified) => void (verified ? unverified.delete(email) : unverified.add(email)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The env that turns self-service on against `idp`. */
export function oidcEnv(idp: IdentityProvider, adminEmails?: string): Record<string, string> {
  return { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, ...(adminEmails ? { OIDC_ADMIN_EMAILS: adminEmails } : {}) };
}

const setCookies = (res: request.Response) => ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]!);
const formAction = (html: string) => {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  expect(match, 'a form on the provider page').not.toBeNull();
  return match![1]!;
};

/**
 * Follows the whole sign-in over HTTP as a browser would, from `GET {start}` on the app to the callback: the app's
 * redirect to the provider, its login form (any password), its consent page, and back (to `finishOn`: another replica).
 * Answers the callback's response, the app's cookies from then on, and the callback as the browser asked it.
 * `options.headers` go with each request to the app (a client address behind TRUST_PROXY); `options.whileAtProvider`
 * runs once the sign-in has started, before the provider is asked (what others do meanwhile).
 */
export async function signInThroughProvider(
  app: Parameters<typeof request>[0],
  idp: IdentityProvider,
  login: string,
  start = '/me',
  finishOn = app,
  options: { headers?: Record<string, string>; whileAtProvider?: () => Promise<unknown> } = {},
) {
  const headers = options.headers ?? {};
  const started = await request(app).get(start).set(headers).expect(303);
  await options.whileAtProvider?.();
  const appCookies = setCookies(started);
  const agent = request.agent(idp.server);
  let location = started.headers.location!;
  expect(location.startsWith(`${idp.issuer}/`)).toBe(true);
  // Walk the provider's pages until it redirects back to the app.
  for (let step = 0; step < 12 && location.startsWith(idp.issuer); step++) {
    const res = await agent.get(location.slice(idp.issuer.length));
    if (res.status === 303 || res.status === 302) {
      location = new URL(res.headers.location!, idp.issuer).href;
      continue;
    }
    expect(res.status, res.text).toBe(200);
    const action = new URL(formAction(res.text), idp.issuer);
    const fields = res.text.includes('name="login"') ? { prompt: 'login', login, password: 'any password' } : { prompt: 'consent' };
    const posted = await agent.post(`${action.pathname}${action.search}`).type('form').send(fields);
    expect([302, 303]).toContain(posted.status);
    location = new URL(posted.headers.location!, idp.issuer).href;
  }
  const callback = new URL(location);
  expect(callback.pathname).toBe('/auth/callback');
  const res = await request(finishOn).get(`${callback.pathname}${callback.search}`).set(headers).set('Cookie', appCookies.join('; '));
  const cookies = [...appCookies.filter((c) => !c.includes('oidc-login')), ...setCookies(res).filter((c) => !c.includes('oidc-login') && !c.endsWith('='))];
  return { res, cookie: cookies.join('; '), callback: { path: `${callback.pathname}${callback.search}`, cookie: appCookies.join('; ') } };
}
