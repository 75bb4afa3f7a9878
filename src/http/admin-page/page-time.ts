/** A time as the pages show it, to the minute in UTC ("2026-03-02 14:30 UTC"); null for none. */
export function pageTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
