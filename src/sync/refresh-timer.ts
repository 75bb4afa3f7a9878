/** The golden ratio's fractional part: integration n refreshes at frac(n × this) of the interval, an even spread for any n. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** The moment in [0, interval) at which the integration added `seq`-th refreshes, every interval. */
export function refreshPhaseMs(seq: number, intervalMs: number): number {
  return Math.floor(((seq * GOLDEN) % 1) * intervalMs);
}

/** Milliseconds from `nowMs` to the integration's next refresh: the next moment at its phase, never 0. */
export function delayToNextRefresh(nowMs: number, phaseMs: number, intervalMs: number): number {
  const delay = (((phaseMs - nowMs) % intervalMs) + intervalMs) % intervalMs;
  return delay === 0 ? intervalMs : delay;
}

/** What {@link createRefreshTimer} needs. */
export interface RefreshTimerOptions {
  /** The integration's phase in each interval (see {@link refreshPhaseMs}). */
  phaseMs(): number;
  intervalMs: number;
  now(): number;
  /** While Kombo says the integration is being set up: the earliest moment to ask again; else undefined. */
  pendingUntilMs(): number | undefined;
  /** The integration's moment has come (it decides whether to refresh). */
  due(): void;
}

/** One integration's periodic refresh: at its phase of every interval, later while it is pending. */
export interface RefreshTimer {
  /** (Re)sets the timer to the next moment; it sets itself again after each. */
  schedule(): void;
  /** Clears the timer for good. */
  stop(): void;
}

/** Creates a {@link RefreshTimer}; its timer never keeps the process alive. */
export function createRefreshTimer(options: RefreshTimerOptions): RefreshTimer {
  const { intervalMs, now } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function schedule(): void {
    if (stopped) return;
    clearTimeout(timer);
    let delay = delayToNextRefresh(now(), options.phaseMs(), intervalMs);
    const pendingUntil = options.pendingUntilMs();
    if (pendingUntil !== undefined) while (now() + delay < pendingUntil) delay += intervalMs;
    timer = setTimeout(() => {
      timer = undefined;
      options.due();
      schedule();
    }, delay);
    timer.unref?.();
  }

  return {
    schedule,
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
