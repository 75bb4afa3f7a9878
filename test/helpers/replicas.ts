import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createService } from '../../src/create-service.js';
import { DEFAULT_RETRY_POLICY } from '../../src/kombo/retry-policy.js';
import { start, type RunningService } from '../../src/server.js';
import type { FakeKombo } from './fake-kombo.js';
import { captureLogger, testEnv, type CapturedLogs } from './test-service.js';

/** A replica of the service in this process: the real server entry on a loopback port, sharing `redisUrl`. */
export type InProcessReplica = RunningService & { logs: CapturedLogs; dataDir: string };

const dirs: string[] = [];

/**
 * Starts the real service (server entry, timers and all) with REDIS_URL, against `fake`, on 127.0.0.1 and a free
 * port, with the fake's clock as `now` (or the real one: schedules that must move), zero retry delays and its own empty DATA_DIR.
 */
export async function startInProcessReplica(
  fake: FakeKombo,
  redisUrl: string,
  env: Record<string, string> = {},
  options: { realClock?: boolean } = {},
): Promise<InProcessReplica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'replica-'));
  dirs.push(dataDir);
  const config = loadConfig(
    testEnv(fake, {
      REDIS_URL: redisUrl,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      SYNC_INTERVAL_SECONDS: '3600',
      SYNC_LEASE_SECONDS: '3',
      REDIS_TIMEOUT_SECONDS: '1',
      WEBHOOK_WALK_INTERVAL_SECONDS: '1',
      ...env,
    }),
  );
  const { logger, logs } = captureLogger();
  const service = createService(config, logger, {
    now: options.realClock ? Date.now : () => fake.clock,
    sleep: async () => {},
    policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 },
    timeoutMs: 2_000,
  });
  const running = await start(config, logger, service, { sleep: async () => {} });
  return { ...running, logs, dataDir };
}

/** Removes the replicas' data directories (call after stopping them). */
export function removeReplicaDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
