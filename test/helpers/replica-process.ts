import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** How long a replica may take to log `listening` (tsx compiles the sources first: seconds on a loaded machine). */
export const REPLICA_START_TIMEOUT_MS = 15_000;
/** How long `waitForLog` waits by default. */
export const REPLICA_LOG_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM: past the service's own shutdown deadline (8 s grace, then 1.5 s). */
export const REPLICA_STOP_TIMEOUT_MS = 12_000;
/** Log lines kept per replica (the oldest go first), so a long test cannot fill the worker's memory. */
export const REPLICA_MAX_LOG_LINES = 100_000;

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One line a replica wrote: its pino JSON object, or `{ stream, text }` for a line that is not JSON (a crash). */
export type ReplicaLogLine = Record<string, unknown>;

/** How a replica's process ended. */
export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The real service (`src/main.ts`) in a child process of its own, as one replica of a deployment. */
export interface Replica {
  /** `http://127.0.0.1:{port}`. */
  readonly url: string;
  readonly port: number;
  /** The node process that runs the service (no wrapper stands between it and a signal). */
  readonly pid: number;
  /** Every line written so far, stdout and stderr, in order. */
  logs(): ReplicaLogLine[];
  /** Resolves with the first line (already written or to come) that matches; rejects on timeout or exit. */
  waitForLog(predicate: (line: ReplicaLogLine) => boolean, timeoutMs?: number): Promise<ReplicaLogLine>;
  /** Resolves once the process has exited, however it ended. */
  readonly exited: Promise<ReplicaExit>;
  /** SIGTERM, as an orchestrator stops it; resolves once it has exited (SIGKILL and a rejection past the timeout). */
  stop(): Promise<ReplicaExit>;
  /** SIGKILL, as a crash or a lost machine: resolves once it and every process it started are gone. */
  kill(): Promise<void>;
}

/** Replicas started in this test file and not yet ended; all are killed when the file ends or the process exits. */
const live = new Set<Replica>();
const dirs = new Set<string>();

