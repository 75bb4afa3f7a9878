/** Webhook ids remembered, so a replay walks nothing... */
export const RECENT_WEBHOOK_IDS = 10_000;
/** ...each for this long (Kombo's retries of one event come within hours). */
export const RECENT_WEBHOOK_ID_TTL_MS = 24 * 3_600_000;

/** The webhook ids seen, from the state bundle: an event delivered twice (a retry, or to two processes) is acted on once. */
export interface WebhookIds {
  /** Claims `id`; true when it was claimed before (a replay: do nothing). */
  claim(id: string): Promise<boolean>;
  /** Gives `id` up (its event failed on our side, so Kombo's retry of it must be handled, not dropped). */
  release(id: string): Promise<void>;
}

/**
 * Ids seen within `ttlMs`, at most `max` of them (the oldest go first). `add` answers whether the id was there
 * already, and records it.
 */
export function createRecentIds(options: { max: number; ttlMs: number; now: () => number }) {
  const seenAt = new Map<string, number>(); // in insertion order, so the oldest is first
  return {
    add(id: string): boolean {
      const now = options.now();
      for (const [oldest, at] of seenAt) {
        if (now - at < options.ttlMs) break;
        seenAt.delete(oldest);
      }
      if (seenAt.has(id)) return true;
      if (seenAt.size >= options.max) seenAt.delete(seenAt.keys().next().value!);
      seenAt.set(id, now);
      return false;
    },
    /** Forgets `id` (its event failed on our side, so Kombo's retry of it must be handled, not dropped). */
    forget(id: string): void {
      seenAt.delete(id);
    },
    get size() {
      return seenAt.size;
    },
  };
}

/** The webhook ids this process has seen ({@link RECENT_WEBHOOK_IDS} of them, for {@link RECENT_WEBHOOK_ID_TTL_MS}). */
export function createMemoryWebhookIds(options: { now: () => number }): WebhookIds {
  const recent = createRecentIds({ max: RECENT_WEBHOOK_IDS, ttlMs: RECENT_WEBHOOK_ID_TTL_MS, now: options.now });
  return {
    claim: async (id) => recent.add(id),
    release: async (id) => recent.forget(id),
  };
}
