import { existsSync } from 'node:fs';

/**
 * Reads `path` (`.env` in the working directory) into process.env when it exists, with Node's own parser (the one
 * `--env-file` uses): a variable already set in the environment wins over the file. Returns the path read, if any.
 */
export function loadEnvFile(path = '.env'): string | undefined {
  if (!existsSync(path)) return undefined;
  process.loadEnvFile(path);
  return path;
}
