/*
 * Demo mode: two small companies' interviews (Ada Lovelace interviews for both), shaped exactly like Kombo's `GET /ats/interviews` pages and served by a
 * stand-in for `fetch`, so they run through the same client, pagination, validation, snapshot and rendering as
 * live data. Times are relative to the current day, so the demo calendar always shows upcoming interviews.
 */

/** The demo interviewers, whose feed URLs the server prints at start-up (Ada's in both companies). */
export const DEMO_INTERVIEWERS = [
  { id: 'demo-user-ada', first_name: 'Ada', last_name: 'Lovelace', email: 'ada@demo.example' },
  { id: 'demo-user-grace', first_name: 'Grace', last_name: 'Hopper', email: 'grace@demo.example' },
  { id: 'demo-user-alan', first_name: 'Alan', last_name: 'Turing', email: 'alan@demo.example' },
  { id: 'demo-user-katherine', first_name: 'Katherine', last_name: 'Johnson', email: 'katherine@demo.example' },
] as const;

/** The two demo companies, by integration id: what `GET /integrations/{id}` says of each, and who interviews there. */
export const DEMO_COMPANIES: Readonly<Record<string, { tool: string; organization: string; prefix: string; panel: readonly (typeof DEMO_INTERVIEWERS)[number][] }>> = {
  demo: { tool: 'Greenhouse', organization: 'Acme Robotics', prefix: 'demo', panel: DEMO_INTERVIEWERS.slice(0, 3) },
  'demo-globex': { tool: 'Lever', organization: 'Globex', prefix: 'globex', panel: [DEMO_INTERVIEWERS[0], DEMO_INTERVIEWERS[3]] },
};

const CANDIDATES = [
  ['Marie', 'Curie'],
  ['Niels', 'Bohr'],
  ['Lise', 'Meitner'],
  ['Rosalind', 'Franklin'],
  ['Emmy', 'Noether'],
  ['Srinivasa', 'Ramanujan'],
] as const;
const JOBS = ['Backend Engineer', 'Product Designer', 'Data Scientist, Platform'] as const;
const STAGES = ['Phone screen', 'Technical interview', 'System design', 'Culture & values chat', 'Final round'] as const;
const DEMO_PAGE_SIZE = 4;

function record(n: number, dayStartMs: number, company = DEMO_COMPANIES.demo!): Record<string, unknown> {
  const hour = 60 * 60_000;
  const [first, last] = CANDIDATES[n % CANDIDATES.length]!;
  const job = JOBS[n % JOBS.length]!;
  const stage = STAGES[n % STAGES.length]!;
  const start = dayStartMs + (Math.floor(n / 2) - 2) * 24 * hour + (9 + (n % 2) * 5) * hour;
  const people = company.panel;
  const panel = [people[n % people.length]!, ...(n % 2 === 0 && people.length > 1 ? [people[(n + 1) % people.length]!] : [])];
  const remote = n % 3 !== 0;
  // Changed as the day began: a new day moves every demo interview, and an incremental walk picks that up.
  const changed = new Date(dayStartMs + n * 1000).toISOString();
  return {
    id: `${company.prefix}-interview-${String(n).padStart(3, '0')}`,
    remote_id: String(1000 + n),
    title: `${stage}: ${first} ${last}`,
    starting_at: new Date(start).toISOString(),
    ending_at: n % 5 === 4 ? null : new Date(start + (n % 2 === 0 ? hour : 45 * 60_000)).toISOString(),
    location: remote
      ? null
      : { city: 'Berlin', country: 'DE', raw: null, state: 'Berlin', street_1: 'Lohmühlenstraße 65', street_2: 'Room 3.14 "Ada"', zip_code: '12435' },
    video_conferencing_url: remote ? `https://meet.example.com/demo-${n}` : null,
    application_id: `demo-application-${n}`,
    stage_id: null,
    canceled: n === 7 ? true : n % 4 === 0 ? null : false,
    remote_created_at: changed,
    remote_updated_at: changed,
    remote_data: null,
    changed_at: changed,
    remote_deleted_at: null,
    users: panel.map((user) => ({ ...user, remote_id: user.id })),
    application: {
      id: `demo-application-${n}`,
      remote_id: `${n}`,
      outcome: 'PENDING',
      rejection_reason_name: null,
      candidate: { id: `demo-candidate-${n}`, remote_id: `${n}`, first_name: first, last_name: last, email_addresses: [] },
      job: { id: `demo-job-${n % JOBS.length}`, remote_id: `${n % JOBS.length}`, name: job },
    },
  };
}

