import type { KomboClient } from '../kombo/create-kombo-client.js';
import { paginateInterviews, type WalkBudget } from '../kombo/paginate-interviews.js';
import { createRecordInterner, isRejected, parseInterviewRecord, type ParsedRecord, type RejectedRecord } from '../interviews/interview-schema.js';
import type { Walk } from '../interviews/snapshot.js';

/** A walk's result before it is applied, with what it cost. */
export interface WalkResult {
  readonly walk: Walk;
  readonly pages: number;
  readonly requests: number;
  readonly rejected: readonly RejectedRecord[];
  /** Records read, rejected ones included, and the bytes of the pages once decoded: what the next budget is set by. */
  readonly size: { readonly records: number; readonly bytes: number };
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
  budget?: WalkBudget;
  onRejected?: (rejected: RejectedRecord) => void;
}

/**
 * Reads every page of one walk and validates each record. A record that fails validation is reported, and its id
 * carried in the walk (its interview keeps its last good version); any failure of a page (after the client's retries)
 * throws, and nothing of the walk is applied. A walk past its `budget` of records or bytes is such a failure.
 */
export async function walkInterviews(client: KomboClient, options: WalkOptions): Promise<WalkResult> {
  const records: ParsedRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const intern = createRecordInterner();
  let pages = 0;
  let requests = 0;
  let read = 0;
  let bytes = 0;
  const query = {
    ...(options.updatedAfterMs !== undefined ? { updatedAfter: new Date(options.updatedAfterMs) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
    ...(options.budget !== undefined ? { budget: options.budget } : {}),
  };
  for await (const page of paginateInterviews(client, query)) {
    pages++;
    requests += page.attempts;
    read += page.results.length;
    bytes += page.bytes;
    for (const raw of page.results) {
      const result = parseInterviewRecord(raw, intern);
      if (isRejected(result)) {
        rejected.push(result);
        options.onRejected?.(result);
      } else {
        records.push(result);
      }
    }
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
    size: { records: read, bytes },
  };
}
