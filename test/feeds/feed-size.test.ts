import { describe, expect, it } from 'vitest';
import { FEED_SIZE_WARNING_BYTES, feedSizeWarning, isFeedTooLarge } from '../../src/feeds/feed-size.js';

describe('feed size warning', () => {
  it('warns past half of the megabyte Google refuses, naming the size in KB', () => {
    expect(FEED_SIZE_WARNING_BYTES).toBe(512 * 1024);
    expect(isFeedTooLarge(FEED_SIZE_WARNING_BYTES)).toBe(false);
    expect(feedSizeWarning(FEED_SIZE_WARNING_BYTES)).toBeUndefined();
    expect(isFeedTooLarge(FEED_SIZE_WARNING_BYTES + 1)).toBe(true);
    expect(feedSizeWarning(700 * 1024)).toBe('this feed is 700 KB; Google Calendar refuses feeds of about 1 MB and more (FEED_PAST_DAYS shortens it)');
  });
});
