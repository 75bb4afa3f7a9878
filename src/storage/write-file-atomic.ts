import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

let sequence = 0;

/**
 * Writes `text` to `path` through a temporary file renamed over it, readable by the owner only: a crash mid-write
 * leaves the previous file whole, and a reader sees the old content or the new, never a mix.
 */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${++sequence}.tmp`;
  try {
    // The folder is made only when it is missing: a save per walk (a thousand integrations walked at start) then
    // costs no mkdir each.
    await writeFile(temporary, text, { mode: 0o600 }).catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temporary, text, { mode: 0o600 });
    });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
