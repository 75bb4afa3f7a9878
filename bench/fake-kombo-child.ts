/*
 * The benchmark's fake Kombo, run as a child process so serving pages never competes with the service (or with the
 * bare walker) for the same event loop. Full-walk pages are serialised once and cached, so the fake's own cost is
 * small and the same for every walker; `updated_after` queries are answered from the live records. A control route
 * (`/_bench/...`) lets the benchmark change one interviewer's interview, as an ATS user would, and read what the
 * fake counted: interview and `GET /integrations/{id}` requests apart, and requests per wall-clock second. The linked
 * models (`/ats/users`, `/ats/jobs`, `/ats/candidates`, `/ats/applications`) are served too, by `ids`, `updated_after`
 * and cursor, and counted per model.
 *
 * Usage (by bench/run.ts): fork with argv [count, options as JSON]; it sends { type: 'ready', baseUrl, ... } over
 * IPC. Options: `remoteData: false` serves records without the `remote_data` blob; `integrations: N` serves N
 * integrations (ids from `benchIntegrationIds`) of `count` interviews each, by `X-Integration-Id`, instead of one.
 * `history: { share, activeShare }` makes a share of the records history (ended months to years ago); `windowOnly`
 * then serves the same organisation without them (its in-window records alone); `interviewers: N` spreads each
 * integration's records over N people. `lazy: true` holds no record: each full-walk page is generated when asked
 * (deterministically, from the page's number), and `updated_after` finds nothing, so an organisation of a million
 * records costs the fake a page at a time. `/_bench/mutate` adds, moves or cancels an interview of any integration,
 * and `/_bench/records` hands back what an integration holds, for the soak's checks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateInterviews, type GeneratedInterviewer, type HistoryOptions, type KomboRecord } from './generate-interviews.js';
import { BENCH_API_KEY, BENCH_INTEGRATION_ID, benchIntegrationIds } from './ipc.js';
const PAGE_SIZE = 250;

interface Entry {
  record: KomboRecord;
  updatedAt: number;
}

/** One integration's data, as the fake serves it. */
interface Served {
  id: string;
  organization: string;
  interviewers: GeneratedInterviewer[];
  entries: Entry[];
  /** What a full walk lists: deleted records only come with include_deleted=true. */
  listed: Entry[];
  listedIndex: Map<Entry, number>;
  pageCache: Map<number, Buffer>;
  /** Each interviewer's live interviews, for the change control route; a change moves round-robin through them. */
  liveByEmail: Map<string, Entry[]>;
  /** The linked models' records, by model and id. */
  linked: Map<string, Map<string, KomboRecord>>;
}

const LINKED_MODELS = ['users', 'jobs', 'candidates', 'applications'] as const;

const count = Number(process.argv[2] ?? 50_000);
const settings = JSON.parse(process.argv[3] ?? '{}') as {
  remoteData?: boolean;
  integrations?: number;
  history?: HistoryOptions;
  windowOnly?: boolean;
  interviewers?: number;
  lazy?: boolean;
  /** The clock the records are generated around (two fakes given the same one serve the same records). */
  nowMs?: number;
};
const generatedAt = settings.nowMs ?? Date.now();
const ids = settings.integrations === undefined ? [BENCH_INTEGRATION_ID] : benchIntegrationIds(settings.integrations);
const served = new Map<string, Served>();
/** Lists what a full walk reads again, and who is on which live interview, after the records changed. */
function relist(integration: Served): void {
  integration.listed = integration.entries.filter((entry) => entry.record.remote_deleted_at == null);
  integration.listedIndex = new Map(integration.listed.map((entry, i) => [entry, i]));
  integration.pageCache.clear();
  integration.liveByEmail.clear();
  for (const entry of integration.listed) {
    if (entry.record.canceled === true) continue;
    for (const user of entry.record.users as { email: string | null }[]) {
      if (user.email === null) continue;
      const email = user.email.toLowerCase();
      let list = integration.liveByEmail.get(email);
      if (!list) integration.liveByEmail.set(email, (list = []));
      list.push(entry);
    }
  }
}
/** The lazy organisation's people: every page names the same emails (their Kombo ids differ by page). */
const LAZY_INTERVIEWERS = 1_000;
const LAZY_SEED = 20_261_101;
for (const [n, id] of ids.entries()) {
  const org = settings.lazy
    ? { records: [], interviewers: generateInterviews(1, { nowMs: generatedAt, seed: LAZY_SEED, interviewers: LAZY_INTERVIEWERS }).interviewers, history: [], linked: undefined }
    : generateInterviews(count, {
        nowMs: generatedAt,
        seed: 20_261_101 + n,
        remoteData: settings.remoteData ?? true,
        ...(settings.history ? { history: settings.history } : {}),
        ...(settings.interviewers ? { interviewers: settings.interviewers } : {}),
      });
  const kept = settings.windowOnly ? org.records.filter((_, i) => !org.history[i]) : org.records;
  // Every record was last touched two days ago (by the fake's clock, which is the real one).
  const entries: Entry[] = kept.map((record) => ({ record, updatedAt: generatedAt - 2 * 86_400_000 }));
  // The linked models as a full walk's records name them (the lazy organisation serves none: its walk reads no ids).
  const linked = new Map(LINKED_MODELS.map((model) => [model as string, new Map((org.linked?.[model] ?? []).map((record) => [record.id, record]))]));
  const integration: Served = { id, organization: `Bench Company ${n}`, interviewers: org.interviewers, entries, listed: [], listedIndex: new Map(), pageCache: new Map(), liveByEmail: new Map(), linked };
  relist(integration);
  served.set(id, integration);
}

