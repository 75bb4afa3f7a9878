import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createService, type Service } from './create-service.js';
import { DEMO_INTERVIEWERS } from './demo/demo-kombo.js';
import { feedLinksFor } from './feeds/feed-links.js';
import { LINK_FETCH_FLUSH_INTERVAL_MS } from './feeds/link-fetches.js';
import { createAppServer } from './http/create-app-server.js';
import { sleep } from './kombo/create-kombo-client.js';
import { createLogDestination, createLogger } from './logger.js';

/** Shutdown finishes well inside the 10 s an orchestrator usually allows before SIGKILL. */
const SHUTDOWN_GRACE_MS = 8_000;
/** How long start-up waits for Redis in replica mode before it gives up (the orchestrator restarts the process). */
export const REDIS_CONNECT_TIMEOUT_MS = 30_000;
/** While connections are refused at MAX_CONNECTIONS, one warning per this long. */
const CONNECTION_CAP_WARNING_INTERVAL_MS = 60_000;

/** How long a client may take to send a request; tests shorten them. */
export interface HttpTimeouts {
  /** The request line and headers arrive within this. */
  headersMs: number;
  /** The whole request, body included, arrives within this: a webhook sent a byte a second is cut off. */
  requestMs: number;
  /** How often Node looks for connections past either timeout (its default, 30 s, would let one live twice as long). */
  checkIntervalMs: number;
}

/** A slow client cannot hold a socket: headers within 15 s, the whole request within 30 s, checked every 5 s. */
export const HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 15_000, requestMs: 30_000, checkIntervalMs: 5_000 };

/** A running service: what `start` returns, so tests can stop it. */
export interface RunningService extends Service {
  server: Server;
  url: string;
  /** Stops accepting connections, lets requests in flight finish, stops timers and any walk. */
  stop(): Promise<void>;
}

/** How long demo links wait, once both companies are walked, for the companies' names their calendars carry. */
const DEMO_NAMES_WAIT_MS = 5_000;

/** Demo mode: once both demo companies are walked, logs each demo interviewer's feed URL in each (printing demo links is the point). */
async function printDemoLinks(service: Service, signal: AbortSignal): Promise<void> {
  while (!signal.aborted && !service.sync.list().every((integration) => integration.engine.hasSnapshot())) {
    await sleep(100, signal).catch(() => {});
  }
  // A company's name is read just after its first walk; the feeds name calendars after it (demo mode serves two),
  // so the links wait a little for it, never for good.
  const unnamed = () => service.sync.list().some((integration) => service.feeds.label(integration.id) === null);
  for (let waited = 0; !signal.aborted && waited < DEMO_NAMES_WAIT_MS && unnamed(); waited += 100) await sleep(100, signal).catch(() => {});
  if (signal.aborted) return;
  for (const integration of service.sync.list()) {
    const snapshot = service.feeds.snapshot(integration.id);
    for (const person of DEMO_INTERVIEWERS) {
      const events = snapshot?.interviewsOf(person.email).length ?? 0;
      if (events === 0) continue;
      const name = `${person.first_name} ${person.last_name}`;
      const organization = integration.entry().organization;
      // Named as the feed itself is named: with the company, since demo mode serves two.
      const calendarName = service.feeds.personCalendarName(integration.id, person.email);
      const links = feedLinksFor({ tokens: service.tokens, publicUrl: service.config.publicUrl }, integration.id, person.email, calendarName);
      service.logger.info(
        { integration: integration.id, organization, interviewer: name, calendarName, events, url: links.url, webcalUrl: links.webcalUrl },
        `demo feed for ${name}${organization ? ` at ${organization}` : ''}: ${links.url}`,
      );
    }
  }
}

/** How start-up retries first walks; tests inject `sleep` so the backoff costs no time. */
export interface StartOptions {
  /** Waits between tries of a first walk; rejects when `signal` aborts (shutdown). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Replaces {@link HTTP_TIMEOUTS} (tests of slow clients). */
  timeouts?: HttpTimeouts;
  /** How often recorded link fetches are written (default {@link LINK_FETCH_FLUSH_INTERVAL_MS}). */
  fetchFlushIntervalMs?: number;
  /** Replica mode: how long start-up waits for Redis (default {@link REDIS_CONNECT_TIMEOUT_MS}). */
  redisConnectTimeoutMs?: number;
}

