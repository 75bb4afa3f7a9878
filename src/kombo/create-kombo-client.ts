import { KomboError } from './kombo-error.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, parseRetryAfter, type RetryPolicy } from './retry-policy.js';

/** What one Kombo client needs; everything that varies in tests is injectable. */
export interface KomboClientOptions {
  baseUrl: string;
  apiKey: string;
  integrationId: string;
  /** Per attempt: connecting, headers and the whole body must arrive within it. */
  timeoutMs: number;
  policy?: RetryPolicy;
  fetch?: typeof globalThis.fetch;
  /** Waits between attempts; tests pass one that resolves at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Told about every retry, for logs and metrics. */
  onRetry?: (info: { error: KomboError; attempt: number; delayMs: number }) => void;
}

/** The parsed JSON of a successful answer and how many attempts it took. */
export interface KomboResponse {
  body: unknown;
  attempts: number;
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

/** Creates a {@link KomboClient}. */
export function createKomboClient(options: KomboClientOptions): KomboClient {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const doFetch = options.fetch ?? globalThis.fetch;
  const wait = options.sleep ?? sleep;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const headers = {
    Authorization: `Bearer ${options.apiKey}`,
    'X-Integration-Id': options.integrationId,
    Accept: 'application/json',
  };

  async function attemptOnce(
    url: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<{ body: unknown; retryAfterMs?: number }> {
    const request = { method: 'GET', url };
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let text: string;
    let response: Response;
    try {
      response = await doFetch(url, { headers, signal: combined });
      // The timeout covers the body too: a server that sends headers and then hangs is a timeout.
      text = await response.text();
    } catch (cause) {
      if (signal?.aborted) throw new KomboError('Kombo request aborted', { kind: 'aborted', request, cause });
      if (timeout.aborted) {
        throw new KomboError(`Kombo did not answer within ${timeoutMs} ms`, { kind: 'timeout', request, cause });
      }
      const detail = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
      throw new KomboError(`Kombo request failed: ${detail}`, { kind: 'network', request, cause });
    }
    if (!response.ok) {
      const { code, message } = describeErrorBody(text);
      const error = new KomboError(
        `Kombo answered ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`,
        { kind: 'http', status: response.status, code, request, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now()) },
      );
      throw error;
    }
    try {
      return { body: JSON.parse(text) as unknown };
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
          const { body } = await attemptOnce(href, signal, timeoutMs);
          return { body, attempts: attempt };
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
