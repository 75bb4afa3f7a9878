import { isIP } from 'node:net';
import { z } from 'zod';
import { normalizeEmail } from './interviews/normalize-email.js';

/** The feed secret demo mode uses when none is set: demo data only, so a well-known secret is harmless. */
export const DEMO_FEED_SECRET = 'demo-mode-feed-secret-not-for-production-use';
/** The integration id demo mode uses when none is set: the first demo company's (URLs printed before carry it). */
export const DEMO_INTEGRATION_ID = 'demo';
/** Demo mode's two companies: one person interviews for both, so the demo shows two calendars for them. */
export const DEMO_INTEGRATION_IDS: readonly string[] = [DEMO_INTEGRATION_ID, 'demo-globex'];

/** Longest integration id accepted (Kombo's are "tool:" and a couple dozen characters). */
export const MAX_INTEGRATION_ID_CHARS = 256;
/** An integration id we can key files, tokens and logs by: 1–256 printable characters, no line break. */
export function isValidIntegrationId(id: string): boolean {
  // Feed tokens separate the integration from the email with a line break; no control character belongs in an id.
  return id.length > 0 && id.length <= MAX_INTEGRATION_ID_CHARS && id.trim() === id && !/[\u0000-\u001F\u007F]/.test(id);
}

/**
 * How much an event shows, chosen per link: `full`, everything; `private`, nothing of the candidate (not their name,
 * and not the ATS's own title either, which often embeds it), but the job, the room, the link and the interviewers;
 * `busy`, only that the time is taken. Every level has the same events at the same times with the same UIDs.
 */
export type FeedDetail = 'full' | 'private' | 'busy';
export const FEED_DETAILS: readonly FeedDetail[] = ['full', 'private', 'busy'];

const MiB = 1024 * 1024;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads a variable as text: surrounding spaces (a stray newline from a secret file) dropped, empty as unset. */
const text = (value: unknown) => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
};

/** An optional string: `FOO=` in a .env file counts as unset, the way people write them. */
const optionalString = z.preprocess(text, z.string().optional());

function withDefault(fallback: string) {
  return (value: unknown) => text(value) ?? fallback;
}

/** A whole number in decimal digits (so `0x10`, `1e3` and `3.5` are refused) from `min` to `max`. */
function integer(name: string, min: number, max: number, fallback: number, what = 'a whole number') {
  const message = `${name} must be ${what} from ${min} to ${max}`;
  return z.preprocess(
    (value) => {
      const raw = text(value);
      if (raw === undefined) return fallback;
      return typeof raw === 'string' && /^[+-]?\d+$/.test(raw) ? Number(raw) : raw;
    },
    z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message }),
  );
}

/** An absolute http(s) URL without query or fragment (paths are appended to it); trailing slashes dropped. */
function httpUrl(name: string, example: string) {
  return z
    .string({ error: `${name} must be an http(s) URL` })
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
        } catch {
          return false;
        }
      },
      { error: `${name} must be an http(s) URL without query or fragment, such as ${example}` },
    )
    .transform((value) => value.replace(/\/+$/, ''));
}

/** A host name or IP address to listen on. */
const host = z.string().refine((value) => isIP(value) !== 0 || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(value), {
  error: 'HOST must be an IP address or host name to listen on, such as 0.0.0.0 (all interfaces) or 127.0.0.1',
});

