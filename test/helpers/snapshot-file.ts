import { readFile } from 'node:fs/promises';
import { SNAPSHOT_FILE_MAGIC } from '../../src/interviews/snapshot-store.js';

/** The JSON a snapshot file holds, format 2 (after its header line) or format 1 (the whole file). */
export async function readSnapshotJson(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  return JSON.parse(text.startsWith(SNAPSHOT_FILE_MAGIC) ? text.slice(text.indexOf('\n') + 1) : text) as Record<string, unknown>;
}
