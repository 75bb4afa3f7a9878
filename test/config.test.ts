import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, DEMO_FEED_SECRET, DEMO_INTEGRATION_ID, loadConfig } from '../src/config.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../src/kombo/create-kombo-client.js';
import { DEFAULT_MAX_PAGES, PAGE_SIZE } from '../src/kombo/paginate-interviews.js';
import { DEFAULT_WALK_CEILING } from '../src/sync/walk-budget.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx/cli');
const SECRET = 'x'.repeat(32);
const MiB = 1024 * 1024;
/** A valid live (non-demo) environment, to vary one variable at a time. */
const LIVE = { KOMBO_API_KEY: 'key', KOMBO_INTEGRATION_ID: 'greenhouse:1', FEED_SECRET: SECRET, PUBLIC_URL: 'https://feeds.example.com' };

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problems(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('loadConfig', () => {
  it('starts in demo mode with every default when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      demo: true,
      kombo: { apiKey: '', integrationIds: [DEMO_INTEGRATION_ID, 'demo-globex'], baseUrl: 'https://api.kombo.dev/v1', timeoutMs: 30_000, webhookSecret: undefined },
      // 8 GiB since history streams through a walk unheld: a million records with remote_data fit (issue 23).
      komboLimits: { maxResponseBytes: 32 * MiB, walkMaxRecords: 250_000, walkMaxBytes: 8192 * MiB },
      feedSecret: DEMO_FEED_SECRET,
      adminToken: undefined,
      sessionMs: 8 * 3_600_000,
      publicUrl: 'http://localhost:3000',
      allowHttpPublicUrl: false,
      port: 3000,
      host: '0.0.0.0',
      syncIntervalMs: 300_000,
      syncConcurrency: 4,
      fullSyncIntervalMs: 24 * 3_600_000,
      feedPastDays: 90,
      defaultDurationMinutes: 60,
      feedRefreshMinutes: 60,
      webhookWalkIntervalMs: 5_000,
      trustProxy: 0,
      maxConnections: 10_000,
      feedDefaultDetail: 'full',
      showConfidentialNames: false,
      feedCacheMaxBytes: 256 * 1_048_576,
      massRemovalHoldMs: 24 * 3_600_000,
      dataDir: './data',
      redis: undefined,
      logLevel: 'info',
      production: false,
    });
  });

  it('treats empty and blank values as unset, and trims the rest', () => {
    const blank = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, name === 'PORT' ? '   ' : '']));
    expect(loadConfig(blank)).toEqual(loadConfig({}));
    const config = loadConfig({ ...LIVE, ADMIN_TOKEN: ' admin-token-0123456789\n', HOST: ' 127.0.0.1 ', PORT: ' 8080 ' });
    expect(config.adminToken).toBe('admin-token-0123456789');
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
  });

  it('refuses a REDIS_URL that is no redis URL without echoing it, and bounds the replica settings', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...LIVE, ...env });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    for (const url of ['http://user:hunter2-secret@redis:6379', 'redis://', 'not a url hunter2-secret']) {
      const found = problems({ REDIS_URL: url });
      expect(found).toEqual(['REDIS_URL must be a redis:// or rediss:// URL with a host, such as redis://redis:6379/0']);
    }
    expect(problems({ REDIS_KEY_PREFIX: 'has space:' })[0]).toMatch(/^REDIS_KEY_PREFIX must be/);
    expect(problems({ SYNC_LEASE_SECONDS: '2' })[0]).toMatch(/^SYNC_LEASE_SECONDS must be a number of seconds from 3 to 600/);
    expect(problems({ REDIS_TIMEOUT_SECONDS: '0' })[0]).toMatch(/^REDIS_TIMEOUT_SECONDS must be/);
    expect(problems({ TRUST_PROXY: '11' })[0]).toMatch(/^TRUST_PROXY must be/);
    expect(loadConfig({ ...LIVE, REDIS_URL: 'redis://127.0.0.1:6379' }).redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'interview-feeds:', timeoutMs: 2_000, leaseMs: 30_000 });
  });

  it('reads every variable of a live configuration', () => {
    const config = loadConfig({
      ...LIVE,
      KOMBO_BASE_URL: 'https://api.us.kombo.dev/v1/',
      KOMBO_TIMEOUT_SECONDS: '12',
      KOMBO_WEBHOOK_SECRET: 'w'.repeat(16),
      KOMBO_MAX_RESPONSE_MB: '64',
      KOMBO_WALK_MAX_RECORDS: '1000000',
      KOMBO_WALK_MAX_MB: '4096',
      ADMIN_TOKEN: 'a'.repeat(16),
      SESSION_HOURS: '12',
      PUBLIC_URL: 'https://feeds.example.com/',
      PORT: '8080',
      HOST: '::',
      SYNC_INTERVAL_SECONDS: '60',
      SYNC_CONCURRENCY: '8',
      FULL_SYNC_INTERVAL_HOURS: '6',
      FEED_PAST_DAYS: '0',
      DEFAULT_DURATION_MINUTES: '45',
      FEED_REFRESH_MINUTES: '15',
      WEBHOOK_WALK_INTERVAL_SECONDS: '30',
      MAX_CONNECTIONS: '20000',
      TRUST_PROXY: '2',
      REDIS_URL: 'rediss://feeds:secret@redis.internal:6380/2',
      REDIS_KEY_PREFIX: 'acme-feeds:',
      REDIS_TIMEOUT_SECONDS: '5',
      SYNC_LEASE_SECONDS: '45',
      FEED_DEFAULT_DETAIL: 'Busy',
      SHOW_CONFIDENTIAL_NAMES: 'TRUE',
      FEED_CACHE_MAX_MB: '64',
      MASS_REMOVAL_HOLD_HOURS: '48',
      DATA_DIR: '/var/lib/interview-feeds',
      LOG_LEVEL: 'WARN',
      NODE_ENV: 'production',
    });
    expect(config).toEqual({
      demo: false,
      kombo: {
        apiKey: 'key',
        integrationIds: ['greenhouse:1'],
        baseUrl: 'https://api.us.kombo.dev/v1',
        timeoutMs: 12_000,
        webhookSecret: 'w'.repeat(16),
      },
      komboLimits: { maxResponseBytes: 64 * MiB, walkMaxRecords: 1_000_000, walkMaxBytes: 4096 * MiB },
      feedSecret: SECRET,
      adminToken: 'a'.repeat(16),
      sessionMs: 12 * 3_600_000,
      publicUrl: 'https://feeds.example.com',
      allowHttpPublicUrl: false,
      port: 8080,
      host: '::',
      syncIntervalMs: 60_000,
      syncConcurrency: 8,
      fullSyncIntervalMs: 6 * 3_600_000,
      feedPastDays: 0,
      defaultDurationMinutes: 45,
      feedRefreshMinutes: 15,
      webhookWalkIntervalMs: 30_000,
      trustProxy: 2,
      maxConnections: 20_000,
      feedDefaultDetail: 'busy',
      showConfidentialNames: true,
      feedCacheMaxBytes: 64 * 1_048_576,
      massRemovalHoldMs: 48 * 3_600_000,
      dataDir: '/var/lib/interview-feeds',
      redis: { url: 'rediss://feeds:secret@redis.internal:6380/2', keyPrefix: 'acme-feeds:', timeoutMs: 5_000, leaseMs: 45_000 },
      logLevel: 'warn',
      production: true,
    });
    expect(loadConfig({ PORT: '4000' }).publicUrl).toBe('http://localhost:4000');
  });

  describe('Kombo credentials', () => {
    it('takes KOMBO_API_KEY without any integration (an empty registry), but no integration without a key', () => {
      expect(problems({ KOMBO_API_KEY: 'key', FEED_SECRET: SECRET, PUBLIC_URL: LIVE.PUBLIC_URL })).toEqual([]);
      expect(loadConfig({ KOMBO_API_KEY: 'key', FEED_SECRET: SECRET, PUBLIC_URL: LIVE.PUBLIC_URL }).kombo.integrationIds).toEqual([]);
      const noKey = 'KOMBO_API_KEY must be set when KOMBO_INTEGRATION_ID or KOMBO_INTEGRATION_IDS is set (leave them all unset for demo mode)';
      expect(problems({ KOMBO_INTEGRATION_ID: 'greenhouse:1' })).toEqual([noKey]);
      expect(problems({ KOMBO_INTEGRATION_IDS: 'greenhouse:1,lever:2' })).toEqual([noKey]);
      expect(problems(LIVE)).toEqual([]);
    });

    it('reads KOMBO_INTEGRATION_IDS comma-separated, KOMBO_INTEGRATION_ID as one more, without repeats or blanks', () => {
      const ids = (env: Record<string, string>) => loadConfig({ KOMBO_API_KEY: 'key', FEED_SECRET: SECRET, PUBLIC_URL: LIVE.PUBLIC_URL, ...env }).kombo.integrationIds;
      expect(ids({ KOMBO_INTEGRATION_IDS: ' greenhouse:1, lever:2 ,,' })).toEqual(['greenhouse:1', 'lever:2']);
      expect(ids({ KOMBO_INTEGRATION_ID: 'lever:2', KOMBO_INTEGRATION_IDS: 'greenhouse:1,lever:2' })).toEqual(['lever:2', 'greenhouse:1']);
      expect(problems({ KOMBO_API_KEY: 'key', FEED_SECRET: SECRET, PUBLIC_URL: LIVE.PUBLIC_URL, KOMBO_INTEGRATION_IDS: `ok,${'x'.repeat(300)}` })[0]).toMatch(
        /^KOMBO_INTEGRATION_IDS holds "x+", which is no integration id/,
      );
      expect(problems({ KOMBO_API_KEY: 'key', FEED_SECRET: SECRET, PUBLIC_URL: LIVE.PUBLIC_URL, SYNC_CONCURRENCY: '0' })).toEqual(['SYNC_CONCURRENCY must be a number of walks from 1 to 64']);
    });

    it('needs FEED_SECRET of at least 32 characters outside demo mode', () => {
      expect(problems({ ...LIVE, FEED_SECRET: undefined })).toEqual([
        'FEED_SECRET must be set (at least 32 characters) when KOMBO_API_KEY is set',
      ]);
      expect(problems({ ...LIVE, FEED_SECRET: 'x'.repeat(31) })).toEqual(['FEED_SECRET must be at least 32 characters']);
      // In demo mode it is optional, but a short one is still refused rather than used.
      expect(problems({ FEED_SECRET: 'short' })).toEqual(['FEED_SECRET must be at least 32 characters']);
      expect(loadConfig({ FEED_SECRET: SECRET }).feedSecret).toBe(SECRET);
    });

    it('needs at least 16 characters in ADMIN_TOKEN and KOMBO_WEBHOOK_SECRET', () => {
      expect(problems({ ADMIN_TOKEN: 'a'.repeat(15) })).toEqual(['ADMIN_TOKEN must be at least 16 characters']);
      expect(problems({ KOMBO_WEBHOOK_SECRET: 'w'.repeat(15) })).toEqual(['KOMBO_WEBHOOK_SECRET must be at least 16 characters']);
      expect(loadConfig({ ADMIN_TOKEN: 'a'.repeat(16), KOMBO_WEBHOOK_SECRET: 'w'.repeat(16) })).toMatchObject({
        adminToken: 'a'.repeat(16),
        kombo: { webhookSecret: 'w'.repeat(16) },
      });
    });
  });

  it.each([
    ['KOMBO_BASE_URL', 'api.kombo.dev/v1'],
    ['KOMBO_BASE_URL', 'ftp://api.kombo.dev/v1'],
    ['KOMBO_BASE_URL', 'https://api.kombo.dev/v1?x=1'],
    ['PUBLIC_URL', 'feeds.example.com'],
    ['PUBLIC_URL', 'https://feeds.example.com/#top'],
  ])('refuses %s=%s: it must be an http(s) URL', (name, value) => {
    expect(problems({ [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name} must be an http\\(s\\) URL`))]);
  });

  it.each([
    ['KOMBO_TIMEOUT_SECONDS', 'a number of seconds from 1 to 600', ['0', '601', 'soon', '1.5']],
    ['PORT', 'a port number from 0 to 65535', ['65536', '-1', 'http', '0x50', '1e3', '80.0']],
    ['SYNC_INTERVAL_SECONDS', 'a number of seconds from 10 to 86400', ['9', '86401', '5m']],
    ['FULL_SYNC_INTERVAL_HOURS', 'a number of hours from 1 to 720', ['0', '721', 'daily']],
    ['FEED_PAST_DAYS', 'a number of days from 0 to 3650', ['-1', '3651', 'ninety']],
    ['DEFAULT_DURATION_MINUTES', 'a number of minutes from 1 to 1440', ['0', '1441', '1h']],
    ['FEED_REFRESH_MINUTES', 'a number of minutes from 5 to 10080', ['4', '10081', 'hourly']],
    ['KOMBO_MAX_RESPONSE_MB', 'a number of MiB from 1 to 256', ['0', '257', '32MB', '0.5']],
    ['KOMBO_WALK_MAX_RECORDS', 'a number of records from 1000 to 2500000', ['999', '2500001', '1e6']],
    ['KOMBO_WALK_MAX_MB', 'a number of MiB from 16 to 16384', ['15', '16385', '1G']],
    ['WEBHOOK_WALK_INTERVAL_SECONDS', 'a number of seconds from 1 to 3600', ['0', '3601', '5s']],
    ['MAX_CONNECTIONS', 'a number of connections from 1 to 1000000', ['0', '1000001', 'many']],
    ['FEED_CACHE_MAX_MB', 'a number of megabytes from 1 to 16384', ['0', '16385', '256MB']],
    ['MASS_REMOVAL_HOLD_HOURS', 'a number of hours from 1 to 720', ['0', '721', '1d']],
  ])('refuses a bad %s, saying it must be %s', (name, expected, values) => {
    for (const value of values) expect(problems({ [name]: value }), `${name}=${value}`).toEqual([`${name} must be ${expected}`]);
  });

  it('accepts the bounds of every number', () => {
    expect(
      loadConfig({ PORT: '0', FEED_PAST_DAYS: '0', SYNC_INTERVAL_SECONDS: '10', KOMBO_TIMEOUT_SECONDS: '600', WEBHOOK_WALK_INTERVAL_SECONDS: '1', MAX_CONNECTIONS: '1', FEED_CACHE_MAX_MB: '1', MASS_REMOVAL_HOLD_HOURS: '1' }),
    ).toMatchObject({
      webhookWalkIntervalMs: 1_000,
      maxConnections: 1,
      feedCacheMaxBytes: 1_048_576,
      massRemovalHoldMs: 3_600_000,
      port: 0,
      feedPastDays: 0,
      syncIntervalMs: 10_000,
      syncConcurrency: 4,
      kombo: { timeoutMs: 600_000 },
    });
    expect(
      loadConfig({
        PORT: '65535',
        FULL_SYNC_INTERVAL_HOURS: '720',
        DEFAULT_DURATION_MINUTES: '1440',
        FEED_REFRESH_MINUTES: '5',
        WEBHOOK_WALK_INTERVAL_SECONDS: '3600',
        MAX_CONNECTIONS: '1000000',
        FEED_CACHE_MAX_MB: '16384',
        MASS_REMOVAL_HOLD_HOURS: '720',
      }),
    ).toMatchObject({
      webhookWalkIntervalMs: 3_600_000,
      maxConnections: 1_000_000,
      feedCacheMaxBytes: 16_384 * 1_048_576,
      massRemovalHoldMs: 720 * 3_600_000,
      port: 65535,
      fullSyncIntervalMs: 720 * 3_600_000,
      defaultDurationMinutes: 1440,
      feedRefreshMinutes: 5,
    });
  });

  it('accepts the bounds of the Kombo limits, and defaults them to the constants the client and the walk fall back on', () => {
    expect(loadConfig({ KOMBO_MAX_RESPONSE_MB: '1', KOMBO_WALK_MAX_RECORDS: '1000', KOMBO_WALK_MAX_MB: '16' }).komboLimits).toEqual({
      maxResponseBytes: MiB,
      walkMaxRecords: 1_000,
      walkMaxBytes: 16 * MiB,
    });
    expect(loadConfig({ KOMBO_MAX_RESPONSE_MB: '256', KOMBO_WALK_MAX_RECORDS: '2500000', KOMBO_WALK_MAX_MB: '16384' }).komboLimits).toEqual({
      maxResponseBytes: 256 * MiB,
      walkMaxRecords: 2_500_000,
      walkMaxBytes: 16_384 * MiB,
    });
    // The walk's record ceiling never allows more than the page cap does.
    expect(2_500_000).toBe(DEFAULT_MAX_PAGES * PAGE_SIZE);
    expect(loadConfig({}).komboLimits).toEqual({
      maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
      walkMaxRecords: DEFAULT_WALK_CEILING.records,
      walkMaxBytes: DEFAULT_WALK_CEILING.bytes,
    });
  });

  it('refuses a HOST that is neither an address nor a host name', () => {
    for (const host of ['http://0.0.0.0', '0.0.0.0:3000', 'my host']) {
      expect(problems({ HOST: host }), host).toEqual([
        'HOST must be an IP address or host name to listen on, such as 0.0.0.0 (all interfaces) or 127.0.0.1',
      ]);
    }
    for (const host of ['127.0.0.1', '::1', 'localhost', 'feeds.internal']) expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('reads DATA_DIR as given', () => {
    expect(loadConfig({ DATA_DIR: '/data' }).dataDir).toBe('/data');
  });

  it('refuses an unknown LOG_LEVEL, naming the allowed ones, and takes any case', () => {
    expect(problems({ LOG_LEVEL: 'verbose' })).toEqual(['LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent']);
    expect(loadConfig({ LOG_LEVEL: 'Debug' }).logLevel).toBe('debug');
  });

  it('reads the OpenID Connect sign-in only with issuer, client id and secret together; http only on loopback', () => {
    const oidc = { OIDC_ISSUER: 'https://login.example.com/', OIDC_CLIENT_ID: 'feeds', OIDC_CLIENT_SECRET: 'client-secret' };
    expect(loadConfig(LIVE).oidc).toBeUndefined();
    // The issuer is kept exactly, trailing slash and all: it is compared byte for byte with the provider's.
    expect(loadConfig({ ...LIVE, ...oidc, OIDC_ADMIN_EMAILS: ' Ada@Example.com, bob@example.com ,' }).oidc).toEqual({
      issuer: 'https://login.example.com/',
      clientId: 'feeds',
      clientSecret: 'client-secret',
      adminEmails: ['ada@example.com', 'bob@example.com'],
    });
    expect(problems({ ...LIVE, OIDC_ISSUER: oidc.OIDC_ISSUER })).toEqual(['OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together (self-service sign-in needs all three)']);
    expect(problems({ ...LIVE, ...oidc, OIDC_ISSUER: 'http://login.example.com' })).toEqual(['OIDC_ISSUER must be https (http only on a loopback address, for local development)']);
    for (const local of ['http://127.0.0.1:4000', 'http://localhost:4000', 'http://[::1]:4000']) expect(loadConfig({ ...LIVE, ...oidc, OIDC_ISSUER: local }).oidc?.issuer).toBe(local);
    expect(problems({ ...LIVE, ...oidc, OIDC_ISSUER: 'ftp://login.example.com' })[0]).toMatch(/^OIDC_ISSUER must be an http\(s\) URL/);
    expect(problems({ ...LIVE, OIDC_ADMIN_EMAILS: 'ada@example.com' })).toEqual(['OIDC_ADMIN_EMAILS needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET']);
    expect(problems({ ...LIVE, ...oidc, OIDC_ADMIN_EMAILS: 'ada' })).toEqual(['OIDC_ADMIN_EMAILS holds "ada", which is no email address']);
  });

  describe('PUBLIC_URL outside demo mode', () => {
    const unset = 'PUBLIC_URL must be set when KOMBO_API_KEY is set: the https address interviewers reach the service at, such as https://feeds.example.com (every feed link is built on it)';
    const plain =
      'PUBLIC_URL must be https: over plain http, feed links and the admin token cross the network in clear text. Use http only on a loopback address, or set ALLOW_HTTP_PUBLIC_URL=true for a private network';

    it('is required: links to localhost would be handed out', () => {
      expect(problems({ ...LIVE, PUBLIC_URL: undefined })).toEqual([unset]);
      expect(problems({ ...LIVE, PUBLIC_URL: '  ' })).toEqual([unset]);
      // Demo mode still defaults it to this machine.
      expect(loadConfig({ PORT: '4000' }).publicUrl).toBe('http://localhost:4000');
    });

    it('must be https, unless its host is loopback or ALLOW_HTTP_PUBLIC_URL=true', () => {
      for (const url of ['http://feeds.example.com', 'http://10.0.0.5:3000', 'HTTP://Feeds.Internal/']) expect(problems({ ...LIVE, PUBLIC_URL: url }), url).toEqual([plain]);
      for (const url of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'https://feeds.example.com']) {
        expect(loadConfig({ ...LIVE, PUBLIC_URL: url }).allowHttpPublicUrl, url).toBe(false);
      }
      const allowed = loadConfig({ ...LIVE, PUBLIC_URL: 'http://feeds.internal:3000', ALLOW_HTTP_PUBLIC_URL: 'TRUE' });
      expect(allowed).toMatchObject({ publicUrl: 'http://feeds.internal:3000', allowHttpPublicUrl: true });
      expect(problems({ ...LIVE, PUBLIC_URL: 'http://feeds.internal', ALLOW_HTTP_PUBLIC_URL: 'false' })).toEqual([plain]);
      expect(problems({ ...LIVE, ALLOW_HTTP_PUBLIC_URL: 'yes' })).toEqual(['ALLOW_HTTP_PUBLIC_URL must be true or false']);
      expect(problems({ ...LIVE, SHOW_CONFIDENTIAL_NAMES: 'maybe' })).toEqual(['SHOW_CONFIDENTIAL_NAMES must be true or false']);
      // Demo mode serves bundled interviews only: any PUBLIC_URL goes.
      expect(loadConfig({ PUBLIC_URL: 'http://demo.example.com' }).publicUrl).toBe('http://demo.example.com');
    });
  });

  it('reports every problem at once, one line each, naming its variable', () => {
    const error = (() => {
      try {
        loadConfig({ KOMBO_API_KEY: 'key', PUBLIC_URL: 'https://feeds.example.com', PORT: 'http', KOMBO_BASE_URL: 'nope', LOG_LEVEL: 'loud', FEED_SECRET: 'short', ADMIN_TOKEN: 'x' });
      } catch (caught) {
        return caught;
      }
      throw new Error('loadConfig accepted a bad configuration');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const { problems: lines, message } = error as ConfigError;
    expect([...lines].sort()).toEqual(
      [
        'ADMIN_TOKEN must be at least 16 characters',
        'FEED_SECRET must be at least 32 characters',
        'KOMBO_BASE_URL must be an http(s) URL without query or fragment, such as https://api.kombo.dev/v1',
        'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
        'PORT must be a port number from 0 to 65535',
      ].sort(),
    );
    for (const line of lines) expect(line).not.toContain('\n');
    expect(message).not.toContain('short'); // a (bad) secret is never echoed back
  });
});

describe('the documented configuration', () => {
  it('lists every variable the schema reads in .env.example, each with a comment and its default', () => {
    const lines = readFileSync(`${root}/.env.example`, 'utf8').split('\n');
    const assigned = lines.flatMap((line, index) => {
      const match = /^([A-Z_][A-Z0-9_]*)=/.exec(line);
      return match ? [{ name: match[1]!, comment: lines[index - 1] ?? '' }] : [];
    });
    expect(assigned.map((a) => a.name).sort()).toEqual([...CONFIG_VARIABLES].sort());
    for (const { name, comment } of assigned) {
      expect(comment, name).toMatch(/^# .*Default: /);
    }
  });

  it('lists every variable the schema reads in docs/configuration.md, one table row each', () => {
    const doc = readFileSync(`${root}/docs/configuration.md`, 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('is a valid configuration as written (demo mode)', () => {
    const env = Object.fromEntries(
      readFileSync(`${root}/.env.example`, 'utf8')
        .split('\n')
        .flatMap((line) => (/^[A-Z_]+=/.test(line) ? [line.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])),
    );
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });
});

describe('the process entry with a bad configuration', () => {
  it('exits 1 naming PUBLIC_URL when a live configuration leaves it unset or plain http', async () => {
    const work = mkdtempSync(join(tmpdir(), 'interview-feeds-public-url-'));
    try {
      const run = (extra: Record<string, string>) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          // A working directory of its own, so no .env of the developer's is read.
          const child = execFile(
            process.execPath,
            [TSX, join(root, 'src/main.ts')],
            { cwd: work, timeout: 30_000, env: { PATH: process.env.PATH, KOMBO_API_KEY: 'key', FEED_SECRET: SECRET, DATA_DIR: work, PORT: '0', ...extra } },
            (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
          );
        });
      const [unset, plain, allowed] = await Promise.all([
        run({}),
        run({ PUBLIC_URL: 'http://feeds.example.com' }),
        run({ PUBLIC_URL: 'http://feeds.example.com', ALLOW_HTTP_PUBLIC_URL: 'true', HOST: 'not a host' }),
      ]);
      expect(unset.code).toBe(1);
      expect(unset.stdout).toBe('');
      expect(unset.stderr.trim()).toBe(
        'config error: PUBLIC_URL must be set when KOMBO_API_KEY is set: the https address interviewers reach the service at, such as https://feeds.example.com (every feed link is built on it)',
      );
      expect(plain.code).toBe(1);
      expect(plain.stdout).toBe('');
      expect(plain.stderr.trim()).toBe(
        'config error: PUBLIC_URL must be https: over plain http, feed links and the admin token cross the network in clear text. Use http only on a loopback address, or set ALLOW_HTTP_PUBLIC_URL=true for a private network',
      );
      // With the setting, only the other (deliberately bad) variable is refused.
      expect(allowed.code).toBe(1);
      expect(allowed.stderr).not.toContain('PUBLIC_URL');
      expect(allowed.stderr).toContain('config error: HOST must be');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);

  it('exits 1 before listening, one stderr line per problem naming its variable', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts'],
        {
          cwd: root,
          timeout: 15_000,
          env: { PATH: process.env.PATH, KOMBO_API_KEY: 'key', PUBLIC_URL: 'https://feeds.example.com', FEED_SECRET: 'too-short', PORT: 'eighty', KOMBO_BASE_URL: 'kombo' },
        },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n').sort()).toEqual(
      [
        'config error: FEED_SECRET must be at least 32 characters',
        'config error: KOMBO_BASE_URL must be an http(s) URL without query or fragment, such as https://api.kombo.dev/v1',
        'config error: PORT must be a port number from 0 to 65535',
      ].sort(),
    );
  });
});
