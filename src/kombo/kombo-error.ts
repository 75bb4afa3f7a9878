/** Why a Kombo request failed, in words a log reader and a retry policy both understand. */
export type KomboErrorKind =
  | 'http' // Kombo answered with a non-2xx status
  | 'network' // the connection failed or dropped
  | 'timeout' // no complete answer within the timeout
  | 'invalid_json' // a 2xx body that is not JSON
  | 'invalid_response' // JSON, but not the envelope Kombo documents
  | 'pagination' // a repeated cursor or a walk past the page cap
  | 'aborted' // we cancelled it (shutdown)
  | 'too_large' // an answer bigger than we read: too many bytes, a page over page_size, a cursor too long
  | 'over_budget'; // a walk that read more records or bytes than its budget allows

/**
 * The one error a Kombo request or walk ends with. It carries the status, Kombo's `error.code`, the request (method
 * and URL; the URL never holds credentials, which travel in headers) and the cause, and never the API key.
 */
export class KomboError extends Error {
  readonly kind: KomboErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly request: { method: string; url: string } | undefined;
  readonly attempts: number;
  /** What Kombo's `Retry-After` asked for, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: {
      kind: KomboErrorKind;
      status?: number | undefined;
      code?: string | undefined;
      request?: { method: string; url: string } | undefined;
      attempts?: number;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = 'KomboError';
    this.kind = options.kind;
    this.status = options.status;
    this.code = options.code;
    this.request = options.request;
    this.attempts = options.attempts ?? 1;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The same error after `attempts` attempts, with `note` added to its message. */
  givenUp(attempts: number, note = ''): KomboError {
    return new KomboError(note ? `${this.message} (${note})` : this.message, {
      kind: this.kind,
      status: this.status,
      code: this.code,
      request: this.request,
      attempts,
      retryAfterMs: this.retryAfterMs,
      cause: this.cause,
    });
  }
}
