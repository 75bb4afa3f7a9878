import { describe, expect, it } from 'vitest';
import { pageTime } from '../../../src/http/admin-page/page-time.js';

describe('pageTime', () => {
  it('shows a time to the minute in UTC, and nothing for none', () => {
    expect(pageTime(Date.UTC(2026, 2, 2, 14, 30, 59))).toBe('2026-03-02 14:30 UTC');
    expect(pageTime(null)).toBeNull();
    expect(pageTime(undefined)).toBeNull();
  });
});
