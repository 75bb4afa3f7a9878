/** An error meant for the client: its status and a message safe to show (below 500 only). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The one body every unknown path, and every unknown or forged feed token, gets: they must be indistinguishable. */
export const NOT_FOUND_BODY = { error: 'not_found', message: 'Not found' } as const;
