/**
 * The shared store cannot be reached or did not answer in time: nothing was changed, and the caller may try again.
 * HTTP answers it with 503; walks wait for the store to come back.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A save based on a version another replica has replaced since it was read: nothing was written. The caller reads the
 * store again and makes its change on what it finds.
 */
export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/**
 * The store of page sessions and sign-ins in progress did not answer: the person is neither signed in nor out, and
 * should try again (the pages answer 503 and keep the cookie).
 */
export class SignInStoreError extends Error {
  readonly status = 503;
  constructor(options: { cause: unknown }) {
    super('The sign-in store is unavailable right now, try again in a moment.', options);
    this.name = 'SignInStoreError';
  }
}
