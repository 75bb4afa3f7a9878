/**
 * Walks asked for by webhooks start at least this far apart: whoever can replay or forge a burst of webhooks cannot
 * spend the integration's Kombo rate limit, and a real change still lands within seconds.
 */
export const WEBHOOK_WALK_INTERVAL_MS = 5_000;

/** What {@link createWebhookCooldown} needs. */
export interface WebhookCooldownOptions {
  /** Least time between the starts of two walks it starts. */
  intervalMs: number;
  /** Whether a walk is in flight: a change told of now waits for it to end. */
  busy(): boolean;
  /** Starts a walk (which calls {@link WebhookCooldown.walkStarted}). */
  walk(): void;
}

/**
 * Turns change notices into walks: one walk after the one in flight (which may have read past the change already),
 * however many notices came during it, and walks it starts at least `intervalMs` apart (notices inside the interval
 * make one walk at its end).
 */
export interface WebhookCooldown {
  /** A change was told of (a webhook, or an asked-for walk that could not run and must be asked again). */
  request(): void;
  /** A walk started, whoever asked: it reads every change told of so far. */
  walkStarted(): void;
  /** No walk runs any more: the walk a change asked for may start. */
  idle(): void;
  /** Starts nothing more and stops its timer. */
  close(): void;
}

/** Creates a {@link WebhookCooldown}; its timer never keeps the process alive. */
export function createWebhookCooldown(options: WebhookCooldownOptions): WebhookCooldown {
  /** A change was told of that no walk started since will read. */
  let pending = false;
  /** Set while the last walk it started is less than `intervalMs` old. */
  let cooldown: NodeJS.Timeout | undefined;
  let closed = false;

  function startIfDue(): void {
    if (closed || !pending || options.busy() || cooldown) return;
    cooldown = setTimeout(() => {
      cooldown = undefined;
      startIfDue();
    }, options.intervalMs);
    cooldown.unref();
    options.walk();
  }

  return {
    request() {
      if (closed) return;
      pending = true;
      startIfDue();
    },
    walkStarted() {
      pending = false;
    },
    idle: startIfDue,
    close() {
      closed = true;
      clearTimeout(cooldown);
      cooldown = undefined;
    },
  };
}
