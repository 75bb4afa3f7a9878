import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../src/interviews/normalize-email.js';

describe('normalizeEmail', () => {
  it('trims and lower-cases ASCII, as mail systems treat those alike', () => {
    expect(normalizeEmail('  Ada.Lovelace@Example.COM \t')).toBe('ada.lovelace@example.com');
    expect(normalizeEmail("O'Brien+X@Example.co.UK")).toBe("o'brien+x@example.co.uk");
  });

  it('never lets a character that only Unicode lower-cases into ASCII merge an address into another', () => {
    expect(normalizeEmail('\u212Aate@x.com')).toBe('\u212Aate@x.com'); // Kelvin sign, not K
    expect(normalizeEmail('\u212AATE@X.COM')).toBe('\u212Aate@x.com'); // the rest still lower-cases
    expect(normalizeEmail('\u0130nci@x.com')).toBe('\u0130nci@x.com'); // İ would become i + U+0307
    expect(normalizeEmail('Ma\u212A\u212A\u0130@Ö.de')).toBe('ma\u212A\u212A\u0130@ö.de');
  });

  it('keeps every key it made before where that key merged nobody, so feed URLs handed out keep working', () => {
    const before = (email: string) => email.trim().toLowerCase(); // how keys were made up to 11f8a8a
    for (const email of [' ÅSA@x.se', 'ÉMILE@Exemple.FR', 'ΣΑΣ@x.gr', 'Ǆ@x.com', 'ДМИТРИЙ@пример.рф', 'Ａｄａ@x.com', 'ADA@BÜCHER.DE', '😀Ada@x.com']) {
      expect(normalizeEmail(email), email).toBe(before(email));
    }
    expect(normalizeEmail('ÅSA@x.se')).toBe('åsa@x.se');
  });

  it('produces ASCII only from ASCII, for every non-ASCII character there is', () => {
    const wrong: string[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const result = normalizeEmail(`A${String.fromCodePoint(code)}B`);
      if (result[0] !== 'a' || result.at(-1) !== 'b' || /[\u0000-\u007f]/.test(result.slice(1, -1))) wrong.push(`U+${code.toString(16)}: ${result}`);
    }
    expect(wrong).toEqual([]);
  });

  it('leaves internationalised domains as written: the Unicode and the punycode spelling are two keys', () => {
    expect(normalizeEmail('Ada@BÜCHER.de')).toBe('ada@bücher.de');
    expect(normalizeEmail('Ada@XN--BCHER-KVA.de')).toBe('ada@xn--bcher-kva.de');
    expect(normalizeEmail('ada@bücher.de')).not.toBe(normalizeEmail('ada@xn--bcher-kva.de'));
  });
});
