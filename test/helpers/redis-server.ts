import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { freePort } from './loopback.js';

/** Debian's redis-server (7.0), which `.ci/run` installs; found on PATH like `command -v redis-server`. */
export const REDIS_SERVER = 'redis-server';
/** How long a started redis-server may take to answer PING (it takes milliseconds; a loaded CI machine, longer). */
export const REDIS_START_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL (without persistence redis exits at once). */
export const REDIS_STOP_TIMEOUT_MS = 5_000;
/** Free ports tried when redis-server cannot bind the one found (another process took it in between). */
export const REDIS_PORT_ATTEMPTS = 5;

/** True when CI is set: a missing redis-server must fail the Redis tests there, never skip them. */
const inCi = !['', '0', 'false'].includes((process.env.CI ?? '').trim().toLowerCase());

/** Whether redis-server runs here. */
export const redisAvailable: boolean = (() => {
  const result = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore', timeout: 5_000 });
  return result.error === undefined && result.status === 0;
})();

const MISSING = `${REDIS_SERVER} is not installed (Debian: apt-get install redis-server; .ci/run installs it)`;

/**
 * `describe` for tests that need redis-server: skipped on a developer machine without it, but under CI it throws, so
 * the Redis tests never pass silently by not running.
 */
export function describeRedis(name: string, body: () => void): void {
  if (redisAvailable) describe(name, body);
  else if (inCi) throw new Error(`${MISSING}; CI must run "${name}"`);
  else describe.skip(`${name} (${REDIS_SERVER} is not installed)`, body);
}

/** A redis-server of a test's own, on a loopback port, with no persistence. */
export interface RedisServer {
  /** `redis://127.0.0.1:{port}`, for REDIS_URL. */
  readonly url: string;
  readonly port: number;
  /** The running process's id (it changes on `restart()`); undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL (Redis dies as if its machine did), then waits for the process to exit. */
  kill(): Promise<void>;
  /** Stops it (if it runs) and starts a new, empty one on the same port: Redis lost its data. */
  restart(): Promise<void>;
}

interface RedisProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Every redis-server started in this test file; all are killed when the file ends, or when the process exits. */
const running = new Set<ChildProcess>();
const dirs = new Set<string>();

afterAll(async () => {
  await Promise.all([...running].map((child) => killAndWait(child)));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
});
// The net under afterAll: a worker that exits (or fails) in between still leaves no redis-server behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function killAndWait(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  child.kill('SIGKILL');
  return exited;
}


/**
 * The process id of the redis-server answering on `port`, or undefined when none answers: asked with an inline
 * `INFO server`, so a server that is not ours (one that took the port first) is told apart from ours.
 */
function answeringPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('close', () => done(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (!answer.startsWith('$')) {
        done(undefined); // an error (still loading) or not Redis at all
        return;
      }
      const match = /\r\nprocess_id:(\d+)\r\n/.exec(answer);
      if (match) done(Number(match[1]));
    });
  });
}

class BindError extends Error {}

/** Spawns redis-server on `port` and resolves once it answers PING; rejects with its output if it exits first. */
async function spawnRedis(port: number, dir: string): Promise<RedisProcess> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    // Only the last few KB: enough to say why it did not start.
    output = (output + chunk.toString('utf8')).slice(-4_096);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let hasExited = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      hasExited = true;
      running.delete(child);
      resolve();
    }),
  );
  const spawnError = new Promise<Error>((resolve) =>
    child.once('error', (error) => {
      running.delete(child);
      resolve(error);
    }),
  );
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  for (;;) {
    if (child.pid !== undefined && (await answeringPid(port)) === child.pid) return { child, exited };
    const failed = await Promise.race([spawnError, exited.then(() => undefined), new Promise<null>((resolve) => setTimeout(() => resolve(null), 20))]);
    if (failed instanceof Error) throw new Error(`cannot start ${REDIS_SERVER}: ${failed.message}`);
    if (hasExited) {
      if (/Address already in use/i.test(output)) throw new BindError(`port ${port} is taken`);
      throw new Error(`${REDIS_SERVER} on port ${port} exited before answering PING:\n${output}`);
    }
    if (Date.now() > deadline) {
      await killAndWait(child);
      throw new Error(`${REDIS_SERVER} on port ${port} did not answer PING within ${REDIS_START_TIMEOUT_MS} ms:\n${output}`);
    }
  }
}

/**
 * Starts a redis-server of the test's own on a free loopback port, without persistence (`--save '' --appendonly no`),
 * and resolves once it answers PING. Every one started is killed when the test file ends.
 */
export async function startRedis(): Promise<RedisServer> {
  if (!redisAvailable) throw new Error(inCi ? `${MISSING}; CI must run the Redis tests` : `${MISSING}; wrap Redis tests in describeRedis to skip them here`);
  const dir = mkdtempSync(join(tmpdir(), 'interview-feeds-redis-'));
  dirs.add(dir);
  let current: RedisProcess | undefined;
  let port = 0;
  for (let attempt = 1; current === undefined; attempt++) {
    port = await freePort();
    try {
      current = await spawnRedis(port, dir);
    } catch (error) {
      if (!(error instanceof BindError) || attempt >= REDIS_PORT_ATTEMPTS) throw error;
    }
  }

  async function end(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const proc = current;
    current = undefined;
    if (proc === undefined) return;
    proc.child.kill(signal);
    if (signal === 'SIGTERM') {
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), REDIS_STOP_TIMEOUT_MS);
      await proc.exited;
      clearTimeout(timer);
    } else {
      await proc.exited;
    }
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current?.child.pid;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGTERM');
      // The same port, so every client's REDIS_URL still points here. Redis sets SO_REUSEADDR, so the port is free
      // at once; another process may still take it in between, which a few tries ride out.
      for (let attempt = 1; current === undefined; attempt++) {
        try {
          current = await spawnRedis(port, dir);
        } catch (error) {
          if (!(error instanceof BindError) || attempt >= REDIS_PORT_ATTEMPTS) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
  };
}
