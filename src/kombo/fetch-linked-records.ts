import type { KomboClient } from './create-kombo-client.js';
import { KomboError } from './kombo-error.js';
import { PAGE_SIZE, paginateInterviews, type WalkBudget } from './paginate-interviews.js';

/** The list endpoints of the records interviews link to. */
export const LINKED_PATHS = {
  users: '/ats/users',
  jobs: '/ats/jobs',
  candidates: '/ats/candidates',
  applications: '/ats/applications',
} as const;

/** One of {@link LINKED_PATHS}' models. */
export type LinkedPathModel = keyof typeof LINKED_PATHS;

/**
 * Ids asked for in one request (`ids=a,b,...`). The page size, so each batch is one page (Kombo sets no limit on
 * `ids`; a full walk is a few hundred of these, each costing more than its records); and with
 * {@link MAX_IDS_QUERY_CHARS}, a URL every proxy on the way accepts (Kombo's ids are about 24 characters).
 */
export const MAX_IDS_PER_REQUEST = PAGE_SIZE;
/** The longest `ids` value sent: 250 ids of 24 characters and their commas, a URL within the 8 KB proxies accept. */
export const MAX_IDS_QUERY_CHARS = 7_000;

/** What to read of one model: what changed after a moment, or the records of some ids; deletions included either way. */
export type LinkedAsk = { readonly updatedAfter: Date } | { readonly ids: readonly string[] };

/** What reading one model cost. */
export interface LinkedReadCost {
  requests: number;
  records: number;
  bytes: number;
}

/** Batches of ids for `ids=`; an id a comma-separated list cannot carry (a comma, an encoded character) is left out. */
export function idBatches(ids: Iterable<string>): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let chars = 0;
  for (const id of ids) {
    if (id.includes(',') || id.includes('%')) continue;
    if (batch.length >= MAX_IDS_PER_REQUEST || (batch.length > 0 && chars + id.length + 1 > MAX_IDS_QUERY_CHARS)) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(id);
    chars += id.length + 1;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Reads the records of one linked model page by page, bounded as interviews are (page size, cursors, the page cap,
 * response bytes through the client), and hands each raw record to `onRecord` as its page arrives. `budget` bounds
 * all the batches together. Throws a {@link KomboError} on any failure (after the client's retries).
 */
export async function fetchLinkedRecords(
  client: KomboClient,
  model: LinkedPathModel,
  ask: LinkedAsk,
  onRecord: (raw: unknown) => void,
  options: {
    signal?: AbortSignal | undefined;
    budget?: WalkBudget | undefined;
    maxPages?: number | undefined;
    /** What earlier asks of the same read cost: `budget` bounds them together (a walk asks by ids as pages arrive). */
    spent?: LinkedReadCost | undefined;
  } = {},
): Promise<LinkedReadCost> {
  const cost: LinkedReadCost = { requests: 0, records: 0, bytes: 0 };
  const total = options.spent ?? cost;
  const queries = 'ids' in ask ? idBatches(ask.ids).map((batch) => ({ params: { ids: batch.join(','), include_deleted: 'true' } })) : [{ updatedAfter: ask.updatedAfter }];
  for (const query of queries) {
    const pages = paginateInterviews(client, {
      ...query,
      path: LINKED_PATHS[model],
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
    });
    for await (const page of pages) {
      cost.requests += page.attempts;
      cost.records += page.results.length;
      cost.bytes += page.bytes;
      if (total !== cost) {
        total.requests += page.attempts;
        total.records += page.results.length;
        total.bytes += page.bytes;
      }
      const budget = options.budget;
      if (budget !== undefined && (total.records > budget.records || total.bytes > budget.bytes)) {
        throw new KomboError(`Kombo ${LINKED_PATHS[model]} passed its budget of ${budget.records.toLocaleString('en')} records or ${budget.bytes.toLocaleString('en')} bytes (${budget.basis})`, {
          kind: 'over_budget',
        });
      }
      for (const raw of page.results) onRecord(raw);
    }
  }
  return cost;
}
