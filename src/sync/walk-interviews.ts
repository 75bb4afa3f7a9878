import type { KomboClient } from '../kombo/create-kombo-client.js';
import { paginateInterviews } from '../kombo/paginate-interviews.js';
import { createRecordInterner, isRejected, parseInterviewRecord, type ParsedRecord, type RejectedRecord } from '../interviews/interview-schema.js';
import type { Walk } from '../interviews/snapshot.js';

/** A walk's result before it is applied, with what it cost. */
export interface WalkResult {
  readonly walk: Walk;
  readonly pages: number;
  readonly requests: number;
  readonly rejected: readonly RejectedRecord[];
}

/** What to walk. */
export interface WalkOptions {
  kind: 'full' | 'incremental';
  /** For an incremental walk: ask for records changed after this moment. */
  updatedAfterMs?: number;
  startedAtMs: number;
  signal?: AbortSignal;
  maxPages?: number;
  onRejected?: (rejected: RejectedRecord) => void;
}

/**
 * Reads every page of one walk and validates each record. A record that fails validation is reported, and its id
 * carried in the walk (its interview keeps its last good version); any failure of a page (after the client's retries)
 * throws, and nothing of the walk is applied.
 */
export async function walkInterviews(client: KomboClient, options: WalkOptions): Promise<WalkResult> {
  const records: ParsedRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const intern = createRecordInterner();
  let pages = 0;
  let requests = 0;
  const query = {
    ...(options.updatedAfterMs !== undefined ? { updatedAfter: new Date(options.updatedAfterMs) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
  };
  for await (const page of paginateInterviews(client, query)) {
    pages++;
    requests += page.attempts;
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
  };
}
