import request from 'supertest';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createService, type Service, type ServiceOverrides } from '../../src/create-service.js';
import type { SnapshotStore } from '../../src/interviews/snapshot-store.js';
import { DEFAULT_RETRY_POLICY } from '../../src/kombo/retry-policy.js';
import { createLogger } from '../../src/logger.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import type { FakeKombo } from './fake-kombo.js';

export const FEED_SECRET = 'test-feed-secret-that-is-long-enough-0123456789';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
export const PUBLIC_URL = 'https://feeds.example.com';

/** The environment a test service runs with, pointed at `fake`. */
export function testEnv(fake: FakeKombo, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    KOMBO_API_KEY: fake.apiKey,
    KOMBO_INTEGRATION_ID: fake.integrationId,
    KOMBO_BASE_URL: fake.baseUrl,
    FEED_SECRET,
    ADMIN_TOKEN,
    KOMBO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PUBLIC_URL,
    LOG_LEVEL: 'debug',
    ...extra,
  };
}

/** Log lines a test service wrote, parsed; `raw` keeps the exact text to search for secrets. */
export interface CapturedLogs {
  lines: Record<string, unknown>[];
  raw: string[];
}

/** A logger writing JSON lines into memory instead of stdout. */
export function captureLogger(level = 'debug') {
  const logs: CapturedLogs = { lines: [], raw: [] };
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        logs.raw.push(line);
        logs.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { logger: createLogger({ level, destination }), logs };
}

/**
 * The one way tests build the whole service: from a `Config`, with the state bundle that config chooses (files under
 * DATA_DIR, or Redis with REDIS_URL) unless `overrides.state` gives one (memory, say), a captured logger, and zero
 * retry delays. Tests that need the server entry pass the result to `start()`.
 */
export function buildService(config: Config, overrides: ServiceOverrides = {}): Service & { logs: CapturedLogs } {
  const { logger, logs } = captureLogger();
  const service = createService(config, logger, {
    sleep: async () => {},
    policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 },
    ...overrides,
  });
  return { ...service, logs };
}

/**
 * The real service pointed at a fake Kombo ({@link buildService}): every store in memory unless `overrides.state`
 * says otherwise, the fake's clock as `now` (tests move time by setting `fake.clock`), and short Kombo timeouts.
 */
export function buildTestService(
  fake: FakeKombo,
  options: { env?: Record<string, string | undefined>; overrides?: ServiceOverrides; config?: Partial<Config> } = {},
): Service & { logs: CapturedLogs; store: SnapshotStore } {
  const config = { ...loadConfig(testEnv(fake, options.env)), ...options.config };
  const state = options.overrides?.state ?? createMemoryState();
  const service = buildService(config, { now: () => fake.clock, timeoutMs: 300, ...options.overrides, state });
  return { ...service, store: state.snapshots };
}

/** The feed path (`/feeds/{token}.ics`) of `email` in `integrationId` (by default the one the configuration names first). */
export function feedPath(service: Service, email: string, integrationId = service.config.kombo.integrationIds[0]!): string {
  return `/feeds/${service.tokens.encode({ integrationId, email })}.ics`;
}

/** The exact bytes of an interviewer's feed as a calendar client downloads them (asserting a 200). */
export async function feedBytes(service: Service, email: string): Promise<Buffer> {
  const res = await request(service.app)
    .get(feedPath(service, email))
    .buffer(true)
    .parse((response, callback) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => callback(null, Buffer.concat(chunks)));
    })
    .expect(200);
  return res.body as Buffer;
}
