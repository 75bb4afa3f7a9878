/*
 * The real service in a process of its own: loadConfig from the environment, createService, and the server entry's
 * start() with its real HTTP listener, file snapshot store, fetch and clock. Logs go where the parent points this
 * process's stdout (a file), at the level LOG_LEVEL says (info, as in production). The parent drives it over IPC.
 */
import { loadConfig } from '../src/config.js';
import { createService } from '../src/create-service.js';
import { createLogger } from '../src/logger.js';
import { start, type RunningService } from '../src/server.js';
import { memoryAfterGc, serveCommands } from './ipc.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel });
const service = createService(config, logger);
// Instrumentation only: note when a snapshot is published (the moment feeds answer), then do exactly what it did.
const replace = service.feeds.replace.bind(service.feeds);
let publishedAt = 0;
// The moment every configured integration had its first snapshot published (the many-integrations run).
const published = new Set<string>();
let allPublished: () => void = () => {};
const everyPublished = new Promise<void>((resolve) => (allPublished = resolve));
service.feeds.replace = (integrationId, next, changed) => {
  publishedAt = performance.now();
  replace(integrationId, next, changed);
  published.add(integrationId);
  if (published.size === config.kombo.integrationIds.length) allPublished();
};
const baseline = memoryAfterGc();
let running: RunningService | undefined;

serveCommands({
  baseline: () => baseline,
  async start() {
    const started = performance.now();
    const cpu = process.cpuUsage();
    running = await start(config, logger, service);
    const summary = await service.sync.refresh(); // joins the first walk start() began
    const done = performance.now();
    // CPU time to the end of the first walk: on a shared machine a steadier figure than the wall clock.
    const { user, system } = process.cpuUsage(cpu);
    return { url: running.url, readyMs: publishedAt - started, doneMs: done - started, cpuMs: (user + system) / 1000, summary };
  },
  /** Starts, and answers once every integration has a snapshot (and again, via `described`, once Kombo named each). */
  async startMany() {
    const started = performance.now();
    running = await start(config, logger, service);
    await everyPublished;
    return { url: running.url, readyMs: publishedAt - started };
  },
  /** Waits until every integration's `GET /integrations/{id}` has landed in the registry; how long that took. */
  async described() {
    const started = performance.now();
    while (service.registry.list().some((entry) => entry.organization === null)) await new Promise((resolve) => setTimeout(resolve, 20));
    return { ms: performance.now() - started };
  },
  /**
   * Starts and waits for the first walk, which may fail (the million-record row): whether it succeeded, how long it
   * took, and this process's peak RSS so far.
   */
  async walkOnce() {
    const started = performance.now();
    running = await start(config, logger, service);
    try {
      const summary = await service.sync.refresh();
      return { ok: true, ms: performance.now() - started, summary, maxRssMb: process.resourceUsage().maxRSS / 1024 };
    } catch (error) {
      return { ok: false, ms: performance.now() - started, error: error instanceof Error ? error.message : String(error), maxRssMb: process.resourceUsage().maxRSS / 1024 };
    }
  },
  /** Restores what DATA_DIR holds (as start() does first), without walking: how long that took, and memory after. */
  async restore() {
    await service.state.connect(10_000);
    const started = performance.now();
    const restored = await service.restore();
    const ms = performance.now() - started;
    return { restored, ms, memory: memoryAfterGc() };
  },
  async refresh() {
    const started = performance.now();
    const summary = await service.sync.refresh();
    return { ms: performance.now() - started, readyMs: publishedAt - started, summary };
  },
  memory: () => memoryAfterGc(),
  paths(args) {
    return (args.emails as string[]).map(
      (email) => `/feeds/${service.tokens.encode({ integrationId: config.kombo.integrationIds[0]!, email })}.ics`,
    );
  },
  async stop() {
    await running?.stop();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return true;
  },
});
// Exit on the parent's SIGTERM through process.exit, so `--profile` (node --cpu-prof) writes its profile.
process.once('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
