import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths scrubbed from every log line, whatever logs them: credentials and feed tokens must never reach a log
 * stack. (Nothing in the code logs them; this is the net under that rule.)
 */
export const REDACTED_PATHS = [
  'apiKey',
  'feedSecret',
  'adminToken',
  'webhookSecret',
  'token',
  'feedToken',
  'authorization',
  '*.apiKey',
  '*.feedSecret',
  '*.adminToken',
  '*.webhookSecret',
  '*.token',
  '*.feedToken',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-kombo-signature"]',
  'config.kombo.apiKey',
  'config.kombo.webhookSecret',
];

/**
 * A logger for lines whose fields are all flat (strings, numbers, booleans), as the one line per request is. The
 * `*.x` paths only ever match inside a nested object, so leaving them out writes the very same line; they are what
 * makes pino's redaction slow (over 20 µs a line here, more than Express spends on the request), since a leading
 * wildcard sends every line through a generic copy-and-stringify.
 */
export function flatLineLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: REDACTED_PATHS.filter((path) => !path.startsWith('*')), censor: '[redacted]' } });
}

/** pino's isoTime, formatting each millisecond once: under load many lines share one, and formatting is not free. */
function isoTimeOncePerMillisecond(): () => string {
  let lastMs = -1;
  let formatted = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

/** Creates the JSON logger: one object per line, with `level` as a word, time as ISO 8601. */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'interview-feeds' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: isoTimeOncePerMillisecond(),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    options.destination ?? createLogDestination(),
  );
}

/** How long a log line may wait in the buffer before it is written, at most. */
const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * Standard output, written asynchronously and in batches: a log line never blocks a request on a slow log collector,
 * and one write carries many lines. Written one by one, each line cost a write through libuv's thread pool, about
 * 50 µs of CPU per request here, more than Express's own routing; batched, that cost is shared by the lines of a
 * batch. A line waits at most LOG_FLUSH_INTERVAL_MS, and whatever is buffered is written when the process exits.
 */
export function createLogDestination(): ReturnType<typeof pino.destination> {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  let open = true;
  const timer = setInterval(() => {
    if (open) destination.flush();
  }, LOG_FLUSH_INTERVAL_MS);
  timer.unref();
  destination.once('close', () => {
    open = false;
    clearInterval(timer);
  });
  process.once('exit', () => {
    try {
      if (open) destination.flushSync();
    } catch {
      // a write still in flight as the process ends: nothing more can be done for it
    }
  });
  return destination;
}

/**
 * Writes out every line still buffered or in flight, then closes the destination. `logger.flush()` is not enough
 * before `process.exit`: it does not wait for a write already in flight, and the last lines (the ones that say how
 * the process ended) are lost.
 */
export function closeLogDestination(destination: ReturnType<typeof pino.destination>, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    destination.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    destination.end();
  });
}