const envSchema = z.object({
  NODE_ENV: optionalString,
  KOMBO_API_KEY: optionalString,
  KOMBO_INTEGRATION_ID: optionalString,
  KOMBO_INTEGRATION_IDS: optionalString,
  KOMBO_BASE_URL: z.preprocess(withDefault('https://api.kombo.dev/v1'), httpUrl('KOMBO_BASE_URL', 'https://api.kombo.dev/v1')),
  KOMBO_TIMEOUT_SECONDS: integer('KOMBO_TIMEOUT_SECONDS', 1, 600, 30, 'a number of seconds'),
  KOMBO_WEBHOOK_SECRET: optionalString,
  // A page is a few hundred KB; the defaults and their reasons are in src/kombo and src/sync (walk-budget.ts).
  KOMBO_MAX_RESPONSE_MB: integer('KOMBO_MAX_RESPONSE_MB', 1, 256, 32, 'a number of MiB'),
  KOMBO_WALK_MAX_RECORDS: integer('KOMBO_WALK_MAX_RECORDS', 1_000, 2_500_000, 250_000, 'a number of records'),
  KOMBO_WALK_MAX_MB: integer('KOMBO_WALK_MAX_MB', 16, 16_384, 8_192, 'a number of MiB'),
  FEED_SECRET: optionalString,
  ADMIN_TOKEN: optionalString,
  PUBLIC_URL: z.preprocess(text, httpUrl('PUBLIC_URL', 'https://feeds.example.com').optional()),
  ALLOW_HTTP_PUBLIC_URL: z.preprocess(
    (value) => String(text(value) ?? 'false').toLowerCase(),
    z.enum(['true', 'false'], { error: 'ALLOW_HTTP_PUBLIC_URL must be true or false' }).transform((value) => value === 'true'),
  ),
  SESSION_HOURS: integer('SESSION_HOURS', 1, 720, 8, 'a number of hours'),
  // Kept exactly as written: an issuer identifier is compared byte for byte, trailing slash included (Auth0 has one).
  OIDC_ISSUER: z.preprocess(text, z.string().refine((value) => /^https?:$/.test(URL.canParse(value) ? new URL(value).protocol : ''), { error: 'OIDC_ISSUER must be an http(s) URL, such as https://login.example.com' }).optional()),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_ADMIN_EMAILS: optionalString,
  PORT: integer('PORT', 0, 65535, 3000, 'a port number'),
  HOST: z.preprocess(withDefault('0.0.0.0'), host),
  SYNC_INTERVAL_SECONDS: integer('SYNC_INTERVAL_SECONDS', 10, 86_400, 300, 'a number of seconds'),
  SYNC_CONCURRENCY: integer('SYNC_CONCURRENCY', 1, 64, 4, 'a number of walks'),
  FULL_SYNC_INTERVAL_HOURS: integer('FULL_SYNC_INTERVAL_HOURS', 1, 720, 24, 'a number of hours'),
  FEED_PAST_DAYS: integer('FEED_PAST_DAYS', 0, 3650, 90, 'a number of days'),
  DEFAULT_DURATION_MINUTES: integer('DEFAULT_DURATION_MINUTES', 1, 1440, 60, 'a number of minutes'),
  FEED_DEFAULT_DETAIL: z.preprocess(
    (value) => String(text(value) ?? 'full').toLowerCase(),
    z.enum(FEED_DETAILS, { error: `FEED_DEFAULT_DETAIL must be one of ${FEED_DETAILS.join(', ')}` }),
  ),
  SHOW_CONFIDENTIAL_NAMES: z.preprocess(
    (value) => String(text(value) ?? 'false').toLowerCase(),
    z.enum(['true', 'false'], { error: 'SHOW_CONFIDENTIAL_NAMES must be true or false' }).transform((value) => value === 'true'),
  ),
  FEED_REFRESH_MINUTES: integer('FEED_REFRESH_MINUTES', 5, 10_080, 60, 'a number of minutes'),
  WEBHOOK_WALK_INTERVAL_SECONDS: integer('WEBHOOK_WALK_INTERVAL_SECONDS', 1, 3_600, 5, 'a number of seconds'),
  TRUST_PROXY: integer('TRUST_PROXY', 0, 10, 0, 'a number of reverse proxies'),
  MAX_CONNECTIONS: integer('MAX_CONNECTIONS', 1, 1_000_000, 10_000, 'a number of connections'),
  FEED_CACHE_MAX_MB: integer('FEED_CACHE_MAX_MB', 1, 16_384, 256, 'a number of megabytes'),
  MASS_REMOVAL_HOLD_HOURS: integer('MASS_REMOVAL_HOLD_HOURS', 1, 720, 24, 'a number of hours'),
  DATA_DIR: z.preprocess(withDefault('./data'), z.string()),
  // The value is never echoed in an error or a log: it may carry a password.
  REDIS_URL: z.preprocess(
    text,
    z
      .string()
      .refine((value) => URL.canParse(value) && /^rediss?:$/.test(new URL(value).protocol) && new URL(value).hostname !== '', {
        error: 'REDIS_URL must be a redis:// or rediss:// URL with a host, such as redis://redis:6379/0',
      })
      .optional(),
  ),
  REDIS_KEY_PREFIX: z.preprocess(
    withDefault('interview-feeds:'),
    z.string().regex(/^[\x21-\x7e]{1,64}$/, { error: 'REDIS_KEY_PREFIX must be 1 to 64 printable ASCII characters without spaces' }),
  ),
  REDIS_TIMEOUT_SECONDS: integer('REDIS_TIMEOUT_SECONDS', 1, 60, 2, 'a number of seconds'),
  SYNC_LEASE_SECONDS: integer('SYNC_LEASE_SECONDS', 3, 600, 30, 'a number of seconds'),
  LOG_LEVEL: z.preprocess(
    (value) => String(text(value) ?? 'info').toLowerCase(),
    z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }),
  ),
});

