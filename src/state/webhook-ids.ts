import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/write-file-atomic.js';

/** Webhook ids remembered, so a replay walks nothing... */
export const RECENT_WEBHOOK_IDS = 10_000;
/** ...each for this long (Kombo's retries of one event come within hours). */
export const RECENT_WEBHOOK_ID_TTL_MS = 24 * 3_600_000;

/** The webhook ids seen, from the state bundle: an event delivered twice (a retry, or to two processes) is acted on once. */
export interface WebhookIds {
  /** Claims `id`; true when it was claimed before (a replay: do nothing). */
  claim(id: string): Promise<boolean>;
  /** Gives `id` up (its event failed on our side, so Kombo's retry of it must be handled, not dropped). */
  release(id: string): Promise<void>;
}

/**
 * Ids seen within `ttlMs`, at most `max` of them (the oldest go first). `add` answers whether the id was there
 * already, and records it.
 */
export function createRecentIds(options: { max: number; ttlMs: number; now: () => number }) {
  const seenAt = new Map<string, number>(); // in insertion order, so the oldest is first
  return {
    /** `at`: when it was seen, if not now (ids read back from a file). */
    add(id: string, at?: number): boolean {
      const now = options.now();
      for (const [oldest, at] of seenAt) {
        if (now - at < options.ttlMs) break;
        seenAt.delete(oldest);
      }
      if (seenAt.has(id)) return true;
      if (seenAt.size >= options.max) seenAt.delete(seenAt.keys().next().value!);
      if (at === undefined || now - at < options.ttlMs) seenAt.set(id, at ?? now);
      return false;
    },
    /** Forgets `id` (its event failed on our side, so Kombo's retry of it must be handled, not dropped). */
    forget(id: string): void {
      seenAt.delete(id);
    },
    get size() {
      return seenAt.size;
    },
    /** Every id remembered with when it was seen, oldest first. */
    entries: () => seenAt.entries(),
  };
}

/** The webhook ids this process has seen ({@link RECENT_WEBHOOK_IDS} of them, for {@link RECENT_WEBHOOK_ID_TTL_MS}). */
export function createMemoryWebhookIds(options: { now: () => number }): WebhookIds {
  const recent = createRecentIds({ max: RECENT_WEBHOOK_IDS, ttlMs: RECENT_WEBHOOK_ID_TTL_MS, now: options.now });
  return {
    claim: async (id) => recent.add(id),
    release: async (id) => recent.forget(id),
  };
}

/** The file under DATA_DIR where an embedded install keeps the webhook ids it has seen, one JSON line per claim or release. */
export const WEBHOOK_IDS_FILE = 'webhook-ids.jsonl';

/** A line of {@link WEBHOOK_IDS_FILE}: an id claimed at `at`, or given up again. */
type WebhookIdLine = { id: string; at: number } | { id: string; released: true };

function parseLine(line: string): WebhookIdLine | undefined {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value.id !== 'string') return undefined;
    if (value.released === true) return { id: value.id, released: true };
    return typeof value.at === 'number' ? { id: value.id, at: value.at } : undefined;
  } catch {
    return undefined; // the last line of a process that died while writing it: its event was never acted on
  }
}

/**
 * The webhook ids an embedded install has seen ({@link RECENT_WEBHOOK_IDS} of them, for
 * {@link RECENT_WEBHOOK_ID_TTL_MS}), kept in memory and appended to {@link WEBHOOK_IDS_FILE} under `dir` before the
 * event is acted on, so a replay after a restart is still a replay. The file is rewritten with only the ids still
 * remembered once it holds twice the bound in lines: it never grows past about three times the bound.
 */
export function createFileWebhookIds(options: { dir: string; now: () => number; max?: number; ttlMs?: number }): WebhookIds {
  const max = options.max ?? RECENT_WEBHOOK_IDS;
  const recent = createRecentIds({ max, ttlMs: options.ttlMs ?? RECENT_WEBHOOK_ID_TTL_MS, now: options.now });
  const path = join(options.dir, WEBHOOK_IDS_FILE);
  let lines = 0;
  let torn = false;
  // Read once, at the first claim; a file that cannot be read fails every claim (500: Kombo retries) rather than act
  // on replays. Writes go one after another.
  const load = async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    // A last line without its end was being written when a process died: the next line must not run on from it.
    torn = text !== '' && !text.endsWith('\n');
    for (const raw of text.split('\n')) {
      const line = raw === '' ? undefined : parseLine(raw);
      if (line === undefined) continue;
      lines++;
      if ('released' in line) recent.forget(line.id);
      else recent.add(line.id, line.at);
    }
  };
  let loaded: Promise<void> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(() => (loaded ??= load())).then(step);
    queue = next.catch(() => {});
    return next;
  };

  async function write(line: WebhookIdLine): Promise<void> {
    if (lines + 1 >= 2 * max) {
      const kept = [...recent.entries()].map(([id, at]) => `${JSON.stringify({ id, at })}\n`);
      await writeFileAtomic(path, kept.join(''));
      lines = kept.length;
      torn = false;
      return;
    }
    if (lines === 0) await mkdir(options.dir, { recursive: true });
    await appendFile(path, `${torn ? '\n' : ''}${JSON.stringify(line)}\n`, { mode: 0o600 });
    torn = false;
    lines++;
  }

  return {
    claim: (id) =>
      serial(async () => {
        if (recent.add(id)) return true;
        try {
          await write({ id, at: options.now() });
        } catch (error) {
          // Not kept: not claimed either, so Kombo's retry of this event is handled.
          recent.forget(id);
          throw error;
        }
        return false;
      }),
    release: (id) =>
      serial(async () => {
        recent.forget(id);
        await write({ id, released: true });
      }),
  };
}