/**
 * The lazy organisation's pages are LAZY_TEMPLATES generated pages, served in turn with every record's id made
 * unique to the page: generating 250 records costs tens of milliseconds, which would make the fake, not the service,
 * the slow side of a million-record walk. Each template is kept as its JSON cut at the ids, so a page costs a join.
 */
const LAZY_TEMPLATES = 8;
const ID_MARK = '@@bench-id@@';
const lazyTemplates = settings.lazy
  ? Array.from({ length: LAZY_TEMPLATES }, (_, t) => {
      const records = generateInterviews(PAGE_SIZE, {
        nowMs: generatedAt,
        seed: LAZY_SEED + 1 + t,
        remoteData: false,
        interviewers: LAZY_INTERVIEWERS,
        firstIndex: t * PAGE_SIZE,
        history: settings.history ?? { share: 1 },
      }).records;
      return { ids: records.map((record) => record.id), parts: JSON.stringify(records.map((record) => ({ ...record, id: ID_MARK }))).split(`"${ID_MARK}"`) };
    })
  : [];

/** Page `page` of the lazy organisation: a template's records, each id ending in the page's number. */
function lazyPage(page: number): Buffer {
  const template = lazyTemplates[page % LAZY_TEMPLATES]!;
  const size = Math.min(PAGE_SIZE, count - page * PAGE_SIZE);
  const suffix = page.toString(36).padStart(8, '0');
  // The id is each record's first key: part i + 1 holds the rest of record i and the start of record i + 1.
  let results = template.parts[0]!;
  for (let i = 0; i < size; i++) results += JSON.stringify(template.ids[i]!.slice(0, 16) + suffix) + template.parts[i + 1]!;
  if (size < PAGE_SIZE) results = `${results.slice(0, -',{"id":'.length)}]`;
  const next = (page + 1) * PAGE_SIZE < count ? encodeCursor((page + 1) * PAGE_SIZE) : null;
  return Buffer.from(`{"status":"success","data":{"next":${JSON.stringify(next)},"results":${results}}}`, 'utf8');
}

const first = served.values().next().value!;
let interviewRequests = 0;
let describeRequests = 0;
/** Requests to each linked model's endpoint. */
const linkedRequests: Record<string, number> = { users: 0, jobs: 0, candidates: 0, applications: 0 };
let bytesServed = 0;
/** Requests (interviews and integrations) per wall-clock second, keyed by the second since the epoch. */
const perSecond = new Map<number, number>();

const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
function decodeCursor(cursor: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset?: unknown };
    return typeof parsed.offset === 'number' ? parsed.offset : undefined;
  } catch {
    return undefined;
  }
}

function pageBody(list: readonly Entry[], offset: number, size: number): Buffer {
  const results = list.slice(offset, offset + size).map((entry) => entry.record);
  const next = offset + size < list.length ? encodeCursor(offset + size) : null;
  return Buffer.from(JSON.stringify({ status: 'success', data: { next, results } }), 'utf8');
}