afterAll(async () => {
  await Promise.all([...live].map((replica) => replica.kill()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
});
process.once('exit', () => {
  for (const replica of live) {
    try {
      process.kill(replica.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Linux: the fields of /proc/{pid}/stat after the command name (which may hold spaces and parentheses). */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The processes `pid` started, and theirs: under tsx the service runs esbuild's compiler as children, which must
 * not outlive a killed replica. Empty where /proc is missing.
 */
export function descendantsOf(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const parent = Number(procStat(Number(entry))?.[1]);
    if (!Number.isInteger(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Whether `pid` no longer runs: gone, or a zombie (an orphan whose reaping is up to PID 1, not us). */
export function processGone(pid: number): boolean {
  const stat = procStat(pid);
  if (stat !== undefined) return stat[0] === 'Z';
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}


async function waitUntilGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => !processGone(pid))) {
    if (Date.now() > deadline) throw new Error(`processes ${pids.filter((pid) => !processGone(pid)).join(', ')} still run`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function killQuietly(pid: number): void {
  try {
    if (!processGone(pid)) process.kill(pid, 'SIGKILL');
  } catch {
    // gone in between
  }
}

/**
 * Starts the service as a replica: `node --import tsx src/main.ts` with only `env` (plus PATH), listening on
 * 127.0.0.1 on a port of its own choosing (PORT=0; read from its `listening` log line), with a private DATA_DIR
 * unless `env` names one. Resolves once it listens; rejects with what it wrote if it exits or hangs first.
 */
export async function startReplica(env: Record<string, string | undefined>): Promise<Replica> {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) childEnv[name] = value;
  if (childEnv.DATA_DIR === undefined) {
    childEnv.DATA_DIR = mkdtempSync(join(tmpdir(), 'interview-feeds-replica-'));
    dirs.add(childEnv.DATA_DIR);
  }
  // `--import tsx` loads the TypeScript hooks into this very node process: a signal sent to `pid` reaches the
  // service itself, not a wrapper (as `tsx src/main.ts` would put in between).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: ReplicaLogLine[] = [];
  const waiters = new Set<{ predicate: (line: ReplicaLogLine) => boolean; resolve: (line: ReplicaLogLine) => void }>();
  const add = (line: ReplicaLogLine) => {
    lines.push(line);
    if (lines.length > REPLICA_MAX_LOG_LINES) lines.shift();
    for (const waiter of waiters) {
      if (!waiter.predicate(line)) continue;
      waiters.delete(waiter);
      waiter.resolve(line);
    }
  };
  const readLines = (stream: 'stdout' | 'stderr', source: NodeJS.ReadableStream) => {
    let buffered = '';
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      const parts = (buffered + chunk).split('\n');
      buffered = parts.pop()!;
      for (const text of parts) {
        if (text === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        add(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ReplicaLogLine) : { stream, text });
      }
    });
    source.on('end', () => {
      if (buffered !== '') add({ stream, text: buffered });
    });
  };
  readLines('stdout', child.stdout!);
  readLines('stderr', child.stderr!);

  // `exit` comes when the process has ended; `close` once its output is read to the end as well (the lines a crash
  // wrote last are in the logs by then). esbuild inherits the service's stderr, so `close` may wait on it too.
  let exit: ReplicaExit | undefined;
  const processExited = new Promise<ReplicaExit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exit = { code, signal })));
    child.once('error', () => resolve((exit = { code: null, signal: null })));
  });
  const exited = new Promise<ReplicaExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const tail = () =>
    lines
      .slice(-20)
      .map((line) => (typeof line.text === 'string' ? line.text : JSON.stringify(line)))
      .join('\n');

  function waitForLog(predicate: (line: ReplicaLogLine) => boolean, timeoutMs = REPLICA_LOG_TIMEOUT_MS): Promise<ReplicaLogLine> {
    const seen = lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (line: ReplicaLogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`replica ${child.pid} logged no matching line within ${timeoutMs} ms; its last lines:\n${tail()}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((how) => {
        if (!waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`replica ${child.pid} exited (${how.signal ?? `code ${how.code}`}) before a matching line; its last lines:\n${tail()}`));
      });
    });
  }

  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    throw new Error(`cannot start the replica: ${process.execPath} did not run`);
  }

  // Captured before the signal: once the service is gone its children belong to PID 1 and cannot be found.
  async function end(signal: 'SIGTERM' | 'SIGKILL', timeoutMs: number): Promise<ReplicaExit> {
    const descendants = exit === undefined ? descendantsOf(pid!) : [];
    if (exit === undefined) child.kill(signal);
    if (signal === 'SIGKILL') for (const other of descendants) killQuietly(other);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const how = await processExited;
    clearTimeout(timer);
    live.delete(replica);
    // The compiler service ends when its pipe closes; whatever still runs now was the service's and goes too.
    for (const other of descendants) killQuietly(other);
    await waitUntilGone([pid!, ...descendants], 5_000);
    // Bounded: a process we do not know of holding its pipes (an orphan of a wrapper) must not hang the test file.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    if (signal === 'SIGTERM' && how.signal === 'SIGKILL') throw new Error(`replica ${pid} did not stop within ${timeoutMs} ms of SIGTERM; its last lines:\n${tail()}`);
    return how;
  }

  let port = 0;
  const replica: Replica = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    pid,
    logs: () => [...lines],
    waitForLog,
    exited,
    stop: () => end('SIGTERM', REPLICA_STOP_TIMEOUT_MS),
    async kill() {
      await end('SIGKILL', 0);
    },
  };
  live.add(replica);

  try {
    const listening = await waitForLog((line) => line.msg === 'listening', REPLICA_START_TIMEOUT_MS);
    port = Number(listening.port);
  } catch (error) {
    await replica.kill();
    throw error;
  }
  return replica;
}
