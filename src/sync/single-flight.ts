/** How a walk is asked for. */
export interface WalkAsk {
  /** A full walk, even when an incremental one would do. */
  readonly full: boolean;
  /** Apply whatever the walk removes: a full walk of its own, read after it was asked for. */
  readonly confirmRemovals: boolean;
  /** A walk of the schedule, which may end without walking (another walker's walk will do): see {@link SingleFlightOptions.run}. */
  readonly periodic: boolean;
}

/** What {@link createSingleFlight} runs, and whom it tells. */
export interface SingleFlightOptions<T> {
  /** One walk. */
  run(ask: WalkAsk): Promise<T>;
  /** Whether the walk `ask` starts would be full, as far as is known when it starts ({@link SingleFlight.walking} corrects it). */
  fullWalk(ask: WalkAsk): boolean;
  /** The error refreshes reject with once closed. */
  closedError(): Error;
  /** A walk starts. */
  onStart?(ask: WalkAsk): void;
  /** A walk failed (before the flight lands). */
  onFailure?(ask: WalkAsk, error: unknown): void;
  /** No walk runs and none is queued any more. */
  onIdle?(): void;
}

/** One walk at a time: callers join the walk in flight, or queue one full walk behind it together. */
export interface SingleFlight<T> {
  /**
   * The walk in flight, joined, or a new one. A full ask during an incremental walk waits for it, then shares one full
   * walk with every other such ask; a confirmation waits for the walk in flight and asks again (it applies only a walk
   * read after it); an ask during a periodic run waits for it and asks again (that run may not walk at all).
   */
  refresh(ask?: Partial<WalkAsk>): Promise<T>;
  /** The walk in flight knows now whether it is full. */
  walking(full: boolean): void;
  running(): boolean;
  closed(): boolean;
  /** Refuses new walks (a queued one is refused when the walk in flight ends); resolves when that walk has ended. */
  close(): Promise<void>;
}

/** Creates a {@link SingleFlight}. */
export function createSingleFlight<T>(options: SingleFlightOptions<T>): SingleFlight<T> {
  let inFlight: Promise<T> | undefined;
  let inFlightFull = false;
  let inFlightPeriodic = false;
  /** Asked for a full walk while an incremental one ran: one full walk follows it, for all of them. */
  let queuedFull: { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } | undefined;
  let closed = false;

  function start(ask: WalkAsk): Promise<T> {
    inFlightPeriodic = ask.periodic;
    inFlightFull = options.fullWalk(ask);
    options.onStart?.(ask);
    const promise = options
      .run(ask)
      .catch((error: unknown) => {
        options.onFailure?.(ask, error);
        throw error;
      })
      .finally(() => {
        inFlight = undefined;
        const queued = queuedFull;
        queuedFull = undefined;
        if (queued && closed) queued.reject(options.closedError());
        else if (queued) start({ full: true, confirmRemovals: false, periodic: false }).then(queued.resolve, queued.reject);
        else options.onIdle?.();
      });
    inFlight = promise;
    return promise;
  }

  function refresh(partial: Partial<WalkAsk> = {}): Promise<T> {
    const ask: WalkAsk = { full: partial.full ?? false, confirmRemovals: partial.confirmRemovals ?? false, periodic: partial.periodic ?? false };
    if (closed) return Promise.reject(options.closedError());
    const again = () => refresh(ask);
    if (inFlight && (ask.confirmRemovals || (inFlightPeriodic && !ask.periodic))) return inFlight.catch(() => {}).then(again);
    if (!inFlight) return start(ask);
    if (!ask.full || inFlightFull) return inFlight;
    if (!queuedFull) {
      let resolve!: (value: T) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
      queuedFull = { promise, resolve, reject };
    }
    return queuedFull.promise;
  }

  return {
    refresh,
    walking(full) {
      inFlightFull = full;
    },
    running: () => inFlight !== undefined,
    closed: () => closed,
    close() {
      closed = true;
      return inFlight?.then(() => {}, () => {}) ?? Promise.resolve();
    },
  };
}
