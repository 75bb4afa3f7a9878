/*
 * What the benchmark's parts share in the orchestrating process: the clock of the run and its log, medians, one timed
 * GET, and the warm-feed load (wrk when installed, else autocannon) with the load generator and the server under
 * load pinned to cores of their own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus } from 'node:os';

export const WARM_CONNECTIONS = 16;
export const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((path) => existsSync(path));
/*
 * With two or more cores, the load generator runs on one and every server under load on another, each in turn:
 * servers then compete with neither the load generator nor each other, and the same core serves all of them.
 */
export const TASKSET = cpus().length >= 2 ? ['/usr/bin/taskset', '/bin/taskset'].find((path) => existsSync(path)) : undefined;
export const LOAD_CPU = '0';
export const SERVER_CPU = '1';

/** Moves every thread of process `pid` onto the server core (when pinning is possible). */
export function pinToServerCore(pid: number | undefined): void {
  if (TASKSET && pid !== undefined) spawnSync(TASKSET, ['-a', '-p', '-c', SERVER_CPU, String(pid)], { stdio: 'ignore' });
}

/** Lets every thread of process `pid` run on any core again (after {@link pinToServerCore}). */
export function unpin(pid: number | undefined): void {
  if (TASKSET && pid !== undefined) spawnSync(TASKSET, ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(pid)], { stdio: 'ignore' });
}

/** When the run began (this module is loaded first). */
export const began = Date.now();

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
export const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);

export interface Fetched {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  ms: number;
}

/** One GET on a fresh connection (as a calendar client polling every few hours makes it), timed end to end. */
export function get(url: string, headers: Record<string, string> = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) if (typeof value === 'string') flat[key] = value;
        resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks), ms: performance.now() - started });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await get(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return JSON.parse(response.body.toString('utf8')) as T;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; undefined where there is none. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/**
 * Loads GET `url` for `seconds` and measures two things: requests per second as the load generator saw them, and
 * requests per CPU-second of the server process `pid` (its capacity per core). The second is the steadier figure on
 * a shared 2-core machine, where the load generator and other work take turns with the server.
 */
export async function load(url: string, seconds: number, pid?: number): Promise<{ rps: number; perCpuSecond: number }> {
  const before = cpuSeconds(pid);
  const rps = await loadRps(url, seconds);
  const after = cpuSeconds(pid);
  const perCpuSecond = before !== undefined && after !== undefined && after > before ? (rps * seconds) / (after - before) : Number.NaN;
  return { rps, perCpuSecond };
}

/** Requests per second of GET `url` (with Accept-Encoding: gzip, as calendar clients send it) for `seconds`. */
export async function loadRps(url: string, seconds: number): Promise<number> {
  if (WRK) {
    const output = await new Promise<string>((resolve, reject) => {
      const args = ['-t1', `-c${WARM_CONNECTIONS}`, `-d${seconds}s`, '-H', 'Accept-Encoding: gzip', url];
      const command = TASKSET ? [TASKSET, '-c', LOAD_CPU, WRK, ...args] : [WRK, ...args];
      const child: ChildProcess = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('exit', () => resolve(text));
    });
    if (/Non-2xx or 3xx responses/.test(output) || /Socket errors: connect [1-9]/.test(output)) throw new Error(`errors under load:\n${output}`);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
    if (!rps) throw new Error(`cannot read wrk's output:\n${output}`);
    return Number(rps[1]);
  }
  // autocannon has no type declarations; it runs in this process, which serves nothing.
  const moduleName = 'autocannon';
  const autocannon = ((await import(moduleName)) as { default: unknown }).default as (options: Record<string, unknown>) => Promise<{ requests: { average: number }; non2xx: number }>;
  const result = await autocannon({ url, connections: WARM_CONNECTIONS, duration: seconds, headers: { 'accept-encoding': 'gzip' } });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers under load`);
  return result.requests.average;
}