/** Starts the service: restores the registry and saved snapshots, listens, walks Kombo now and on a schedule. */
export async function start(
  config: Config,
  logger: Logger,
  service = createService(config, logger),
  options: StartOptions = {},
): Promise<RunningService> {
  const stopping = new AbortController();
  const timeouts = options.timeouts ?? HTTP_TIMEOUTS;
  const server = createAppServer(service.app, { connectionsCheckingInterval: timeouts.checkIntervalMs });
  // Deliberate limits: a slow client cannot hold a socket forever, and keep-alive outlives a load balancer's
  // usual 60 s idle timeout so it never reuses a socket we have just closed.
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = 65_000;
  server.maxRequestsPerSocket = 1000;
  // Past the cap Node closes each new connection as it arrives, so held-open connections cannot exhaust memory.
  server.maxConnections = config.maxConnections;
  let capWarning: NodeJS.Timeout | undefined;
  server.on('drop', () => {
    if (capWarning) return;
    logger.warn({ maxConnections: config.maxConnections }, 'connection cap reached (MAX_CONNECTIONS); closing new connections');
    capWarning = setTimeout(() => (capWarning = undefined), CONNECTION_CAP_WARNING_INTERVAL_MS).unref();
  });
  // Requests being answered, so a shutdown can ask each to close its keep-alive connection once answered: Node
  // closes only idle connections, and a busy one would otherwise linger until keepAliveTimeout or the grace ends.
  // Keyed by socket, so the warm path pays one Map write per request and one listener per connection, not per request.
  const answering = new Map<Socket, ServerResponse>();
  server.on('connection', (socket: Socket) => socket.once('close', () => answering.delete(socket)));
  // Prepended, so it runs before the app has written anything.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (stopping.signal.aborted) res.setHeader('Connection', 'close');
    else answering.set(req.socket, res);
  });

  // A shared store (replica mode) holds the registry and snapshots, so it must answer before anything is served.
  let restored: boolean;
  try {
    await service.state.connect(options.redisConnectTimeoutMs ?? REDIS_CONNECT_TIMEOUT_MS);
    restored = await service.restore();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    // Nothing started is left behind: no Redis connection retrying, no timer.
    await service.sync.close().catch(() => {});
    await service.state.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (config.demo) {
    // The first line a newcomer reads is where to look: the admin page opens without a token from this machine.
    const adminPage = `http://localhost:${port}/admin`;
    logger.warn({ adminPage }, `demo mode: open ${adminPage} in a browser on this machine (no KOMBO_API_KEY is set, so bundled demo interviews are served)`);
  }
  logger.info({ host: config.host, port, restored }, 'listening');
  // Nothing to serve yet says how something arrives (the admin page's empty list says it too).
  if (!config.demo && service.sync.list().length === 0) {
    logger.info(
      { integrations: 0, webhooks: config.kombo.webhookSecret !== undefined },
      'no integration is served yet: name one in KOMBO_INTEGRATION_IDS and restart, POST /admin/integrations {"id": "…"} with the admin token, or let Kombo\'s integration-created webhook add it (KOMBO_WEBHOOK_SECRET)',
    );
  }
  // A feature that is off says so once, with the setting that turns it on (the page at /admin says it too).
  if (!config.demo && config.adminToken === undefined) {
    const byOidc = (config.oidc?.adminEmails.length ?? 0) > 0;
    logger.info(
      { adminPage: byOidc ? 'oidc' : 'off', adminApi: 'off' },
      byOidc
        ? 'ADMIN_TOKEN is unset: the admin API (/admin/..., /metrics) is off; the admin page opens by the company sign-in to OIDC_ADMIN_EMAILS'
        : 'ADMIN_TOKEN is unset: the admin page (/admin) and the admin API (/admin/..., /metrics) are off; set ADMIN_TOKEN to turn them on',
    );
  }

  service.sync.start(options.sleep ? { sleep: options.sleep } : {});
  // Who fetched their link is kept in memory and written now and then, never once per feed request.
  const flushFetches = () => service.fetches.flush().catch((error: unknown) => logger.warn({ err: error }, 'cannot save the recorded link fetches'));
  const fetchFlush = setInterval(flushFetches, options.fetchFlushIntervalMs ?? LINK_FETCH_FLUSH_INTERVAL_MS);
  fetchFlush.unref();
  if (config.demo) void printDemoLinks(service, stopping.signal);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping.abort();
      clearTimeout(capWarning);
      clearInterval(fetchFlush);
      for (const res of answering.values()) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Whatever still runs when the grace ends loses its connection, so the process exits in time.
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      try {
        await service.sync.close();
        await closed;
        await flushFetches();
        await service.state.close();
      } finally {
        clearTimeout(force);
      }
    })());

  return { ...service, server, url: `http://127.0.0.1:${port}`, stop };
}

/**
 * The process entry: reads the config (exiting 1 with one line per problem), starts, and stops on SIGTERM/SIGINT.
 * `envFile` names the file the entry read settings from (`.env`), for the log.
 */
export async function main(options: { envFile?: string | undefined } = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }
  const destination = createLogDestination();
  const logger = createLogger({ level: config.logLevel, destination });
  const exit = (code: number) => void destination.close().then(() => process.exit(code));
  if (options.envFile !== undefined) logger.info({ envFile: resolvePath(options.envFile) }, `settings read from ${options.envFile}; a variable set in the environment wins over it`);
  const running = await start(config, logger);
  const onSignal = (signal: NodeJS.Signals) => {
    // stop() closes the listener before its first await, so once this line is out no new connection is accepted.
    const stopped = running.stop();
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1); // the log destination writes what it holds as the process exits
    }, SHUTDOWN_GRACE_MS + 1_500);
    deadline.unref();
    stopped.then(
      () => {
        logger.info('stopped');
        exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
