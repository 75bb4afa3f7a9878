/**
 * The shared store (Redis) cannot be reached or did not answer in time: nothing was changed, and the caller may try
 * again. HTTP answers it with 503; walks wait for the store to come back.
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
