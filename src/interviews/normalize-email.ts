/** The key an interviewer is indexed by: trimmed and lower-cased, so `Ada@X.com ` and `ada@x.com` are one person. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Whether `email` looks enough like an address to hand out a feed for it. Deliberately looser than Kombo's own
 * pattern: real ATS data holds addresses that pattern rejects (quotes, plus signs, unicode), and refusing them
 * would leave those interviewers without a calendar.
 */
export function isPlausibleEmail(email: string): boolean {
  const value = email.trim();
  return value.length >= 3 && value.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(value);
}
