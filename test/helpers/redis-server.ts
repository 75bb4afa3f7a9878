import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe } from 'vitest';

const REDIS_SERVER = '/usr/bin/redis-server';

/** A real redis-server on a loopback port, with nothing saved to disk. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops it cleanly (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
}

/** A free loopback port (free when asked: redis-server takes it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns redis-server on `port` and resolves once it accepts connections. */
function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start in 10 s:\n${output}`)), 10_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`redis-server exited (${code}):\n${output}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout!.removeAllListeners('data').resume();
        resolve(child);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  });
}

/** Ends `child` with `signal` and waits for it. */
function end(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Starts a redis-server of its own for a test. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined = await spawnRedis(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await end(child, 'SIGTERM');
      child = undefined;
    },
    kill: async () => {
      await end(child, 'SIGKILL');
      child = undefined;
    },
    restart: async () => {
      await end(child, 'SIGTERM');
      child = await spawnRedis(port);
    },
  };
}

/** `describe` where redis-server is installed (and always in CI, where its absence must fail); skipped elsewhere. */
export const describeRedis = existsSync(REDIS_SERVER) || process.env.CI ? describe : describe.skip;