/** Every environment variable the configuration reads (.env.example and docs/configuration.md list each one). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** The service's settings, read once at start-up. */
export interface Config {
  /** True when no Kombo key is set: bundled demo interviews are served instead. */
  demo: boolean;
  kombo: {
    apiKey: string;
    /**
     * The integrations named in the configuration (KOMBO_INTEGRATION_ID and KOMBO_INTEGRATION_IDS, in that order,
     * without repeats); the registry adds and removes others at run time.
     */
    integrationIds: readonly string[];
    baseUrl: string;
    timeoutMs: number;
    webhookSecret: string | undefined;
  };
  /** What one Kombo answer and one walk may hold before they are taken for a fault. */
  komboLimits: {
    maxResponseBytes: number;
    walkMaxRecords: number;
    walkMaxBytes: number;
  };
  feedSecret: string;
  adminToken: string | undefined;
  /** How long a sign-in to the admin page lasts. */
  sessionMs: number;
  /** Self-service sign-in with the company's OpenID Connect provider (`GET /me`); undefined while not configured. */
  oidc: OidcConfig | undefined;
  publicUrl: string;
  /** ALLOW_HTTP_PUBLIC_URL: a plain-http PUBLIC_URL on purpose (a private network); links and tokens then travel in clear. */
  allowHttpPublicUrl: boolean;
  port: number;
  host: string;
  syncIntervalMs: number;
  syncConcurrency: number;
  fullSyncIntervalMs: number;
  feedPastDays: number;
  defaultDurationMinutes: number;
  feedRefreshMinutes: number;
  /** Least time between the starts of two walks asked for by webhooks. */
  webhookWalkIntervalMs: number;
  /** Reverse proxies in front whose X-Forwarded-For names the client (0: the socket's address is the client's). */
  trustProxy: number;
  /** Open connections the server accepts at once; it closes any past this at once. */
  maxConnections: number;
  /** What a link shows that was issued without a level of its own (every link made before levels existed). */
  feedDefaultDetail: FeedDetail;
  /**
   * SHOW_CONFIDENTIAL_NAMES: calendars name the candidate and job of confidential searches too. Off by default: an
   * interview of a confidential job names neither, one of a confidential candidate not the candidate.
   */
  showConfidentialNames: boolean;
  /** Bytes the rendered-feed cache may hold (bodies, gzipped bodies and per-entry overhead). */
  feedCacheMaxBytes: number;
  /** How long full walks must keep agreeing on a held mass removal before it applies unconfirmed. */
  massRemovalHoldMs: number;
  dataDir: string;
  /** Replica mode: shared state, leases and change notices in Redis; undefined without REDIS_URL (embedded mode). */
  redis: RedisConfig | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  production: boolean;
}

/** Where replicas share their state, and how long a walk's lease lasts unrenewed. */
export interface RedisConfig {
  /** REDIS_URL, password included: never log it (see {@link redactRedisUrl}). */
  url: string;
  keyPrefix: string;
  /** Every command fails after this rather than hang a walk or a change. */
  timeoutMs: number;
  /** A walk's lease: renewed every third of it; a replica killed mid-walk holds it at most this long. */
  leaseMs: number;
}

