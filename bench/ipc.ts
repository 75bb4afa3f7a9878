/* What the benchmark's processes share: the fake's credentials, and a tiny request/answer protocol over IPC. */
import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What bench/fake-kombo-child.ts reports once it listens: where, and what it serves. */
export interface FakeReady {
  baseUrl: string;
  controlUrl: string;
  records: number;
  listed: number;
  interviewers: number;
  fullWalkBytes: number;
}

export const BENCH_API_KEY = 'bench-kombo-api-key';
export const BENCH_INTEGRATION_ID = 'greenhouse:bench';
/** The ids of the many-integrations run: `bench:0000`, `bench:0001`, … */
export const benchIntegrationIds = (count: number): string[] => Array.from({ length: count }, (_, i) => `bench:${String(i).padStart(4, '0')}`);
export const BENCH_FEED_SECRET = 'bench-feed-secret-that-is-long-enough-0123456789';
/** KOMBO_WEBHOOK_SECRET of the replicas run: the parent signs its data-changed webhooks with it. */
/**
 * The environment every service process of the bench starts with (the fake Kombo at `komboBaseUrl`, its own
 * `dataDir`, on a free loopback port, every walk asked for by the bench itself); `extra` adds to it.
 */
export function benchServiceEnv(komboBaseUrl: string, dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    KOMBO_API_KEY: BENCH_API_KEY,
    KOMBO_INTEGRATION_ID: BENCH_INTEGRATION_ID,
    KOMBO_BASE_URL: komboBaseUrl,
    FEED_SECRET: BENCH_FEED_SECRET,
    // Required outside demo mode; loopback, where every bench process listens (feed links are only decoded here).
    PUBLIC_URL: 'http://127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    SYNC_INTERVAL_SECONDS: '86400',
    ...extra,
  };
}

export const BENCH_WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';

/** Starts `bench/{script}` under tsx (with gc exposed) and waits for its first `ready` message. */
export async function startChild<Ready>(
  script: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; stdout?: 'inherit' | 'ignore' | number; execArgv?: string[] } = {},
): Promise<{ child: ChildProcess; ready: Ready }> {
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'];
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
    execArgv: ['--import', 'tsx', '--expose-gc', ...(options.execArgv ?? [])],
    env: options.env ?? process.env,
    stdio,
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${script} exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as Ready);
    });
  });
  return { child, ready };
}

let nextId = 0;

/** Sends a command to a child started with {@link startChild} and waits for its answer. */
export function call<T>(child: ChildProcess, cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  const id = ++nextId;
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { id?: number; result?: T; error?: string }) => {
      if (message.id !== id) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.result as T);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) during ${cmd}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ id, cmd, ...args });
  });
}

/** In a child: answers {@link call}s with `handlers`. */
export function serveCommands(handlers: Record<string, (args: Record<string, unknown>) => Promise<unknown> | unknown>): void {
  process.on('message', (message: { id: number; cmd: string } & Record<string, unknown>) => {
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.cmd}`);
        return handler(message);
      })
      .then(
        (result) => process.send?.({ id: message.id, result }),
        (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Stops a child and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/** Memory of this process after two full collections, in MB. */
export function memoryAfterGc(): { rssMb: number; heapUsedMb: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / 2 ** 20, heapUsedMb: usage.heapUsed / 2 ** 20 };
}
