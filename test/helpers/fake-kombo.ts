import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createGzip } from 'node:zlib';
import type { KomboClientOptions } from '../../src/kombo/create-kombo-client.js';
import { DEFAULT_RETRY_POLICY } from '../../src/kombo/retry-policy.js';

/** One request the fake received, as a test wants to assert on it. */
export interface RecordedRequest {
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  integrationId: string | undefined;
}

/** What the fake does instead of answering normally. */
export type Fault =
  | { type: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { type: 'malformed' } // 200 with a body that is not JSON
  | { type: 'invalid-envelope' } // 200 JSON, but not Kombo's envelope
  | { type: 'drop' } // destroys the socket without an answer
  | { type: 'hang' } // never answers
  | { type: 'repeat-cursor' } // answers the page normally, but with `next` pointing back to the first cursor
  // The page padded with spaces to `bytes` (status 200 unless given): with its Content-Length, or gzip-encoded (so
  // `bytes` once inflated). Streamed as the client reads it, so a body of gigabytes costs what the client reads;
  // `streamed` tells how much that was.
  | { type: 'padded'; bytes: number; gzip?: boolean; status?: number }
  | { type: 'page-size'; size: number } // the page with up to `size` records, whatever page_size asked for
  | { type: 'endless-cursors' } // the page, with `next` a fresh cursor every time, wrapping round the records
  | { type: 'long-cursor'; length: number }; // the page, with `next` (when there is one) padded to `length` characters

interface ScheduledFault {
  fault: Fault;
  /** Which requests it hits; all when absent. */
  when?: (request: RecordedRequest) => boolean;
  /** How many times it still fires. */
  times: number;
}

/** One more integration the fake serves (by `X-Integration-Id`), with records of its own. */
export interface FakeIntegration {
  readonly id: string;
  /** What `GET /integrations/{id}` says of it. */
  tool: string;
  organization: string;
  /** Kombo's error code for every interviews request of it (INTEGRATION.SETUP_SYNC_PENDING, say), or null. */
  errorCode: string | null;
  setRecords(records: Record<string, unknown>[]): void;
  upsert(record: Record<string, unknown>): void;
  records(): Record<string, unknown>[];
  /** Replaces the records of a linked model (`/ats/users`, ...); each is stamped as updated now. */
  setLinked(model: LinkedModelName, records: Record<string, unknown>[]): void;
  /** Adds or replaces one linked record, stamped as updated now; no interview's `changed_at` moves. */
  upsertLinked(model: LinkedModelName, record: Record<string, unknown>): void;
}

/** The linked models the fake serves, by their path under /ats/. */
export type LinkedModelName = 'users' | 'jobs' | 'candidates' | 'applications';
const LINKED_MODEL_NAMES: readonly LinkedModelName[] = ['users', 'jobs', 'candidates', 'applications'];

/** A Kombo stand-in over real HTTP on loopback: paginated interviews, filters, and scheduled faults. */
export interface FakeKombo {
  /** Base URL to put in KOMBO_BASE_URL (ends in /v1). */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly integrationId: string;
  /** The interview requests (`GET /ats/interviews`) the fake received, of every integration. */
  readonly requests: RecordedRequest[];
  /** The requests to the linked models (`/ats/users`, `/ats/jobs`, `/ats/candidates`, `/ats/applications`). */
  readonly linkedRequests: RecordedRequest[];
  /** How many requests reached `path` (`/ats/interviews`, `/ats/users`, ...), of every integration. */
  requestsTo(path: string): number;
  /** The default integration's {@link FakeIntegration.setLinked}. */
  setLinked(model: LinkedModelName, records: Record<string, unknown>[]): void;
  /** The default integration's {@link FakeIntegration.upsertLinked}. */
  upsertLinked(model: LinkedModelName, record: Record<string, unknown>): void;
  /** The `GET /integrations/{id}` requests it received. */
  readonly describeRequests: RecordedRequest[];
  /** Serves one more integration (or returns the one it serves already). */
  addIntegration(id: string, info?: { tool?: string; organization?: string }): FakeIntegration;
  /** Stops serving an integration: Kombo then answers PLATFORM.INTEGRATION_NOT_FOUND. */
  removeIntegration(id: string): void;
  integration(id: string): FakeIntegration | undefined;
  /** Records per page, whatever `page_size` asks for (so a few records make several pages). */
  pageSize: number;
  /** Replaces all records; each is stamped as updated now (by the fake's clock). */
  setRecords(records: Record<string, unknown>[]): void;
  /** Adds or replaces one record by id, stamped as updated now. */
  upsert(record: Record<string, unknown>): void;
  /** The records the fake holds. */
  records(): Record<string, unknown>[];
  /** Makes the next `times` matching requests fail with `fault` (without `when`: interview requests only). */
  fail(fault: Fault, options?: { times?: number; when?: (request: RecordedRequest) => boolean }): void;
  clearFaults(): void;
  /** The fake's notion of now for `updated_after`, in ms; tests move it. */
  clock: number;
  /** Each `padded` answer: the bytes (before gzip) it sent before the client stopped reading, and whether it sent all. */
  readonly streamed: { bytes: number; complete: boolean }[];
  close(): Promise<void>;
}

/** Which record an upsert replaces: Kombo's ids are strings; a test's odd id of another type is a record of its own. */
const keyOf = (record: Record<string, unknown>) => (typeof record.id === 'string' ? record.id : `${typeof record.id}:${JSON.stringify(record.id)}`);
const encodeCursor = (offset: number, lap?: number) => Buffer.from(JSON.stringify({ offset, lap }), 'utf8').toString('base64url');
const decodeCursor = (cursor: string): number | undefined => {
  try {
    // A `long-cursor` pads after a dot, which base64url never holds.
    const parsed = JSON.parse(Buffer.from(cursor.split('.')[0]!, 'base64url').toString('utf8')) as { offset?: unknown };
    return typeof parsed.offset === 'number' ? parsed.offset : undefined;
  } catch {
    return undefined;
  }
};

/** Starts a {@link FakeKombo} on 127.0.0.1 with an ephemeral port. */
export async function startFakeKombo(options: { apiKey?: string; integrationId?: string; pageSize?: number } = {}): Promise<FakeKombo> {
  const apiKey = options.apiKey ?? 'test-kombo-api-key';
  const integrationId = options.integrationId ?? 'greenhouse:test-integration';
  const requests: RecordedRequest[] = [];
  const describeRequests: RecordedRequest[] = [];
  const linkedRequests: RecordedRequest[] = [];
  let faults: ScheduledFault[] = [];
  // Each integration's records, each with the moment the fake last saw it change, which is what `updated_after` filters on.
  type Store = Map<string, { record: Record<string, unknown>; updatedAt: number }>;
  const integrations = new Map<string, FakeIntegration & { store: Store; linked: Map<LinkedModelName, Store> }>();
  function addIntegration(id: string, info: { tool?: string; organization?: string } = {}) {
    const known = integrations.get(id);
    if (known) return known;
    const integration: FakeIntegration & { store: Store; linked: Map<LinkedModelName, Store> } = {
      id,
      linked: new Map(LINKED_MODEL_NAMES.map((model) => [model, new Map()])),
      setLinked(model, records) {
        integration.linked.set(model, new Map(records.map((record) => [keyOf(record), { record, updatedAt: fake.clock }])));
      },
      upsertLinked(model, record) {
        integration.linked.get(model)!.set(keyOf(record), { record, updatedAt: fake.clock });
      },
      tool: info.tool ?? 'Greenhouse',
      organization: info.organization ?? `Organisation of ${id}`,
      errorCode: null,
      store: new Map(),
      setRecords(records) {
        integration.store = new Map(records.map((record) => [keyOf(record), { record, updatedAt: fake.clock }]));
      },
      upsert(record) {
        integration.store.set(keyOf(record), { record, updatedAt: fake.clock });
      },
      records: () => [...integration.store.values()].map((entry) => entry.record),
    };
    integrations.set(id, integration);
    return integration;
  }
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let laps = 0;

  const fake: FakeKombo = {
    baseUrl: '',
    apiKey,
    integrationId,
    requests,
    describeRequests,
    linkedRequests,
    requestsTo: (path) => [...requests, ...linkedRequests].filter((request) => request.path === `/v1${path}`).length,
    setLinked: (model, records) => addIntegration(integrationId).setLinked(model, records),
    upsertLinked: (model, record) => addIntegration(integrationId).upsertLinked(model, record),
    addIntegration,
    removeIntegration: (id) => void integrations.delete(id),
    integration: (id) => integrations.get(id),
    pageSize: options.pageSize ?? 250,
    clock: Date.UTC(2026, 10, 1, 12),
    streamed: [],
    setRecords: (records) => addIntegration(integrationId).setRecords(records),
    upsert: (record) => addIntegration(integrationId).upsert(record),
    records: () => addIntegration(integrationId).records(),
    fail(fault, { times = 1, when } = {}) {
      faults.push({ fault, times, ...(when ? { when } : {}) });
    },
    clearFaults() {
      faults = [];
    },
    async close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }

  function sendPadded(res: ServerResponse, text: string, fault: Extract<Fault, { type: 'padded' }>): void {
    const progress = { bytes: 0, complete: false };
    fake.streamed.push(progress);
    const encoding = fault.gzip ? { 'Content-Encoding': 'gzip' } : { 'Content-Length': String(fault.bytes) };
    res.writeHead(fault.status ?? 200, { 'Content-Type': 'application/json', ...encoding });
    const gzip = fault.gzip ? createGzip({ level: 1 }) : undefined;
    gzip?.pipe(res);
    const out = gzip ?? res;
    res.on('close', () => gzip?.destroy());
    const head = Buffer.from(text, 'utf8').subarray(0, fault.bytes);
    const spaces = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (progress.bytes < fault.bytes) {
        if (res.destroyed) return;
        const chunk = progress.bytes === 0 ? head : spaces.subarray(0, Math.min(spaces.length, fault.bytes - progress.bytes));
        progress.bytes += chunk.length;
        if (!out.write(chunk)) return void out.once('drain', pump);
      }
      progress.complete = true;
      out.end();
    };
    pump();
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: RecordedRequest = {
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      integrationId: req.headers['x-integration-id'] as string | undefined,
    };
    const linkedModel = LINKED_MODEL_NAMES.find((model) => url.pathname === `/v1/ats/${model}`);
    (url.pathname.startsWith('/v1/integrations/') ? describeRequests : linkedModel !== undefined ? linkedRequests : requests).push(request);

    // A fault without a condition hits interview requests only: the tests written before linked models were read
    // count on the interview request failing, whatever else a walk asks.
    const scheduled = faults.find((f) => f.times > 0 && (f.when ? f.when(request) : url.pathname === '/v1/ats/interviews'));
    let repeatCursor = false;
    let answer: Fault | undefined;
    if (scheduled) {
      scheduled.times--;
      const { fault } = scheduled;
      switch (fault.type) {
        case 'status':
          return send(res, fault.status, fault.body ?? { status: 'error', error: { code: null, title: null, message: 'fake failure', log_url: null } }, fault.headers);
        case 'malformed':
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return void res.end('{"status":"success","data":{"next":null,"results":[{"id":');
        case 'invalid-envelope':
          return send(res, 200, { status: 'success', data: { results: 'nope' } });
        case 'drop':
          return void req.socket.destroy();
        case 'hang':
          hanging.add(res);
          return;
        case 'repeat-cursor':
          repeatCursor = true;
          break;
        default:
          answer = fault;
      }
    }

    if (request.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, { status: 'error', error: { code: 'PLATFORM.AUTHENTICATION_INVALID', title: null, message: 'bad key', log_url: null } });
    }
    const notFound = () =>
      send(res, 404, { status: 'error', error: { code: 'PLATFORM.INTEGRATION_NOT_FOUND', title: null, message: 'no such integration', log_url: null } });
    if (url.pathname.startsWith('/v1/integrations/')) {
      const described = integrations.get(decodeURIComponent(url.pathname.slice('/v1/integrations/'.length)));
      if (!described) return notFound();
      return send(res, 200, {
        status: 'success',
        data: { id: described.id, tool: { id: described.tool.toLowerCase(), label: described.tool }, category: 'ATS', status: 'ACTIVE', setup_status: 'COMPLETED', end_user: { organization_name: described.organization, creator_email: null, origin_id: null } },
      });
    }
    const integration = integrations.get(request.integrationId ?? '');
    if (!integration) return notFound();
    if (linkedModel !== undefined) return sendList(res, url, integration.linked.get(linkedModel)!, answer, repeatCursor);
    if (url.pathname !== '/v1/ats/interviews') return send(res, 404, { status: 'error', error: { code: null, message: 'not found' } });
    if (integration.errorCode !== null) {
      return send(res, 400, { status: 'error', error: { code: integration.errorCode, title: null, message: 'integration not ready', log_url: null } });
    }
    sendList(res, url, integration.store, answer, repeatCursor);
  }

  /** One page of a list endpoint: `updated_after`, `include_deleted`, `ids`, cursors and page sizes as Kombo reads them. */
  function sendList(res: ServerResponse, url: URL, store: Store, answer: Fault | undefined, repeatCursor: boolean): void {
    const ids = url.searchParams.get('ids');
    const only = ids === null ? undefined : new Set(ids.split(','));
    const updatedAfter = url.searchParams.get('updated_after');
    const includeDeleted = url.searchParams.get('include_deleted') === 'true';
    const since = updatedAfter === null ? undefined : Date.parse(updatedAfter);
    const all = [...store.values()]
      .filter((entry) => since === undefined || entry.updatedAt > since)
      .filter((entry) => includeDeleted || entry.record.remote_deleted_at == null)
      .filter((entry) => only === undefined || only.has(entry.record.id as string))
      .map((entry) => entry.record);
    const cursor = url.searchParams.get('cursor');
    const offset = cursor === null ? 0 : decodeCursor(cursor);
    if (offset === undefined) return send(res, 400, { status: 'error', error: { code: 'PLATFORM.INPUT_INVALID', message: 'bad cursor' } });
    const size = answer?.type === 'page-size' ? answer.size : Math.min(fake.pageSize, Number(url.searchParams.get('page_size') ?? 100));
    const results = all.slice(offset, offset + size);
    let next = offset + size < all.length ? encodeCursor(offset + size) : null;
    if (repeatCursor) next = encodeCursor(0);
    if (answer?.type === 'endless-cursors') next = encodeCursor(all.length === 0 ? 0 : (offset + size) % all.length, laps++);
    if (answer?.type === 'long-cursor' && next !== null) next = `${next}.${'x'.repeat(answer.length - next.length - 1)}`;
    const envelope = { status: 'success', data: { next, results } };
    if (answer?.type === 'padded') return sendPadded(res, JSON.stringify(envelope), answer);
    send(res, 200, envelope);
  }

  addIntegration(integrationId);
  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  (fake as { baseUrl: string }).baseUrl = `http://127.0.0.1:${port}/v1`;
  return fake;
}

/**
 * Options for a Kombo client against `fake`: its credentials, three attempts, a timeout no slow machine mistakes for
 * a hang (the hang tests set their own), and the fake's clock. Tests add how it sleeps.
 */
export function komboClientOptions(fake: FakeKombo): KomboClientOptions {
  return {
    baseUrl: fake.baseUrl,
    apiKey: fake.apiKey,
    integrationId: fake.integrationId,
    timeoutMs: 10_000,
    policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 },
    now: () => fake.clock,
  };
}
