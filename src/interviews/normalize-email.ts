/** Longest email read as an address: RFC 5321's limit on a forward path. A longer one is no one's address. */
export const MAX_EMAIL_CHARS = 254;

/**
 * The key an interviewer is indexed by, so `Ada@X.com ` and `ada@x.com` are one person: trimmed, and lower-cased
 * the way mail systems treat addresses alike (ASCII letters), never the way Unicode merges unrelated ones. Feed
 * tokens carry this key, so it must stay what it was when a URL was handed out: that was `trim().toLowerCase()`,
 * which is still the result unless a non-ASCII character lower-cases into ASCII (the Kelvin sign U+212A into `k`,
 * U+0130 İ into `i` and a combining dot). Such a character is kept as it is: `\u212Aate@x.com` is not `kate@x.com`,
 * and must never see her interviews. Any other non-ASCII letter still lower-cases (`ÅSA@x.se` is `åsa@x.se`, as
 * before).
 *
 * Internationalised domains are compared as written: `bücher.de` and its punycode `xn--bcher-kva.de` are two keys.
 * Converting between them (IDNA) would apply Unicode mapping far beyond case, the merging this avoids, and would
 * change the key, and so the URL, of whichever spelling was handed out; an ATS stores one spelling per person.
 */
export function normalizeEmail(email: string): string {
  const value = email.trim();
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0x80) return lowerCaseNonAscii(value, i);
  }
  return value.toLowerCase();
}

/** Lower-cases `value` (non-ASCII from `from` on), keeping every non-ASCII character that would lower-case into ASCII. */
function lowerCaseNonAscii(value: string, from: number): string {
  let result = '';
  let start = 0;
  for (let i = from; i < value.length; i++) {
    const code = value.codePointAt(i)!;
    if (code < 0x80) continue;
    const width = code > 0xffff ? 2 : 1;
    const char = value.slice(i, i + width);
    if (hasAscii(char.toLowerCase())) {
      result += value.slice(start, i).toLowerCase() + char;
      start = i + width;
    }
    i += width - 1;
  }
  // Nothing kept (the common case): the whole string lower-cases at once, exactly as keys were always made (a Greek
  // final sigma depends on its neighbours).
  return start === 0 ? value.toLowerCase() : result + value.slice(start).toLowerCase();
}

function hasAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x80) return true;
  return false;
}

/**
 * Whether `email` looks enough like an address to hand out a feed for it. Deliberately looser than Kombo's own
 * pattern: real ATS data holds addresses that pattern rejects (quotes, plus signs, unicode), and refusing them
 * would leave those interviewers without a calendar.
 */
export function isPlausibleEmail(email: string): boolean {
  const value = email.trim();
  return value.length >= 3 && value.length <= MAX_EMAIL_CHARS && /^[^\s@]+@[^\s@]+$/.test(value);
}
