import { writeSync } from 'node:fs';
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

/** How long a log line may wait in memory before it is written, at most. */
const LOG_FLUSH_INTERVAL_MS = 250;
/** Lines joined into one write: about 40 KB of request lines. */
const LOG_BATCH_LINES = 128;

/** Where the service's log lines go: a pino destination that can also be closed before the process exits. */
export interface LogDestination extends DestinationStream {
  /** Hands every held line to the writer and calls back once it is written (pino's `logger.flush`). */
  flush(callback?: (error?: Error) => void): void;
  /** Writes every held line synchronously, as the process ends. */
  flushSync(): void;
  /** Writes out every line held or in flight, then closes; resolves once closed, or after `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Standard output (or `fd`), written asynchronously and in batches: a log line never blocks a request on a slow log
 * collector, and one write carries many lines. Lines are held in an array and joined once per batch; sonic-boom (what
 * pino.destination is) then does the writing, partial writes and EAGAIN included. Handed one line at a time,
 * sonic-boom appends it to a string and measures that string's byte length on every write, which copies the whole
 * pending buffer per line: under load that, and a thread-pool write per few lines, cost more CPU per request than
 * Express's own routing. A line waits at most LOG_FLUSH_INTERVAL_MS, and whatever is held is written when the
 * process exits.
 */
export function createLogDestination(fd = 1): LogDestination {
  // minLength 1, not 0: with 0, sonic-boom's flush(callback) calls back at once instead of once the data is written.
  const sink = pino.destination({ dest: fd, sync: false, minLength: 1 });
  let held: string[] = [];
  let open = true;
  const drain = () => {
    if (held.length === 0) return;
    const batch = held.join('');
    held = [];
    if (open) sink.write(batch); // once closed, lines go nowhere rather than pile up
  };
  const timer = setInterval(drain, LOG_FLUSH_INTERVAL_MS);
  timer.unref();
  sink.once('close', () => {
    open = false;
    held = [];
    clearInterval(timer);
  });
  /*
   * What sonic-boom holds first, then the held lines written here and now: handed to sonic-boom they would start an
   * asynchronous write that its flushSync skips, and that a process on its way out never finishes.
   */
  const flushSync = () => {
    if (!open) return;
    sink.flushSync();
    const batch = held.join('');
    held = [];
    writeAllSync(fd, batch);
  };
  process.once('exit', () => {
    try {
      flushSync();
    } catch {
      // a write still in flight as the process ends: nothing more can be done for it
    }
  });
  return {
    write(line: string) {
      held.push(line);
      if (held.length >= LOG_BATCH_LINES) drain();
    },
    flush(callback = () => {}) {
      drain();
      if (open) sink.flush(callback);
      else callback();
    },
    flushSync,
    /*
     * `logger.flush()` is not enough before `process.exit`: it does not wait for a write already in flight, and the
     * last lines (the ones that say how the process ended) would be lost. Ending the stream waits for them.
     */
    close(timeoutMs = 1_000) {
      return new Promise<void>((resolve) => {
        if (!open) return resolve();
        const deadline = setTimeout(resolve, timeoutMs);
        sink.once('close', () => {
          clearTimeout(deadline);
          resolve();
        });
        drain();
        sink.end();
      });
    },
  };
}

/**
 * Writes `text` to `fd` synchronously, whole: a partial write goes on from where it stopped, and a pipe that is full
 * (EAGAIN, when stdout is non-blocking) is waited for, 10 ms at a time, for at most a second.
 */
function writeAllSync(fd: number, text: string): void {
  let bytes = Buffer.from(text, 'utf8');
  for (let waits = 0; bytes.length > 0; ) {
    try {
      bytes = bytes.subarray(writeSync(fd, bytes));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 100) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
