import { z } from 'zod';

/** The feed secret demo mode uses when none is set: demo data only, so a well-known secret is harmless. */
export const DEMO_FEED_SECRET = 'demo-mode-feed-secret-not-for-production-use';
/** The integration id demo mode uses when none is set. */
export const DEMO_INTEGRATION_ID = 'demo';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Treats an empty variable (`FOO=` in a .env file) as unset, the way people write them. */
const optionalString = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  z.string().optional(),
);

function integer(name: string, min: number, max: number, fallback: number, what = 'a whole number') {
  return z.preprocess(
    (value) => (value === undefined || value === '' ? fallback : Number(value)),
    z
      .number({ error: `${name} must be ${what}` })
      .int({ error: `${name} must be ${what}` })
      .min(min, { error: `${name} must be ${what} from ${min} to ${max}` })
      .max(max, { error: `${name} must be ${what} from ${min} to ${max}` }),
  );
}

function httpUrl(name: string) {
  return z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return url.protocol === 'http:' || url.protocol === 'https:';
        } catch {
          return false;
        }
      },
      { error: `${name} must be an http(s) URL` },
    )
    .transform((value) => value.replace(/\/+$/, ''));
}

const envSchema = z.object({
  NODE_ENV: optionalString,
  KOMBO_API_KEY: optionalString,
  KOMBO_INTEGRATION_ID: optionalString,
  KOMBO_BASE_URL: z.preprocess(
    (value) => (value === undefined || value === '' ? 'https://api.kombo.dev/v1' : value),
    httpUrl('KOMBO_BASE_URL'),
  ),
  KOMBO_TIMEOUT_SECONDS: integer('KOMBO_TIMEOUT_SECONDS', 1, 600, 30, 'a number of seconds'),
  KOMBO_WEBHOOK_SECRET: optionalString,
  FEED_SECRET: optionalString,
  ADMIN_TOKEN: optionalString,
  PUBLIC_URL: z.preprocess((value) => (value === '' ? undefined : value), httpUrl('PUBLIC_URL').optional()),
  PORT: integer('PORT', 0, 65535, 3000, 'a port number'),
  HOST: z.preprocess((value) => (value === undefined || value === '' ? '0.0.0.0' : value), z.string()),
  SYNC_INTERVAL_SECONDS: integer('SYNC_INTERVAL_SECONDS', 10, 86_400, 300, 'a number of seconds'),
  FULL_SYNC_INTERVAL_HOURS: integer('FULL_SYNC_INTERVAL_HOURS', 1, 720, 24, 'a number of hours'),
  FEED_PAST_DAYS: integer('FEED_PAST_DAYS', 0, 3650, 90, 'a number of days'),
  DEFAULT_DURATION_MINUTES: integer('DEFAULT_DURATION_MINUTES', 1, 1440, 60, 'a number of minutes'),
  FEED_REFRESH_MINUTES: integer('FEED_REFRESH_MINUTES', 5, 10_080, 60, 'a number of minutes'),
  DATA_DIR: z.preprocess((value) => (value === undefined || value === '' ? './data' : value), z.string()),
  LOG_LEVEL: z.preprocess(
    (value) => (value === undefined || value === '' ? 'info' : String(value).toLowerCase()),
    z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }),
  ),
});

/** The service's settings, read once at start-up. */
export interface Config {
  /** True when no Kombo key is set: bundled demo interviews are served instead. */
  demo: boolean;
  kombo: {
    apiKey: string;
    integrationId: string;
    baseUrl: string;
    timeoutMs: number;
    webhookSecret: string | undefined;
  };
  feedSecret: string;
  adminToken: string | undefined;
  publicUrl: string;
  port: number;
  host: string;
  syncIntervalMs: number;
  fullSyncIntervalMs: number;
  feedPastDays: number;
  defaultDurationMinutes: number;
  feedRefreshMinutes: number;
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  production: boolean;
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
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'configuration');
      problems.push(issue.message.startsWith(name) ? issue.message : `${name} is invalid: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const demo = e.KOMBO_API_KEY === undefined;

  if (!demo && e.KOMBO_INTEGRATION_ID === undefined) {
    problems.push('KOMBO_INTEGRATION_ID must be set when KOMBO_API_KEY is set');
  }
  if (e.FEED_SECRET === undefined && !demo) {
    problems.push('FEED_SECRET must be set (at least 32 characters) when KOMBO_API_KEY is set');
  } else if (e.FEED_SECRET !== undefined && e.FEED_SECRET.length < 32) {
    problems.push('FEED_SECRET must be at least 32 characters');
  }
  if (e.ADMIN_TOKEN !== undefined && e.ADMIN_TOKEN.length < 16) {
    problems.push('ADMIN_TOKEN must be at least 16 characters');
  }
  if (e.KOMBO_WEBHOOK_SECRET !== undefined && e.KOMBO_WEBHOOK_SECRET.length < 16) {
    problems.push('KOMBO_WEBHOOK_SECRET must be at least 16 characters');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    demo,
    kombo: {
      apiKey: e.KOMBO_API_KEY ?? '',
      integrationId: e.KOMBO_INTEGRATION_ID ?? DEMO_INTEGRATION_ID,
      baseUrl: e.KOMBO_BASE_URL,
      timeoutMs: e.KOMBO_TIMEOUT_SECONDS * 1000,
      webhookSecret: e.KOMBO_WEBHOOK_SECRET,
    },
    feedSecret: e.FEED_SECRET ?? DEMO_FEED_SECRET,
    adminToken: e.ADMIN_TOKEN,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    port: e.PORT,
    host: e.HOST,
    syncIntervalMs: e.SYNC_INTERVAL_SECONDS * 1000,
    fullSyncIntervalMs: e.FULL_SYNC_INTERVAL_HOURS * 3_600_000,
    feedPastDays: e.FEED_PAST_DAYS,
    defaultDurationMinutes: e.DEFAULT_DURATION_MINUTES,
    feedRefreshMinutes: e.FEED_REFRESH_MINUTES,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
  };
}
