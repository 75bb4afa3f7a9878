import * as client from 'openid-client';
import type { PendingSignIn, PendingSignIns } from '../../state/pending-sign-ins.js';

/** How long a started sign-in may take at the provider (typing a password, a second factor) before it is refused. */
export const OIDC_LOGIN_TTL_MS = 10 * 60_000;

/** Where a finished sign-in goes: an interviewer's own page, or the admin page. */
export type SignInNext = 'me' | 'admin';

/** Who the provider says signed in. */
export interface OidcIdentity {
  email: string | null;
  /** The provider's `email_verified`: only a verified email gets links or admin rights. */
  emailVerified: boolean;
}

/** A sign-in that cannot finish, with a message for the person (never the provider's internals). */
export class OidcSignInError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OidcSignInError';
  }
}

/** The authorization code flow with PKCE, state and nonce against the company's OpenID Connect provider. */
export interface OidcSignIn {
  /**
   * A new sign-in, started from `address` (the client's: sign-ins in progress are bounded per address): the provider's
   * URL to send the browser to, and the state the browser must bring back.
   */
  start(next: SignInNext, address?: string): Promise<{ url: string; state: string }>;
  /** Finishes the sign-in the provider redirected back to `callbackUrl`; `browserState` is what this browser started. */
  finish(callbackUrl: URL, browserState: string | undefined): Promise<{ identity: OidcIdentity; next: SignInNext }>;
}

/** Creates the sign-in; the provider's discovery document is read at the first sign-in (and again after a failure). */
export function createOidcSignIn(options: {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  now: () => number;
  ttlMs?: number;
  /** The sign-ins in progress, from the state bundle (bounded; each taken once). */
  pending: PendingSignIns;
}): OidcSignIn {
  const ttlMs = options.ttlMs ?? OIDC_LOGIN_TTL_MS;
  let discovered: Promise<client.Configuration> | undefined;

  const configuration = () =>
    (discovered ??= client
      .discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, {
        // loadConfig accepts an http issuer only on loopback (tests, local development).
        ...(new URL(options.issuer).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        discovered = undefined;
        throw new OidcSignInError('The company sign-in is not reachable right now. Try again in a minute.', { cause: error });
      }));

  return {
    async start(next, address) {
      const config = await configuration();
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const nowMs = options.now();
      const login: PendingSignIn = { verifier, nonce, next, expiresAtMs: nowMs + ttlMs };
      await options.pending.hold(state, login, nowMs, address);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, state };
    },

    async finish(callbackUrl, browserState) {
      const state = callbackUrl.searchParams.get('state') ?? '';
      const login = await options.pending.take(state);
      // The state must be one this service started, in this browser (its cookie), and recent.
      if (!login || browserState !== state || login.expiresAtMs <= options.now()) {
        throw new OidcSignInError('This sign-in has expired or was started elsewhere. Sign in again.');
      }
      if (callbackUrl.searchParams.has('error')) throw new OidcSignInError('The sign-in was cancelled or refused by the company sign-in. Sign in again.');
      const config = await configuration();
      let tokens;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: login.verifier,
          expectedState: state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw new OidcSignInError('The company sign-in did not confirm who you are. Sign in again.', { cause: error });
      }
      const claims = tokens.claims()!;
      // Providers put email in the ID token or only in userinfo (oidc-provider, by default); each pair is taken whole
      // from one source, so a verified flag never vouches for another source's email.
      let source: Record<string, unknown> = claims;
      if (typeof claims.email !== 'string') {
        try {
          source = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
        } catch (error) {
          throw new OidcSignInError('The company sign-in did not say who you are. Sign in again.', { cause: error });
        }
      }
      const email = typeof source.email === 'string' ? source.email : null;
      return { identity: { email, emailVerified: email !== null && source.email_verified === true }, next: login.next };
    },
  };
}
