import { StoreUnavailableError } from '../storage/store-errors.js';
import { LeaseBusyError, type WalkCoordinator, type WalkLease } from './walk-coordinator.js';

/** What {@link takeWalkLease} needs. */
export interface TakeWalkLeaseOptions {
  coordinator: WalkCoordinator;
  integrationId: string;
  /** Wait while another walker holds the lease (a walk asked for), or answer at once (a periodic one). */
  wait: boolean;
  /** Between two tries for a held lease, jittered: from half of it to one and a half. */
  pollMs: number;
  /** Ends the wait (shutdown), which then throws `stopped()`. */
  signal: AbortSignal;
  stopped(): Error;
  now(): number;
  random?: () => number;
  /** After each ask: whether the store could be reached (undefined), or why not. */
  onStore?(unavailable: StoreUnavailableError | undefined): void;
}

/**
 * The lease to walk, with the coordinator's time at the first ask (whatever walk is granted after it started after the
 * ask). Waiting, it tries again until the lease is free, and gives up with {@link LeaseBusyError} after about twice a
 * lease's life (another walker keeps walking, or died walking and its lease has not run out). Throws what the
 * coordinator throws (StoreUnavailableError).
 */
export async function takeWalkLease(options: TakeWalkLeaseOptions): Promise<{ lease: WalkLease | undefined; askedAtMs: number }> {
  const { coordinator, integrationId, now } = options;
  const random = options.random ?? Math.random;
  const waitedFrom = now();
  let askedAtMs: number | undefined;
  for (;;) {
    let answer;
    try {
      answer = await coordinator.acquire(integrationId, { wait: options.wait });
    } catch (error) {
      if (error instanceof StoreUnavailableError) options.onStore?.(error);
      throw error;
    }
    options.onStore?.(undefined);
    askedAtMs ??= answer.nowMs;
    if (answer.lease || !options.wait) return { lease: answer.lease, askedAtMs };
    if (now() - waitedFrom > 2 * coordinator.leaseMs + 5_000) throw new LeaseBusyError(integrationId, now() - waitedFrom);
    await pause(options.pollMs / 2 + random() * options.pollMs, options.signal);
    if (options.signal.aborted) throw options.stopped();
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts; leaves no listener on `signal` either way. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
