/** Google drops subscribed feeds of about 1 MB and more: the admin API and page warn well before. */
export const FEED_SIZE_WARNING_BYTES = 512 * 1024;

/** Whether a feed of `bytes` is large enough to warn about (see {@link FEED_SIZE_WARNING_BYTES}). */
export function isFeedTooLarge(bytes: number): boolean {
  return bytes > FEED_SIZE_WARNING_BYTES;
}

/** The warning the admin API gives with a feed that large, or undefined when it needs none. */
export function feedSizeWarning(bytes: number): string | undefined {
  return isFeedTooLarge(bytes)
    ? `this feed is ${Math.round(bytes / 1024)} KB; Google Calendar refuses feeds of about 1 MB and more (FEED_PAST_DAYS shortens it)`
    : undefined;
}
