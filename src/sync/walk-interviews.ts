import type { KomboClient } from '../kombo/create-kombo-client.js';
import { KomboError } from '../kombo/kombo-error.js';
import { paginateInterviews, type WalkBudget } from '../kombo/paginate-interviews.js';
import {
  createRecordInterner,
  isRejected,
  parseInterviewRecord,
  pastRecordId,
  type ParsedRecord,
  type RejectedRecord,
} from '../interviews/interview-schema.js';
import { endedBefore, type Walk } from '../interviews/snapshot.js';

/** A walk's result before it is applied, with what it cost. */
export interface WalkResult {
  readonly walk: Walk;
  readonly pages: number;
  readonly requests: number;
  readonly rejected: readonly RejectedRecord[];
  /**
   * Records read, rejected ones included, and the bytes of the pages once decoded; `held` the records the walk kept
   * (history no feed shows left out): what the next budget is set by.
   */
  readonly size: { readonly records: number; readonly bytes: number; readonly held: number };
  /** What reading the linked models cost (absent when they were not read): requests per model, models that failed. */
  readonly linked?: { readonly requests: Readonly<Record<string, number>>; readonly failed: readonly string[]; readonly rejected: number };
}

/** What to walk. */
export interface WalkOptions {
  kind: 'full' | 'incremental';
  /** For an incremental walk: ask for records changed after this moment. */
  updatedAfterMs?: number;
  startedAtMs: number;
  signal?: AbortSignal;
  maxPages?: number;
  /** Its records count what the walk keeps (history left out); its bytes every byte read. */
  budget?: WalkBudget;
  /**
   * Records that ended before this are history (see `heldFromMs`): dropped as pages come in, unless `held` has their
   * id (then they stand in the walk as `past`, so the interview leaves). Unset: every record is kept.
   */
  heldFromMs?: number;
  /** Whether the snapshot the walk applies to holds an interview with this id. */
  held?: (id: string) => boolean;
  onRejected?: (rejected: RejectedRecord) => void;
  /** The records kept of each page, as it is read (the linked records they reference are asked for meanwhile). */
  onPage?: (kept: readonly ParsedRecord[]) => void;
}

/**
 * Reads every page of one walk and validates each record. A record that fails validation is reported, and its id
 * carried in the walk (its interview keeps its last good version); any failure of a page (after the client's retries)
 * throws, and nothing of the walk is applied. A walk past its `budget` of records or bytes is such a failure.
 *
 * History is dropped as it streams in: a record that ended before `heldFromMs`, or one that makes no interview
 * (canceled, deleted, unscheduled), is kept only when it is news about an interview held or listed earlier in the
 * walk. A first walk of an organisation with years of history then holds what its feeds show, whatever it reads.
 */
export async function walkInterviews(client: KomboClient, options: WalkOptions): Promise<WalkResult> {
  const records: ParsedRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const intern = createRecordInterner();
  const fromMs = options.heldFromMs;
  const held = options.held ?? (() => false);
  // Ids this walk kept a record of: a later record of one (canceled, or moved into the past) is news about it.
  const listed = new Set<string>();
  const windowed = fromMs !== undefined;
  let pages = 0;
  let requests = 0;
  let read = 0;
  let bytes = 0;
  const budget = options.budget;
  const query = {
    ...(options.updatedAfterMs !== undefined ? { updatedAfter: new Date(options.updatedAfterMs) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
    // The pages bound what is read; the records kept are counted here, so history never fails a walk.
    ...(budget !== undefined ? { budget: windowed ? { ...budget, records: Number.POSITIVE_INFINITY } : budget } : {}),
  };
  const keep = (record: ParsedRecord) => {
    if (windowed && !listed.has(record.id)) {
      if (!held(record.id) && (record.interview === null || endedBefore(record.interview, fromMs))) return;
      listed.add(record.id);
    }
    records.push(record);
  };
  for await (const page of paginateInterviews(client, query)) {
    const keptBefore = records.length;
    pages++;
    requests += page.attempts;
    read += page.results.length;
    bytes += page.bytes;
    for (const raw of page.results) {
      const pastId = windowed ? pastRecordId(raw, fromMs) : undefined;
      if (pastId !== undefined) {
        keep({ id: pastId, interview: null, reason: 'past' });
        continue;
      }
      const result = parseInterviewRecord(raw, intern);
      if (isRejected(result)) {
        rejected.push(result);
        options.onRejected?.(result);
      } else {
        keep(result);
      }
    }
    if (windowed && budget !== undefined && records.length > budget.records) {
      throw new KomboError(
        `Kombo walk passed its budget of ${budget.records.toLocaleString("en")} records at page ${pages} (${budget.basis})`,
        { kind: 'over_budget' },
      );
    }
    options.onPage?.(records.slice(keptBefore));
  }
  return {
    walk: {
      kind: options.kind,
      integrationId: client.integrationId,
      startedAtMs: options.startedAtMs,
      records,
      rejectedIds: rejected.flatMap((record) => (record.id === null ? [] : [record.id])),
    },
    pages,
    requests,
    rejected,
    size: { records: read, bytes, held: records.length },
  };
}
