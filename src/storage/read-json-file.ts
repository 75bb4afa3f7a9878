import { readFile } from 'node:fs/promises';
import type { z } from 'zod';

/**
 * Reads `path` as JSON of `schema`: undefined when there is no such file; `fail(message)` is thrown when it is there
 * but cannot be read, is not JSON, or is not a `what` (the message names the file and the first problem).
 */
export async function readJsonFile<T>(
  path: string,
  schema: z.ZodType<T>,
  what: string,
  fail: (message: string, cause?: unknown) => Error,
): Promise<{ data: T; json: unknown } | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fail(`cannot read ${path}: ${(cause as Error).message}`, cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw fail(`${path} is not valid JSON`, cause);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`${path} is not ${what} (${issue?.path.join('.')}: ${issue?.message})`);
  }
  return { data: parsed.data, json };
}
