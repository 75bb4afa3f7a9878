/** The walks allowed to talk to Kombo at once, across every integration (SYNC_CONCURRENCY). */
export interface WalkSlots {
  /** Waits for a free slot, in order of asking; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  release(): void;
  /** Slots taken now. */
  readonly active: number;
  /** Walks waiting for a slot. */
  readonly waiting: number;
}

/** Creates {@link WalkSlots} with `limit` slots, handed out first come, first served. */
export function createWalkSlots(limit: number): WalkSlots {
  let active = 0;
  const queue: Array<{ grant: () => void }> = [];
  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (active < limit) {
        active++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
    release() {
      const next = queue.shift();
      // The slot passes straight to the next waiter, so a newcomer can never jump the queue.
      if (next) next.grant();
      else active = Math.max(0, active - 1);
    },
  };
}

/** One integration's hold on the shared slots: its walk runs in a slot, and gives it up while it sleeps. */
export interface WalkSlot {
  /** Runs `walk` inside a slot. */
  run<T>(walk: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Sleeps `ms` (a backoff or a `Retry-After`) without holding a slot, then waits for one again: one integration's
   * 429 storm never keeps another's refresh waiting. The Kombo client sleeps through this.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A {@link WalkSlot} on `slots`, sleeping with `sleep`. One integration runs one walk at a time. */
export function createWalkSlot(slots: WalkSlots, sleep: (ms: number, signal?: AbortSignal) => Promise<void>): WalkSlot {
  let held = false;
  return {
    async run(walk, signal) {
      await slots.acquire(signal);
      held = true;
      try {
        return await walk();
      } finally {
        if (held) slots.release();
        held = false;
      }
    },
    async sleep(ms, signal) {
      if (!held) return sleep(ms, signal);
      held = false;
      slots.release();
      try {
        await sleep(ms, signal);
      } finally {
        // Aborted while asleep: the walk is over and its run() must not release a slot it no longer holds.
        if (!signal?.aborted) {
          await slots.acquire(signal);
          held = true;
        }
      }
    },
  };
}
