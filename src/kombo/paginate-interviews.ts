import { z } from 'zod';
import type { KomboClient } from './create-kombo-client.js';
import { KomboError } from './kombo-error.js';

/** Kombo's maximum page size. */
export const PAGE_SIZE = 250;
/** A walk longer than this is a loop we failed to see, not an organisation: 2.5 million interviews. */
export const DEFAULT_MAX_PAGES = 10_000;
/**
 * The longest cursor accepted. Kombo's are about a hundred characters of base64; each one is kept until the walk
 * ends (to refuse a repeat) and sent back in a URL, so this bounds that memory to the page cap times 4 KiB.
 */
export const MAX_CURSOR_LENGTH = 4_096;

/** How much one walk may read before it is taken for a fault rather than an organisation. */
export interface WalkBudget {
  readonly records: number;
  /** Bytes of the answers once decoded. */
  readonly bytes: number;
  /** How the budget was set, for the message of a walk that passes it. */
  readonly basis: string;
}

/** The envelope of a page; the records inside are validated one by one later, so one bad record fails alone. */
const pageSchema = z.object({
  status: z.literal('success').optional(),
  data: z.object({
    next: z.string().min(1).nullable(),
    results: z.array(z.unknown()),
  }),
});

/** One page of `GET /ats/interviews`: raw records, the cursor that led to it, the attempts it took, its size. */
export interface InterviewPage {
  results: readonly unknown[];
  cursor: string | undefined;
  attempts: number;
  bytes: number;
}

/** Which interviews to ask for: everything, or what changed after a moment (deletions included). */
export interface InterviewQuery {
  updatedAfter?: Date;
  maxPages?: number;
  /** No budget: only the page cap bounds the walk. */
  budget?: WalkBudget;
  signal?: AbortSignal;
  /** Another list endpoint walked the same way (`/ats/users`, say); `/ats/interviews` when absent. */
  path?: string;
  /** More query parameters (`ids`), sent on every page. */
  params?: Readonly<Record<string, string>>;
}

/**
 * Walks every page of `GET /ats/interviews`, following `data.next` until it is null. Refuses a cursor it has seen
 * already and stops past the page cap, both as a failed walk: a loop must never look like a complete one. Refuses
 * a page over the page size asked for, a cursor over {@link MAX_CURSOR_LENGTH} and a walk over its budget, each
 * before asking for the next page.
 */
export async function* paginateInterviews(client: KomboClient, query: InterviewQuery = {}): AsyncGenerator<InterviewPage> {
  const maxPages = query.maxPages ?? DEFAULT_MAX_PAGES;
  const path = query.path ?? '/ats/interviews';
  const base: Record<string, string> = { page_size: String(PAGE_SIZE), ...query.params };
  if (query.updatedAfter) {
    // Kombo wants UTC with a Z; toISOString gives exactly YYYY-MM-DDTHH:mm:ss.sssZ.
    base.updated_after = query.updatedAfter.toISOString();
    base.include_deleted = 'true';
  }
  const seen = new Set<string>();
  const request = (cursor: string | undefined) => {
    const pending = client.get(path, cursor === undefined ? base : { ...base, cursor }, query.signal);
    pending.catch(() => {}); // awaited below; this only keeps a walk abandoned early from an unhandled rejection
    return pending;
  };
  const budget = query.budget;
  let records = 0;
  let bytes = 0;
  let cursor: string | undefined;
  let pending = request(undefined);
  for (let page = 1; ; page++) {
    const { body, attempts, bytes: pageBytes } = await pending;
    const parsed = pageSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown';
      throw new KomboError(`Kombo page ${page} has an invalid envelope at ${where}`, { kind: 'invalid_response' });
    }
    const { next, results } = parsed.data.data;
    if (results.length > PAGE_SIZE) {
      throw new KomboError(`Kombo page ${page} holds ${results.length.toLocaleString('en')} records, more than the ${PAGE_SIZE} asked for`, {
        kind: 'too_large',
      });
    }
    records += results.length;
    bytes += pageBytes;
    if (budget !== undefined && (records > budget.records || bytes > budget.bytes)) {
      const passed = records > budget.records ? `${budget.records.toLocaleString('en')} records` : `${budget.bytes.toLocaleString('en')} bytes`;
      throw new KomboError(`Kombo walk passed its budget of ${passed} at page ${page} (${budget.basis})`, { kind: 'over_budget' });
    }
    if (next !== null) {
      if (next.length > MAX_CURSOR_LENGTH) {
        throw new KomboError(`Kombo page ${page} has a cursor of ${next.length.toLocaleString('en')} characters; at most ${MAX_CURSOR_LENGTH} are accepted`, {
          kind: 'too_large',
        });
      }
      if (seen.has(next)) {
        throw new KomboError(`Kombo returned cursor ${JSON.stringify(next.slice(0, 40))} twice`, { kind: 'pagination' });
      }
      seen.add(next);
      // The next page is on its way while the caller validates this one: the walk costs about what the slower of
      // Kombo and our validation costs, not their sum. Still one request at a time, in cursor order.
      if (page < maxPages) pending = request(next);
    }
    yield { results, cursor, attempts, bytes: pageBytes };
    if (next === null) return;
    if (page >= maxPages) throw new KomboError(`Kombo walk passed the cap of ${maxPages} pages`, { kind: 'pagination' });
    cursor = next;
  }
}