function send(res: ServerResponse, status: number, body: Buffer | string): void {
  bytesServed += Buffer.byteLength(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

let changes = 0;

function control(url: URL, res: ServerResponse): void {
  if (url.pathname === '/_bench/stats') {
    const requests = interviewRequests + describeRequests;
    return send(res, 200, JSON.stringify({ requests, interviewRequests, describeRequests, linkedRequests, bytesServed, records: first.entries.length, listed: first.listed.length }));
  }
  if (url.pathname === '/_bench/seconds') {
    // Requests in each whole second from `from` up to (not including) `to`, both in seconds since the epoch.
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    return send(res, 200, JSON.stringify(Array.from({ length: Math.max(0, to - from) }, (_, i) => perSecond.get(from + i) ?? 0)));
  }
  const named = url.searchParams.get('integration');
  const integration = named === null ? first : served.get(named);
  if (integration === undefined) return send(res, 404, '{"error":"no such integration"}');
  if (url.pathname === '/_bench/interviewers') {
    return send(res, 200, JSON.stringify(integration.interviewers.map((person) => ({ ...person, live: integration.liveByEmail.get(person.email)?.length ?? 0 }))));
  }
  if (url.pathname === '/_bench/records') return send(res, 200, JSON.stringify(integration.entries.map((entry) => entry.record)));
  // The ids of the confidential jobs and candidates: their interviews' feeds name neither (see the soak's checks).
  if (url.pathname === '/_bench/confidential') {
    const confidential = (model: string) =>
      [...(integration.linked.get(model)?.values() ?? [])].filter((record) => record.confidential === true || record.visibility === 'CONFIDENTIAL').map((record) => record.id);
    return send(res, 200, JSON.stringify({ jobs: confidential('jobs'), candidates: confidential('candidates') }));
  }
  if (url.pathname === '/_bench/mutate') return send(res, 200, JSON.stringify(mutate(integration, url.searchParams.get('kind') ?? 'move')));
  if (url.pathname === '/_bench/change') {
    // Moves one of this interviewer's interviews by 30 minutes and renames it, stamped as changed now.
    const email = url.searchParams.get('email') ?? '';
    const list = first.liveByEmail.get(email);
    if (!list || list.length === 0) return send(res, 404, '{"error":"no such interviewer"}');
    const entry = list[changes++ % list.length]!;
    const record = entry.record;
    const moved = (value: unknown) => (typeof value === 'string' ? new Date(Date.parse(value) + 1_800_000).toISOString() : value);
    const nowIso = new Date().toISOString();
    entry.record = { ...record, title: `${String(record.title ?? 'Interview')} (moved ${changes})`, starting_at: moved(record.starting_at), ending_at: moved(record.ending_at), changed_at: nowIso, remote_updated_at: nowIso };
    entry.updatedAt = Date.now();
    const index = first.listedIndex.get(entry);
    if (index !== undefined) first.pageCache.delete(Math.floor(index / PAGE_SIZE));
    return send(res, 200, JSON.stringify({ id: record.id }));
  }
  send(res, 404, '{}');
}

let added = 0;
/**
 * One change an ATS user makes, stamped as changed now: `add` schedules a new interview for one of the integration's
 * people in the next four weeks, `move` moves a live one by an hour and renames it, `cancel` cancels a live one.
 */
function mutate(integration: Served, kind: string): { kind: string; id: string } | { kind: string; id: null } {
  const nowMs = Date.now();
  const nowIso = new Date(nowMs).toISOString();
  const live = integration.entries.filter((entry) => entry.record.canceled !== true && entry.record.remote_deleted_at == null && typeof entry.record.starting_at === 'string');
  if (kind === 'add' || live.length === 0) {
    const person = integration.interviewers[added % integration.interviewers.length]!;
    const startMs = Math.floor(nowMs / 900_000) * 900_000 + (1 + (added % 28)) * 86_400_000;
    const id = `soak-${integration.id}-${++added}`;
    const record: KomboRecord = {
      id,
      title: `Soak interview ${added}`,
      starting_at: new Date(startMs).toISOString(),
      ending_at: new Date(startMs + 3_600_000).toISOString(),
      location: null,
      video_conferencing_url: null,
      canceled: false,
      changed_at: nowIso,
      remote_updated_at: nowIso,
      remote_deleted_at: null,
      users: [{ id: `user-${person.email}`, first_name: person.firstName, last_name: person.lastName, email: person.email }],
      application: null,
    };
    integration.entries.push({ record, updatedAt: nowMs });
    relist(integration);
    return { kind: 'add', id };
  }
  const entry = live[(added++ * 7919) % live.length]!;
  const record = entry.record;
  if (kind === 'cancel') entry.record = { ...record, canceled: true, changed_at: nowIso, remote_updated_at: nowIso };
  else {
    const moved = (value: unknown) => (typeof value === 'string' ? new Date(Date.parse(value) + 3_600_000).toISOString() : value);
    entry.record = { ...record, title: `Moved interview ${added}`, starting_at: moved(record.starting_at), ending_at: moved(record.ending_at), changed_at: nowIso, remote_updated_at: nowIso };
  }
  entry.updatedAt = nowMs;
  relist(integration);
  return { kind, id: record.id };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://fake');
  if (url.pathname.startsWith('/_bench/')) return control(url, res);
  const second = Math.floor(Date.now() / 1000);
  perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  const describing = url.pathname.startsWith('/v1/integrations/');
  const model = /^\/v1\/ats\/(users|jobs|candidates|applications)$/.exec(url.pathname)?.[1];
  if (describing) describeRequests++;
  else if (model !== undefined) linkedRequests[model]!++;
  else interviewRequests++;
  const integration = served.get(String(req.headers['x-integration-id']));
  if (req.headers.authorization !== `Bearer ${BENCH_API_KEY}` || integration === undefined) {
    return send(res, 401, '{"status":"error","error":{"code":"PLATFORM.AUTHENTICATION_INVALID","message":"bad key"}}');
  }
  if (describing) {
    const data = { id: integration.id, tool: { id: 'greenhouse', label: 'Greenhouse' }, category: 'ATS', status: 'ACTIVE', setup_status: 'COMPLETED', end_user: { organization_name: integration.organization, creator_email: null, origin_id: null } };
    return send(res, 200, JSON.stringify({ status: 'success', data }));
  }
  if (model !== undefined) return sendLinked(res, url, integration.linked.get(model)!);
  if (url.pathname !== '/v1/ats/interviews') return send(res, 404, '{"status":"error","error":{"code":null,"message":"not found"}}');
  const cursor = url.searchParams.get('cursor');
  const offset = cursor === null ? 0 : decodeCursor(cursor);
  if (offset === undefined) return send(res, 400, '{"status":"error","error":{"code":"PLATFORM.INPUT_INVALID","message":"bad cursor"}}');
  const size = Math.min(PAGE_SIZE, Number(url.searchParams.get('page_size') ?? 100));
  const updatedAfter = url.searchParams.get('updated_after');
  if (settings.lazy) {
    // Nothing changes in the lazy organisation; a full walk's pages are made as they are asked for.
    if (updatedAfter !== null || size !== PAGE_SIZE || offset % PAGE_SIZE !== 0 || offset >= count) return send(res, 200, '{"status":"success","data":{"next":null,"results":[]}}');
    return send(res, 200, lazyPage(offset / PAGE_SIZE));
  }
  if (updatedAfter === null && size === PAGE_SIZE && offset % PAGE_SIZE === 0) {
    const page = offset / PAGE_SIZE;
    let body = integration.pageCache.get(page);
    if (body === undefined) integration.pageCache.set(page, (body = pageBody(integration.listed, offset, size)));
    return send(res, 200, body);
  }
  const since = updatedAfter === null ? -Infinity : Date.parse(updatedAfter);
  const includeDeleted = url.searchParams.get('include_deleted') === 'true';
  const matching = integration.entries.filter((entry) => entry.updatedAt > since && (includeDeleted || entry.record.remote_deleted_at == null));
  send(res, 200, pageBody(matching, offset, size));
}

/** A page of a linked model: the records of `ids`, or those changed after `updated_after` (none change here). */
function sendLinked(res: ServerResponse, url: URL, records: Map<string, KomboRecord>): void {
  const ids = url.searchParams.get('ids');
  const updatedAfter = url.searchParams.get('updated_after');
  const since = updatedAfter === null ? -Infinity : Date.parse(updatedAfter);
  const matching = (ids === null ? [...records.values()] : ids.split(',').flatMap((id) => records.get(id) ?? [])).filter((record) => Date.parse(String(record.changed_at)) > since);
  const cursor = url.searchParams.get('cursor');
  const offset = cursor === null ? 0 : decodeCursor(cursor);
  if (offset === undefined) return send(res, 400, '{"status":"error","error":{"code":"PLATFORM.INPUT_INVALID","message":"bad cursor"}}');
  const size = Math.min(PAGE_SIZE, Number(url.searchParams.get('page_size') ?? 100));
  const results = matching.slice(offset, offset + size);
  const next = offset + size < matching.length ? encodeCursor(offset + size) : null;
  send(res, 200, JSON.stringify({ status: 'success', data: { next, results } }));
}

// Serialise every full-walk page up front, so the first walker measured does not pay for it.
let totalBytes = 0;
for (const integration of served.values()) {
  for (let offset = 0; offset < integration.listed.length; offset += PAGE_SIZE) {
    const body = pageBody(integration.listed, offset, PAGE_SIZE);
    integration.pageCache.set(offset / PAGE_SIZE, body);
    totalBytes += body.length;
  }
}

const server = createServer(handle);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({
    type: 'ready',
    baseUrl: `http://127.0.0.1:${port}/v1`,
    controlUrl: `http://127.0.0.1:${port}/_bench`,
    records: settings.lazy ? count : [...served.values()].reduce((sum, integration) => sum + integration.entries.length, 0),
    listed: settings.lazy ? count : [...served.values()].reduce((sum, integration) => sum + integration.listed.length, 0),
    interviewers: first.interviewers.length,
    fullWalkBytes: totalBytes,
  });
});
process.on('disconnect', () => process.exit(0));