/** REDIS_URL as a log may show it: any user name and password replaced. */
export function redactRedisUrl(value: string): string {
  if (!URL.canParse(value)) return '(unparseable)';
  const url = new URL(value);
  if (url.username !== '') url.username = 'redacted';
  if (url.password !== '') url.password = 'redacted';
  return url.toString();
}

/** The OpenID Connect provider interviewers sign in with, and who of them may also open the admin page. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Normalised emails that reach `/admin` by the same sign-in (their provider must mark them verified). */
  adminEmails: readonly string[];
}

/** Loopback hosts: the only ones an `http` issuer may have (tests and local development). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Outside demo mode every link handed out is built on PUBLIC_URL, and changing it later means every interviewer
 * subscribes again: unset (links to localhost) or plain http on a network (secret links, the admin token and session
 * cookies in clear text) is refused at start-up, unless ALLOW_HTTP_PUBLIC_URL says a private network is meant.
 */
function publicUrlProblems(raw: string | undefined, demo: boolean, allowHttp: boolean): string[] {
  if (demo) return [];
  if (raw === undefined) {
    return ['PUBLIC_URL must be set when KOMBO_API_KEY is set: the https address interviewers reach the service at, such as https://feeds.example.com (every feed link is built on it)'];
  }
  if (!URL.canParse(raw)) return []; // the schema reports the malformed URL
  const url = new URL(raw);
  if (url.protocol !== 'http:' || allowHttp || isLoopbackHost(url.hostname)) return [];
  return [
    'PUBLIC_URL must be https: over plain http, feed links and the admin token cross the network in clear text. Use http only on a loopback address, or set ALLOW_HTTP_PUBLIC_URL=true for a private network',
  ];
}

