/*
 * One replica of the service in a process of its own (or, without REDIS_URL, an embedded service), for the replica
 * measurements: loadConfig from the environment, createService, and the server entry's start(), as in production.
 * Unlike service-child it asks for no refresh at start: a replica that finds a snapshot in Redis serves it without
 * walking. It notes when each snapshot is swapped in, in epoch milliseconds (comparable between processes), so the
 * parent can time how long a replica takes to take in what another one published.
 */
import { loadConfig } from '../src/config.js';
import { createService } from '../src/create-service.js';
import { createLogger } from '../src/logger.js';
import { start, type RunningService } from '../src/server.js';
import { writeHeapSnapshot } from 'node:v8';
import { memoryAfterGc, serveCommands } from './ipc.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel });
const service = createService(config, logger);
const integrationId = config.kombo.integrationIds[0]!;
const epochMs = () => performance.timeOrigin + performance.now();
// Instrumentation only: note when a snapshot is swapped in (the moment feeds serve it), then do exactly what it did.
const swappedAt: number[] = [];
let swapped: () => void = () => {};
const replace = service.feeds.replace.bind(service.feeds);
service.feeds.replace = (id, next, changed) => {
  replace(id, next, changed);
  swappedAt.push(epochMs());
  swapped();
};
let running: RunningService | undefined;

serveCommands({
  /** Starts, and answers once the integration is served (walked here, or taken in from Redis). */
  async start() {
    const started = performance.now();
    running = await start(config, logger, service);
    while (!service.sync.ready()) await new Promise((resolve) => setTimeout(resolve, 10));
    const engine = service.sync.get(integrationId)!.engine;
    return { url: running.url, readyMs: performance.now() - started, walked: engine.status().lastSuccess?.walkedElsewhere !== true };
  },
  /** How many snapshots were swapped in so far. */
  swaps: () => swappedAt.length,
  /** Waits for swap number `count + 1` (at most `timeoutMs`); when it happened, in epoch ms. */
  async swapAfter(args) {
    const count = Number(args.count);
    const deadline = Date.now() + Number(args.timeoutMs ?? 30_000);
    while (swappedAt.length <= count) {
      if (Date.now() > deadline) throw new Error(`no snapshot was swapped in within ${String(args.timeoutMs)} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        swapped = () => (clearTimeout(timer), resolve());
      });
    }
    return swappedAt[count]!;
  },
  /** Refreshes now (this replica walks, unless another replica's walk already brought what it would). */
  async refresh() {
    const started = performance.now();
    const summary = await service.sync.refresh();
    return { ms: performance.now() - started, summary };
  },
  memory: () => memoryAfterGc(),
  /** Writes a heap snapshot after a forced GC to `path` (the soak compares two taken some time apart). */
  heapSnapshot(args) {
    memoryAfterGc();
    return writeHeapSnapshot(String(args.path));
  },
  paths(args) {
    return (args.emails as string[]).map((email) => `/feeds/${service.tokens.encode({ integrationId, email })}.ics`);
  },
  async stop() {
    await running?.stop();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return true;
  },
});
process.once('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
