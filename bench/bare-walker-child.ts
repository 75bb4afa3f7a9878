/*
 * The limit for a full walk: a child process that only fetches every page of `GET /ats/interviews` (same fetch,
 * headers and page size as the service) and `JSON.parse`s it. No validation, no snapshot, nothing kept.
 * `walkMany` does the same for many integrations, at most `concurrency` of them at once (SYNC_CONCURRENCY).
 * With `linked`, it also reads what the service reads of the linked models: on a full walk the users, jobs, candidates
 * and applications that held interviews name, by `ids` 250 at a time; on an incremental one each model's changes.
 */
import { BENCH_API_KEY, BENCH_INTEGRATION_ID, serveCommands } from './ipc.js';

const LINKED_MODELS = ['users', 'jobs', 'candidates', 'applications'] as const;
type LinkedModel = (typeof LINKED_MODELS)[number];
/** Interviews that ended within FEED_PAST_DAYS's default (90) and its two-day margin are held: their records are read. */
const HELD_MS = 92 * 86_400_000;
const IDS_PER_REQUEST = 250;

type Page = { data: { next: string | null; results: Record<string, unknown>[] } };

/** The linked records a held interview names, added to `refs`. */
function addReferences(record: Record<string, unknown>, refs: Record<LinkedModel, Set<string>>, fromMs: number): void {
  if (record.canceled === true || (record.remote_deleted_at ?? null) !== null) return;
  const endMs = Date.parse(String(record.ending_at ?? record.starting_at ?? ''));
  if (!(endMs >= fromMs)) return;
  for (const user of (record.users ?? []) as { id?: string }[]) if (typeof user.id === 'string') refs.users.add(user.id);
  const application = (record.application ?? {}) as { id?: string; candidate?: { id?: string }; job?: { id?: string } };
  const applicationId = application.id ?? record.application_id;
  if (typeof applicationId === 'string') refs.applications.add(applicationId);
  if (typeof application.candidate?.id === 'string') refs.candidates.add(application.candidate.id);
  if (typeof application.job?.id === 'string') refs.jobs.add(application.job.id);
}

/** Every page of `path` with `params`, parsed; how many requests and records that took. */
async function readPages(baseUrl: string, path: string, headers: Record<string, string>, params: Record<string, string>, onPage?: (page: Page) => void) {
  let requests = 0;
  let records = 0;
  let cursor: string | null = null;
  do {
    const url = new URL(`${baseUrl}${path}`);
    url.searchParams.set('page_size', '250');
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    const response = await fetch(url, { headers });
    requests++;
    const page = JSON.parse(await response.text()) as Page;
    records += page.data.results.length;
    onPage?.(page);
    cursor = page.data.next;
  } while (cursor !== null);
  return { requests, records };
}

/** What the service reads of the linked models after (or while) reading the interviews: request count. */
async function readLinked(baseUrl: string, headers: Record<string, string>, refs: Record<LinkedModel, Set<string>>, updatedAfter?: string): Promise<number> {
  let requests = 0;
  for (const model of LINKED_MODELS) {
    if (updatedAfter !== undefined) {
      requests += (await readPages(baseUrl, `/ats/${model}`, headers, { updated_after: updatedAfter, include_deleted: 'true' })).requests;
      continue;
    }
    const ids = [...refs[model]];
    for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
      requests += (await readPages(baseUrl, `/ats/${model}`, headers, { ids: ids.slice(i, i + IDS_PER_REQUEST).join(','), include_deleted: 'true' })).requests;
    }
  }
  return requests;
}

/** Every page of one integration's interviews (and with `linked`, their linked records); requests and records. */
async function walkOne(baseUrl: string, integrationId: string, updatedAfter?: string, linked = false): Promise<{ requests: number; records: number; linkedRequests: number }> {
  const headers = { Authorization: `Bearer ${BENCH_API_KEY}`, 'X-Integration-Id': integrationId, Accept: 'application/json' };
  const refs = { users: new Set<string>(), jobs: new Set<string>(), candidates: new Set<string>(), applications: new Set<string>() };
  const fromMs = Date.now() - HELD_MS;
  const params: Record<string, string> = updatedAfter === undefined ? {} : { updated_after: updatedAfter, include_deleted: 'true' };
  const walked = await readPages(baseUrl, '/ats/interviews', headers, params, linked ? (page) => page.data.results.forEach((record) => addReferences(record, refs, fromMs)) : undefined);
  const linkedRequests = linked ? await readLinked(baseUrl, headers, refs, updatedAfter) : 0;
  return { ...walked, linkedRequests };
}

serveCommands({
  async walk(args) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const walked = await walkOne(String(args.baseUrl), BENCH_INTEGRATION_ID, typeof args.updatedAfter === 'string' ? args.updatedAfter : undefined, args.linked === true);
    const { user, system } = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (user + system) / 1000, ...walked };
  },
  async walkMany(args) {
    const ids = args.ids as string[];
    const started = performance.now();
    let next = 0;
    let requests = 0;
    let records = 0;
    const worker = async () => {
      while (next < ids.length) {
        const walked = await walkOne(String(args.baseUrl), ids[next++]!, undefined, args.linked === true);
        requests += walked.requests + walked.linkedRequests;
        records += walked.records;
      }
    };
    await Promise.all(Array.from({ length: Number(args.concurrency) }, worker));
    return { ms: performance.now() - started, requests, records };
  },
});
process.send?.({ type: 'ready' });
