import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeRedis } from '../helpers/redis-server.js';
import { connectError } from '../helpers/loopback.js';
import { processGone } from '../helpers/replica-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the fixture files whose names contain `filter` in a vitest of their own; resolves with its exit code and output. */
function runFixture(filter: string, env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const vitest = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/helpers-selftest/fixtures/vitest.config.ts', filter], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  vitest.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  vitest.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => vitest.once('close', (code) => resolve({ code, output })));
}

describeRedis('what a test file leaves behind', () => {
  it('nothing: a redis-server and a replica it never stopped are gone once it ends, though its test failed', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'interview-feeds-cleanup-'));
    try {
      const report = join(dir, 'report.json');
      const { code, output } = await runFixture('leaves-processes', { FIXTURE_REPORT: report });
      expect(output).toMatch(/expected 'left running' to be 'stopped'/);
      expect(code).toBe(1);

      const left = JSON.parse(readFileSync(report, 'utf8')) as { redisPid: number; redisPort: number; replicaPid: number; replicaPort: number };
      expect(processGone(left.redisPid)).toBe(true);
      expect(processGone(left.replicaPid)).toBe(true);
      expect(await connectError(left.redisPort)).toBe('ECONNREFUSED');
      expect(await connectError(left.replicaPort)).toBe('ECONNREFUSED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('describeRedis without redis-server', () => {
  it('fails the file under CI, and skips it (saying why) elsewhere', { timeout: 60_000 }, async () => {
    const empty = mkdtempSync(join(tmpdir(), 'interview-feeds-no-redis-'));
    try {
      // PATH without redis-server (vitest needs none of it: it runs its workers with process.execPath).
      const [inCi, outside] = await Promise.all([runFixture('needs-redis', { PATH: empty, CI: 'true' }), runFixture('needs-redis', { PATH: empty, CI: '' })]);
      expect(inCi.output).toMatch(/redis-server is not installed .*; CI must run "a test that needs Redis"/);
      expect(inCi.code).toBe(1);
      expect(outside.output).toMatch(/1 skipped/);
      expect(outside.code).toBe(0);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