/** Thrown by {@link loadConfig}: one line per bad setting, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration from `env` (process.env by default); throws {@link ConfigError}. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'configuration');
      problems.push(issue.message.startsWith(name) ? issue.message : `${name} is invalid: ${issue.message}`);
    }
  }
  // Checks across variables read the raw text, so they are reported together with any bad value above.
  const apiKey = text(env.KOMBO_API_KEY);
  const integrationIds = [text(env.KOMBO_INTEGRATION_ID), ...String(text(env.KOMBO_INTEGRATION_IDS) ?? '').split(',').map(text)].filter(
    (id): id is string => typeof id === 'string',
  );
  const feedSecret = text(env.FEED_SECRET);
  const demo = apiKey === undefined;
  if (demo && integrationIds.length > 0) {
    // Otherwise a forgotten key would quietly serve demo interviews where real ones are expected.
    problems.push('KOMBO_API_KEY must be set when KOMBO_INTEGRATION_ID or KOMBO_INTEGRATION_IDS is set (leave them all unset for demo mode)');
  }
  for (const id of integrationIds) {
    if (!isValidIntegrationId(id)) {
      problems.push(`KOMBO_INTEGRATION_IDS holds ${JSON.stringify(id.slice(0, 40))}, which is no integration id (1 to ${MAX_INTEGRATION_ID_CHARS} characters, no control characters)`);
      break;
    }
  }
  if (feedSecret === undefined && !demo) {
    problems.push('FEED_SECRET must be set (at least 32 characters) when KOMBO_API_KEY is set');
  } else if (typeof feedSecret === 'string' && feedSecret.length < 32) {
    problems.push('FEED_SECRET must be at least 32 characters');
  }
  const adminToken = text(env.ADMIN_TOKEN);
  if (typeof adminToken === 'string' && adminToken.length < 16) {
    problems.push('ADMIN_TOKEN must be at least 16 characters');
  }
  const webhookSecret = text(env.KOMBO_WEBHOOK_SECRET);
  if (typeof webhookSecret === 'string' && webhookSecret.length < 16) {
    problems.push('KOMBO_WEBHOOK_SECRET must be at least 16 characters');
  }
  const oidcSet = (['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const).filter((name) => text(env[name]) !== undefined);
  if (oidcSet.length > 0 && oidcSet.length < 3) {
    problems.push('OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together (self-service sign-in needs all three)');
  }
  const issuer = text(env.OIDC_ISSUER);
  if (typeof issuer === 'string' && issuer.startsWith('http:') && URL.canParse(issuer) && !isLoopbackHost(new URL(issuer).hostname)) {
    // Tokens and the client secret would cross the network in the clear.
    problems.push('OIDC_ISSUER must be https (http only on a loopback address, for local development)');
  }
  const publicUrl = text(env.PUBLIC_URL);
  problems.push(...publicUrlProblems(typeof publicUrl === 'string' ? publicUrl : undefined, demo, String(text(env.ALLOW_HTTP_PUBLIC_URL)).toLowerCase() === 'true'));
  const adminEmails = String(text(env.OIDC_ADMIN_EMAILS) ?? '')
    .split(',')
    // The one normalisation every compared email goes through: `toLowerCase()` would fold a Kelvin sign into `k`
    // and make another person's account an admin.
    .map(normalizeEmail)
    .filter((email) => email !== '');
  if (adminEmails.length > 0 && oidcSet.length === 0) problems.push('OIDC_ADMIN_EMAILS needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET');
  const badAdmin = adminEmails.find((email) => !/^[^@\s]+@[^@\s]+$/.test(email));
  if (badAdmin !== undefined) problems.push(`OIDC_ADMIN_EMAILS holds ${JSON.stringify(badAdmin.slice(0, 60))}, which is no email address`);
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);

  const e = parsed.data;
  return {
    demo,
    kombo: {
      apiKey: e.KOMBO_API_KEY ?? '',
      integrationIds: demo ? DEMO_INTEGRATION_IDS : [...new Set(integrationIds)],
      baseUrl: e.KOMBO_BASE_URL,
      timeoutMs: e.KOMBO_TIMEOUT_SECONDS * 1000,
      webhookSecret: e.KOMBO_WEBHOOK_SECRET,
    },
    komboLimits: {
      maxResponseBytes: e.KOMBO_MAX_RESPONSE_MB * MiB,
      walkMaxRecords: e.KOMBO_WALK_MAX_RECORDS,
      walkMaxBytes: e.KOMBO_WALK_MAX_MB * MiB,
    },
    feedSecret: e.FEED_SECRET ?? DEMO_FEED_SECRET,
    adminToken: e.ADMIN_TOKEN,
    sessionMs: e.SESSION_HOURS * 3_600_000,
    oidc:
      e.OIDC_ISSUER !== undefined && e.OIDC_CLIENT_ID !== undefined && e.OIDC_CLIENT_SECRET !== undefined
        ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET, adminEmails: [...new Set(adminEmails)] }
        : undefined,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    allowHttpPublicUrl: e.ALLOW_HTTP_PUBLIC_URL,
    port: e.PORT,
    host: e.HOST,
    syncIntervalMs: e.SYNC_INTERVAL_SECONDS * 1000,
    syncConcurrency: e.SYNC_CONCURRENCY,
    fullSyncIntervalMs: e.FULL_SYNC_INTERVAL_HOURS * 3_600_000,
    feedPastDays: e.FEED_PAST_DAYS,
    defaultDurationMinutes: e.DEFAULT_DURATION_MINUTES,
    feedRefreshMinutes: e.FEED_REFRESH_MINUTES,
    webhookWalkIntervalMs: e.WEBHOOK_WALK_INTERVAL_SECONDS * 1000,
    trustProxy: e.TRUST_PROXY,
    maxConnections: e.MAX_CONNECTIONS,
    feedDefaultDetail: e.FEED_DEFAULT_DETAIL,
    showConfidentialNames: e.SHOW_CONFIDENTIAL_NAMES,
    feedCacheMaxBytes: e.FEED_CACHE_MAX_MB * 1_048_576,
    massRemovalHoldMs: e.MASS_REMOVAL_HOLD_HOURS * 3_600_000,
    dataDir: e.DATA_DIR,
    redis:
      e.REDIS_URL === undefined
        ? undefined
        : { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, timeoutMs: e.REDIS_TIMEOUT_SECONDS * 1000, leaseMs: e.SYNC_LEASE_SECONDS * 1000 },
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
  };
}
