/*
 * The limit for a full walk: a child process that only fetches every page of `GET /ats/interviews` (same fetch,
 * headers and page size as the service) and `JSON.parse`s it. No validation, no snapshot, nothing kept.
 */
import { BENCH_API_KEY, BENCH_INTEGRATION_ID, serveCommands } from './ipc.js';

serveCommands({
  async walk(args) {
    const baseUrl = String(args.baseUrl);
    const headers = { Authorization: `Bearer ${BENCH_API_KEY}`, 'X-Integration-Id': BENCH_INTEGRATION_ID, Accept: 'application/json' };
    const started = performance.now();
    let requests = 0;
    let records = 0;
    let cursor: string | null = null;
    do {
      const url = new URL(`${baseUrl}/ats/interviews`);
      url.searchParams.set('page_size', '250');
      if (typeof args.updatedAfter === 'string') {
        url.searchParams.set('updated_after', args.updatedAfter);
        url.searchParams.set('include_deleted', 'true');
      }
      if (cursor !== null) url.searchParams.set('cursor', cursor);
      const response = await fetch(url, { headers });
      requests++;
      const page = JSON.parse(await response.text()) as { data: { next: string | null; results: unknown[] } };
      records += page.data.results.length;
      cursor = page.data.next;
    } while (cursor !== null);
    return { ms: performance.now() - started, requests, records };
  },
});
process.send?.({ type: 'ready' });
