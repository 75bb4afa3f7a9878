/*
 * The limit for a full walk: a child process that only fetches every page of `GET /ats/interviews` (same fetch,
 * headers and page size as the service) and `JSON.parse`s it. No validation, no snapshot, nothing kept.
 * `walkMany` does the same for many integrations, at most `concurrency` of them at once (SYNC_CONCURRENCY).
 */
import { BENCH_API_KEY, BENCH_INTEGRATION_ID, serveCommands } from './ipc.js';

/** Every page of one integration's interviews; how many requests and records that took. */
async function walkOne(baseUrl: string, integrationId: string, updatedAfter?: string): Promise<{ requests: number; records: number }> {
  const headers = { Authorization: `Bearer ${BENCH_API_KEY}`, 'X-Integration-Id': integrationId, Accept: 'application/json' };
  let requests = 0;
  let records = 0;
  let cursor: string | null = null;
  do {
    const url = new URL(`${baseUrl}/ats/interviews`);
    url.searchParams.set('page_size', '250');
    if (updatedAfter !== undefined) {
      url.searchParams.set('updated_after', updatedAfter);
      url.searchParams.set('include_deleted', 'true');
    }
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    const response = await fetch(url, { headers });
    requests++;
    const page = JSON.parse(await response.text()) as { data: { next: string | null; results: unknown[] } };
    records += page.data.results.length;
    cursor = page.data.next;
  } while (cursor !== null);
  return { requests, records };
}

serveCommands({
  async walk(args) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const walked = await walkOne(String(args.baseUrl), BENCH_INTEGRATION_ID, typeof args.updatedAfter === 'string' ? args.updatedAfter : undefined);
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
        const walked = await walkOne(String(args.baseUrl), ids[next++]!);
        requests += walked.requests;
        records += walked.records;
      }
    };
    await Promise.all(Array.from({ length: Number(args.concurrency) }, worker));
    return { ms: performance.now() - started, requests, records };
  },
});
process.send?.({ type: 'ready' });