/** A demo company's records for the day containing `nowMs`: two weeks of interviews, a canceled one among them. */
export function demoRecords(nowMs: number, integrationId = 'demo'): Record<string, unknown>[] {
  const company = DEMO_COMPANIES[integrationId];
  if (company === undefined) return [];
  const dayStartMs = Math.floor(nowMs / 86_400_000) * 86_400_000;
  // The second company books its interviews half an hour later, so Ada's two calendars never overlap.
  const shift = company.prefix === 'demo' ? 0 : 30 * 60_000;
  return Array.from({ length: company.prefix === 'demo' ? 24 : 12 }, (_, n) => record(n, dayStartMs + shift, company));
}

/**
 * The records demo interviews link to, by model (`users`, `jobs`, `candidates`, `applications`), as Kombo's list
 * endpoints return them: every interviewer active, each application with a deep link into a (made-up) ATS.
 */
export function demoLinkedRecords(nowMs: number, integrationId: string, model: string): Record<string, unknown>[] {
  const company = DEMO_COMPANIES[integrationId];
  if (company === undefined) return [];
  const changed = new Date(Math.floor(nowMs / 86_400_000) * 86_400_000).toISOString();
  const common = { remote_deleted_at: null, changed_at: changed };
  const interviews = demoRecords(nowMs, integrationId);
  const ats = `https://ats.demo.example/${company.prefix}`;
  switch (model) {
    case 'users':
      return company.panel.map((user) => ({ ...user, remote_id: user.id, status: 'ACTIVE', ...common }));
    case 'jobs':
      return JOBS.map((name, n) => ({ id: `demo-job-${n}`, remote_id: String(n), name, confidential: false, visibility: 'PUBLIC', ...common }));
    case 'candidates':
      return interviews.map((_, n) => {
        const [first, last] = CANDIDATES[n % CANDIDATES.length]!;
        return { id: `demo-candidate-${n}`, remote_id: String(n), first_name: first, last_name: last, confidential: false, remote_url: `${ats}/candidates/${n}`, ...common };
      });
    case 'applications':
      return interviews.map((_, n) => ({
        id: `demo-application-${n}`,
        remote_id: String(n),
        candidate_id: `demo-candidate-${n}`,
        job_id: `demo-job-${n % JOBS.length}`,
        remote_url: `${ats}/applications/${n}`,
        ...common,
      }));
    default:
      return [];
  }
}

/**
 * A `fetch` that answers `GET …/ats/interviews` (and the linked models' lists) with the demo company's records (by `X-Integration-Id`), a few to a
 * page, cursors and all, and `GET …/integrations/{id}` with its tool and organisation.
 */
export function createDemoFetch(now: () => number = Date.now): typeof globalThis.fetch {
  const notFound = () => Response.json({ status: 'error', error: { code: 'PLATFORM.INTEGRATION_NOT_FOUND', message: 'not found in demo' } }, { status: 404 });
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const described = /\/integrations\/([^/]+)$/.exec(url.pathname);
    if (described) {
      const id = decodeURIComponent(described[1]!);
      const company = DEMO_COMPANIES[id];
      if (!company) return notFound();
      return Response.json({ status: 'success', data: { id, tool: { label: company.tool }, category: 'ATS', end_user: { organization_name: company.organization } } });
    }
    const integrationId = new Headers(init?.headers).get('x-integration-id') ?? '';
    const model = /\/ats\/(interviews|users|jobs|candidates|applications)$/.exec(url.pathname)?.[1];
    if (model === undefined || !DEMO_COMPANIES[integrationId]) return notFound();
    const updatedAfter = url.searchParams.get('updated_after');
    const ids = url.searchParams.get('ids')?.split(',');
    const records = model === 'interviews' ? demoRecords(now(), integrationId) : demoLinkedRecords(now(), integrationId, model);
    const all = records.filter((r) => (updatedAfter === null || String(r.changed_at) > updatedAfter) && (ids === undefined || ids.includes(String(r.id))));
    const offset = Number(url.searchParams.get('cursor') ?? '0');
    const results = all.slice(offset, offset + DEMO_PAGE_SIZE);
    const next = offset + DEMO_PAGE_SIZE < all.length ? String(offset + DEMO_PAGE_SIZE) : null;
    return Response.json({ status: 'success', data: { next, results } });
  };
}
