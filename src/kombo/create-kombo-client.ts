import { linkSignals } from '../link-signals.js';
import { KomboError } from './kombo-error.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, parseRetryAfter, type RetryPolicy } from './retry-policy.js';

/**
 * The most bytes one answer may hold once decoded (fetch inflates gzip, deflate and br). A page of 250 interviews is
 * a few hundred KB (about 3 KB a record with Kombo's `remote_data`); 32 MiB leaves 128 KiB a record, while a body
 * that inflates to gigabytes is cut off long before it can exhaust memory. KOMBO_MAX_RESPONSE_MB sets it.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** The most of an error answer read: Kombo's error JSON is a few hundred bytes, and only its code and message matter. */
export const MAX_ERROR_BODY_BYTES = 16 * 1024;

/** What one Kombo client needs; everything that varies in tests is injectable. */
export interface KomboClientOptions {
  baseUrl: string;
  apiKey: string;
  integrationId: string;
  /** Per attempt: connecting, headers and the whole body must arrive within it. */
  timeoutMs: number;
  /** The most bytes an answer may hold once decoded; {@link DEFAULT_MAX_RESPONSE_BYTES} when absent. */
  maxResponseBytes?: number;
  policy?: RetryPolicy;
  fetch?: typeof globalThis.fetch;
  /** Waits between attempts; tests pass one that resolves at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Told about every retry, for logs and metrics. */
  onRetry?: (info: { error: KomboError; attempt: number; delayMs: number }) => void;
}

/** The parsed JSON of a successful answer, how many attempts it took, and its size once decoded. */
export interface KomboResponse {
  body: unknown;
  attempts: number;
  bytes: number;
}

/** A Kombo API client: authenticated GETs with timeouts and the retry policy. */
export interface KomboClient {
  readonly integrationId: string;
  get(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<KomboResponse>;
}

/** Sleeps `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const utf8 = new TextDecoder();

/**
 * Reads a body whole, or stops as soon as it passes `maxBytes` (counted after decoding) and answers `undefined`:
 * never more than `maxBytes` is held. Unlike `response.text()`, a body that inflates to gigabytes cannot exhaust
 * memory (or pass V8's longest string, which aborts the process).
 */
async function readAtMost(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      // Cancelling the body aborts the request: the connection closes and nothing more is downloaded or inflated.
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

/** Whether the headers already say the body is larger than `maxBytes`; only an unencoded body's length says so. */
function declaredLarger(response: Response, maxBytes: number): boolean {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return false;
  return Number(response.headers.get('content-length')) > maxBytes;
}

/** Reads Kombo's documented error body (`{ status: "error", error: { code, message } }`) when there is one. */
function describeErrorBody(text: string): { code: string | undefined; message: string | undefined } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message.slice(0, 300) : undefined;
    return { code, message };
  } catch {
    return { code: undefined, message: undefined };
  }
}

/**
 * The signal of one attempt: aborted by the caller's `signal` or after `timeoutMs`, whichever comes first; `dispose`
 * once the attempt is over. One timer on {@link linkSignals}: `AbortSignal.timeout` with `AbortSignal.any` cost four
 * times as much per request, and `any` leaves a WeakRef on the caller's signal for each one until that signal is gone.
 */
