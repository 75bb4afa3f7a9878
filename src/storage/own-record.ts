import { z } from 'zod';

/**
 * A JSON object keyed by outside text (emails, integration ids) read back as a table without a prototype: every key
 * is kept, `__proto__` included (zod's own record drops it), and no key answers with an inherited member. Each value
 * is checked with `value`; the first that fails names its key in the error's path.
 */
export function ownRecord<T extends z.ZodType>(value: T): z.ZodType<Record<string, z.output<T>>, Record<string, z.input<T>>> {
  return z.custom<Record<string, z.input<T>>>((input) => typeof input === 'object' && input !== null && !Array.isArray(input), 'expected an object').transform((input, ctx) => {
    const table = Object.create(null) as Record<string, z.output<T>>;
    for (const key of Object.keys(input)) {
      const parsed = value.safeParse(input[key]);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] } as z.core.$ZodRawIssue);
        return z.NEVER;
      }
      table[key] = parsed.data;
    }
    return table;
  });
}

/** An empty table for outside text as keys: no prototype, so `__proto__` or `constructor` is a key like any other. */
export function ownTable<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