function abortableAttempt(signal: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const linked = signal ? linkSignals(signal) : linkSignals();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    linked.abort(new DOMException(`The attempt timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  return {
    signal: linked.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      linked.dispose();
    },
  };
}

/** Creates a {@link KomboClient}. */
export function createKomboClient(options: KomboClientOptions): KomboClient {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const doFetch = options.fetch ?? globalThis.fetch;
  const wait = options.sleep ?? sleep;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const headers = {
    Authorization: `Bearer ${options.apiKey}`,
    'X-Integration-Id': options.integrationId,
    Accept: 'application/json',
  };

  async function attemptOnce(
    url: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<{ body: unknown; bytes: number }> {
    const request = { method: 'GET', url };
    const attempt = abortableAttempt(signal, timeoutMs);
    let raw: Uint8Array;
    let response: Response;
    const tooLarge = (what: string) =>
      new KomboError(
        `Kombo answered ${response.status} with ${what}; an answer may hold ${maxBytes.toLocaleString('en')} bytes once decoded (KOMBO_MAX_RESPONSE_MB)`,
        { kind: 'too_large', status: response.status, request },
      );
    try {
      response = await doFetch(url, { headers, signal: attempt.signal });
      // The timeout covers the body too: a server that sends headers and then hangs is a timeout.
      if (!response.ok) {
        raw = (await readAtMost(response.body, MAX_ERROR_BODY_BYTES)) ?? new Uint8Array(0);
      } else {
        if (declaredLarger(response, maxBytes)) {
          await response.body?.cancel().catch(() => {});
          throw tooLarge(`a Content-Length of ${Number(response.headers.get('content-length')).toLocaleString('en')} bytes`);
        }
        const read = await readAtMost(response.body, maxBytes);
        if (read === undefined) throw tooLarge(`a body of more than ${maxBytes.toLocaleString('en')} bytes`);
        raw = read;
      }
    } catch (cause) {
      if (cause instanceof KomboError) throw cause;
      if (signal?.aborted) throw new KomboError('Kombo request aborted', { kind: 'aborted', request, cause });
      if (attempt.timedOut()) {
        throw new KomboError(`Kombo did not answer within ${timeoutMs} ms`, { kind: 'timeout', request, cause });
      }
      const detail = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
      throw new KomboError(`Kombo request failed: ${detail}`, { kind: 'network', request, cause });
    } finally {
      attempt.dispose();
    }
    const text = utf8.decode(raw);
    if (!response.ok) {
      const { code, message } = describeErrorBody(text);
      const error = new KomboError(
        `Kombo answered ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`,
        { kind: 'http', status: response.status, code, request, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now()) },
      );
      throw error;
    }
    try {
      return { body: JSON.parse(text) as unknown, bytes: raw.byteLength };
    } catch (cause) {
      throw new KomboError(`Kombo answered ${response.status} with a body that is not JSON`, {
        kind: 'invalid_json',
        status: response.status,
        request,
        cause,
      });
    }
  }

  return {
    integrationId: options.integrationId,
    async get(path, query, signal) {
      const url = new URL(options.baseUrl + path);
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      const href = url.toString();
      const started = now();
      // The first attempt always gets the whole configured timeout; see below for retries.
      let timeoutMs = options.timeoutMs;
      for (let attempt = 1; ; attempt++) {
        try {
          const { body, bytes } = await attemptOnce(href, signal, timeoutMs);
          return { body, attempts: attempt, bytes };
        } catch (caught) {
          if (!(caught instanceof KomboError)) throw caught;
          if (!isRetryable(caught, policy)) throw caught.givenUp(attempt);
          if (attempt >= policy.maxAttempts) throw caught.givenUp(attempt, `gave up after ${attempt} attempts`);
          const error = caught.givenUp(attempt);
          const retryAfterMs = error.retryAfterMs;
          if (retryAfterMs !== undefined && retryAfterMs > policy.maxDelayMs) {
            throw error.givenUp(attempt, `Retry-After ${Math.ceil(retryAfterMs / 1000)} s is longer than we wait`);
          }
          const delayMs = retryAfterMs ?? backoffDelay(attempt, policy, random);
          // A retry must start before the budget ends, with some of it left to run in.
          if (now() - started + delayMs >= policy.budgetMs) {
            const spent = Math.round((now() - started) / 1000);
            throw error.givenUp(attempt, `gave up after ${attempt} attempts in ${spent} s`);
          }
          options.onRetry?.({ error, attempt, delayMs });
          try {
            await wait(delayMs, signal);
          } catch (cause) {
            throw new KomboError('Kombo request aborted', { kind: 'aborted', request: error.request, cause });
          }
          // A retry runs for what is left of the budget at most, so a hang on the last try cannot stretch a request
          // (and so a refresh that fails) past the budget by up to a whole timeout.
          timeoutMs = Math.min(options.timeoutMs, Math.max(1, policy.budgetMs - (now() - started)));
        }
      }
    },
  };
}
