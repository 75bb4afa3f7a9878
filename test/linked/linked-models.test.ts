import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs, type ParsedCalendar } from '../helpers/ics.js';
import { admin } from '../helpers/integrations.js';
import { buildTestService, WEBHOOK_SECRET } from '../helpers/test-service.js';
import { signIn } from '../admin-page/page-fixtures.js';

/*
 * The ATS records interviews link to (users, jobs, candidates, applications) change without the interviews'
 * `changed_at` moving: every refresh asks them what changed, and feeds follow.
 */

const MINUTE = 60_000;
const ADA = 'ada@example.com';
const GRACE = 'grace@example.com';
type TestService = ReturnType<typeof buildTestService>;

const user = (email: string, first: string, last: string, extra: Record<string, unknown> = {}) => ({
  id: `user-${email}`,
  remote_id: email,
  first_name: first,
  last_name: last,
  email,
  status: 'ACTIVE',
  remote_deleted_at: null,
  changed_at: '2026-10-01T09:00:00.000Z',
  ...extra,
});
const job = (id: string, name: string, extra: Record<string, unknown> = {}) => ({ id, remote_id: id, name, confidential: false, visibility: 'PUBLIC', remote_deleted_at: null, ...extra });
const candidate = (id: string, first: string, last: string, extra: Record<string, unknown> = {}) => ({
  id,
  remote_id: id,
  first_name: first,
  last_name: last,
  confidential: false,
  remote_url: `https://ats.example.com/candidates/${id}`,
  remote_deleted_at: null,
  ...extra,
});
const application = (id: string, candidateId: string, jobId: string, extra: Record<string, unknown> = {}) => ({
  id,
  remote_id: id,
  candidate_id: candidateId,
  job_id: jobId,
  remote_url: `https://ats.example.com/applications/${id}`,
  remote_deleted_at: null,
  ...extra,
});

/** Two interviews of Marie Curie's application to Backend Engineer: Ada alone, then Ada with Grace. */
function seed(fake: FakeKombo): void {
  const ada = komboUser(ADA, 'Ada', 'Lovelace');
  const grace = komboUser(GRACE, 'Grace', 'Hopper');
  fake.setRecords([
    interviewRecord({ id: 'iv-1', title: 'Technical interview', users: [ada] }),
    interviewRecord({ id: 'iv-2', title: 'Onsite with Marie Curie', starting_at: '2026-12-02T10:00:00.000Z', ending_at: '2026-12-02T11:00:00.000Z', users: [ada, grace] }),
  ]);
  fake.setLinked('users', [user(ADA, 'Ada', 'Lovelace'), user(GRACE, 'Grace', 'Hopper')]);
  fake.setLinked('jobs', [job('job-1', 'Backend Engineer')]);
  fake.setLinked('candidates', [candidate('cand-1', 'Marie', 'Curie')]);
  fake.setLinked('applications', [application('app-1', 'cand-1', 'job-1')]);
}

async function calendar(service: Service, path: string): Promise<ParsedCalendar> {
  const res = await request(service.app).get(path).expect(200);
  return parseIcs(res.text);
}
const personPath = (service: Service, email: string, detail?: 'full' | 'private' | 'busy') =>
  `/feeds/${service.tokens.encode({ integrationId: service.config.kombo.integrationIds[0]!, email, ...(detail ? { detail } : {}) })}.ics`;
const teamPath = (service: Service, detail?: 'full' | 'private' | 'busy') =>
  `/feeds/${service.tokens.encode({ integrationId: service.config.kombo.integrationIds[0]!, team: { job: 'job-1' }, ...(detail ? { detail } : {}) })}.ics`;
/** An admin page, signed in. */
async function adminPage(service: Service, path: string): Promise<string> {
  const { cookie } = await signIn(service);
  return (await request(service.app).get(path).set('Cookie', cookie).expect(200)).text;
}
const descriptions = (cal: ParsedCalendar) => cal.events.map((event) => event.description ?? '');

describe('linked models: changes reach feeds at the next incremental refresh', () => {
  let fake: FakeKombo;
  let service: TestService;

  beforeEach(async () => {
    fake = await startFakeKombo();
    seed(fake);
    fake.clock += 10 * MINUTE;
    service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full' });
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  /** Kombo changes a linked record (no interview's changed_at moves), and the service refreshes incrementally. */
  async function changeLinked(model: Parameters<FakeKombo['upsertLinked']>[0], record: Record<string, unknown>): Promise<void> {
    fake.clock += 10 * MINUTE;
    fake.upsertLinked(model, record);
    fake.clock += MINUTE;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental' });
  }

  it('a renamed candidate reaches the personal and team feeds (full level; private shows no candidate anyway)', async () => {
    await changeLinked('candidates', candidate('cand-1', 'Marie', 'Skłodowska-Curie'));
    for (const cal of [await calendar(service, personPath(service, ADA)), await calendar(service, teamPath(service, 'full'))]) {
      expect(descriptions(cal).every((d) => d.includes('Candidate: Marie Skłodowska-Curie'))).toBe(true);
    }
    expect(descriptions(await calendar(service, personPath(service, ADA, 'private'))).some((d) => d.includes('Marie'))).toBe(false);
  });

  it('a renamed job reaches personal, private-level and team feeds, and the team calendar name', async () => {
    await changeLinked('jobs', job('job-1', 'Platform Engineer'));
    for (const path of [personPath(service, ADA), teamPath(service, 'full'), teamPath(service, 'private')]) {
      expect(descriptions(await calendar(service, path)).every((d) => d.includes('Job: Platform Engineer'))).toBe(true);
    }
    const priv = await calendar(service, personPath(service, ADA, 'private'));
    expect(priv.events.map((e) => e.summary)).toEqual(['Interview: Platform Engineer', 'Interview: Platform Engineer']);
    expect((await calendar(service, teamPath(service, 'full'))).name).toBe('Interviews: Platform Engineer');
  });

  it("a renamed interviewer reaches the other interviewers' feeds, private level included, the team feed and their own calendar name", async () => {
    await changeLinked('users', user(GRACE, 'Grace', 'Brewster Hopper'));
    expect(descriptions(await calendar(service, personPath(service, ADA, 'private'))).at(-1)).toContain('Other interviewers: Grace Brewster Hopper');
    expect(descriptions(await calendar(service, teamPath(service))).at(-1)).toContain('Interviewers: Ada Lovelace, Grace Brewster Hopper');
    expect((await calendar(service, personPath(service, GRACE))).name).toBe('Interviews: Grace Brewster Hopper');
  });

  it('an unchanged refresh asks each model once: five requests in all', async () => {
    const before = { interviews: fake.requestsTo('/ats/interviews'), linked: fake.linkedRequests.length };
    fake.clock += 10 * MINUTE;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental', changes: 0 });
    expect(fake.requestsTo('/ats/interviews') - before.interviews).toBe(1);
    const asked = fake.linkedRequests.slice(before.linked);
    expect(asked.map((r) => r.path).sort()).toEqual(['/v1/ats/applications', '/v1/ats/candidates', '/v1/ats/jobs', '/v1/ats/users']);
    for (const r of asked) expect(r.query).toMatchObject({ updated_after: expect.stringMatching(/Z$/), include_deleted: 'true' });
  });

  it('the ATS link is on its own labelled line at full and private level, none at busy, and follows a change', async () => {
    const url = 'https://ats.example.com/applications/app-1';
    for (const detail of ['full', 'private'] as const) {
      expect(descriptions(await calendar(service, personPath(service, ADA, detail))).every((d) => d.split('\n').includes(`Open in ATS: ${url}`))).toBe(true);
    }
    const busy = await request(service.app).get(personPath(service, ADA, 'busy')).expect(200);
    expect(busy.text).not.toContain('ats.example.com');
    await changeLinked('applications', application('app-1', 'cand-1', 'job-1', { remote_url: 'https://ats.example.com/v2/app-1' }));
    expect(descriptions(await calendar(service, personPath(service, ADA))).every((d) => d.includes('Open in ATS: https://ats.example.com/v2/app-1'))).toBe(true);
    // An application without a link of its own: the candidate's.
    await changeLinked('applications', application('app-1', 'cand-1', 'job-1', { remote_url: null }));
    expect(descriptions(await calendar(service, personPath(service, ADA))).every((d) => d.includes('Open in ATS: https://ats.example.com/candidates/cand-1'))).toBe(true);
  });

  it('a linked record that fails validation keeps its last good version; the others apply', async () => {
    fake.clock += 10 * MINUTE;
    // No readable id: refused alone (and logged).
    fake.upsertLinked('jobs', { id: 12345, name: 'Numeric id' });
    // A display field of the wrong type reads as absent, as for interviews: the job keeps the name it had.
    fake.upsertLinked('jobs', { id: 'job-1', name: 42, visibility: ['CONFIDENTIAL'] });
    fake.upsertLinked('candidates', candidate('cand-1', 'Marie', 'Skłodowska-Curie'));
    fake.clock += MINUTE;
    await service.sync.refresh();
    const [first] = descriptions(await calendar(service, personPath(service, ADA)));
    expect(first).toContain('Job: Backend Engineer');
    expect(first).toContain('Candidate: Marie Skłodowska-Curie');
    expect(service.logs.lines.some((line) => line.model === 'jobs' && line.path === 'id')).toBe(true);
  });

  it('a linked model that cannot be read keeps its records, and the interviews still arrive', async () => {
    fake.clock += 10 * MINUTE;
    fake.upsert(interviewRecord({ id: 'iv-3', title: 'Bar raiser', starting_at: '2026-12-03T10:00:00.000Z', users: [komboUser(ADA, 'Ada', 'Lovelace')] }));
    fake.upsertLinked('jobs', job('job-1', 'Platform Engineer'));
    fake.fail({ type: 'status', status: 500 }, { times: 10, when: (r) => r.path === '/v1/ats/jobs' });
    fake.clock += MINUTE;
    await service.sync.refresh();
    const cal = await calendar(service, personPath(service, ADA));
    expect(cal.events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2', 'iv-3']);
    expect(descriptions(cal).every((d) => d.includes('Job: Backend Engineer'))).toBe(true);
    // The next refresh asks again from the last good read, and the rename arrives.
    fake.clearFaults();
    fake.clock += MINUTE;
    await service.sync.refresh();
    expect(descriptions(await calendar(service, personPath(service, ADA))).every((d) => d.includes('Job: Platform Engineer'))).toBe(true);
  });
});

describe("linked models: a person's link follows the person", () => {
  let fake: FakeKombo;
  let service: TestService;

  beforeEach(async () => {
    fake = await startFakeKombo();
    seed(fake);
    fake.clock += 10 * MINUTE;
    service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    await service.sync.refresh();
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  async function refreshAfter(change: () => void): Promise<void> {
    fake.clock += 10 * MINUTE;
    change();
    fake.clock += MINUTE;
    await service.sync.refresh();
  }

  it('an email change keeps the old link serving the same events, and the new address gets them too', async () => {
    const before = await calendar(service, personPath(service, ADA));
    await refreshAfter(() => fake.upsertLinked('users', user('ada.byron@example.org', 'Ada', 'Lovelace', { id: `user-${ADA}` })));
    const old = await calendar(service, personPath(service, ADA));
    const fresh = await calendar(service, personPath(service, 'ada.byron@example.org'));
    expect(old.events.map((e) => e.uid)).toEqual(before.events.map((e) => e.uid));
    expect(fresh.events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
    // Later the interviews themselves carry the new address (Kombo updates them): still the same person.
    await refreshAfter(() => {
      for (const record of fake.records()) {
        fake.upsert({ ...record, users: [komboUser('ada.byron@example.org', 'Ada', 'Lovelace'), ...((record.users as { email: string }[]).slice(1))].map((u, i) => (i === 0 ? { ...u, id: `user-${ADA}` } : u)) });
      }
    });
    expect((await calendar(service, personPath(service, ADA))).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);

    // The admin page lists the person once, under the new address, noting the old one.
    const page = await adminPage(service, `/admin/i/${encodeURIComponent(fake.integrationId)}`);
    expect(page).toContain('ada.byron@example.org');
    expect(page).toMatch(/formerly ada@example\.com/);
    expect(page.match(/<span class="email">ada/g)).toHaveLength(1);
  });

  it("a revocation of either address revokes the person's link", async () => {
    await refreshAfter(() => fake.upsertLinked('users', user('ada.byron@example.org', 'Ada', 'Lovelace', { id: `user-${ADA}` })));
    const oldPath = personPath(service, ADA);
    await request(service.app).get(oldPath).expect(200);
    await admin(service, 'post', '/admin/feed-url/revoke').set('Content-Type', 'application/json').send(JSON.stringify({ integration: fake.integrationId, email: 'ada.byron@example.org' })).expect(200);
    await request(service.app).get(oldPath).expect(404);
    await request(service.app).get(personPath(service, 'ada.byron@example.org')).expect(404);
  });

  it.each([
    ['INACTIVE', { status: 'INACTIVE' }],
    ['deleted', { remote_deleted_at: '2026-11-01T12:00:00.000Z' }],
  ])('a user who becomes %s: every link of theirs answers 404 within one refresh, team feeds unchanged; ACTIVE again brings the link back', async (_name, change) => {
    const teamBefore = (await request(service.app).get(teamPath(service)).expect(200)).text;
    await refreshAfter(() => fake.upsertLinked('users', user(GRACE, 'Grace', 'Hopper', change)));
    const gone = await request(service.app).get(personPath(service, GRACE)).expect(404);
    const unknown = await request(service.app).get('/feeds/not-a-token.ics').expect(404);
    expect(gone.body).toEqual(unknown.body);
    await request(service.app).get(personPath(service, GRACE, 'busy')).expect(404);
    expect((await request(service.app).get(teamPath(service)).expect(200)).text).toBe(teamBefore);
    await request(service.app).get(personPath(service, ADA)).expect(200);
    const page = await adminPage(service, `/admin/i/${encodeURIComponent(fake.integrationId)}`);
    expect(page).toMatch(/grace@example\.com<\/span><br><strong class="inactive">inactive in the ATS/);
    expect(page).not.toMatch(/ada@example\.com<\/span><br><strong class="inactive">/);

    await refreshAfter(() => fake.upsertLinked('users', user(GRACE, 'Grace', 'Hopper')));
    expect((await calendar(service, personPath(service, GRACE))).events.map((e) => e.uid)).toEqual(['iv-2']);
  });
});

describe('linked models: confidential searches', () => {
  let fake: FakeKombo;
  let service: TestService;
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  async function start(env: Record<string, string> = {}, change?: (fake: FakeKombo) => void): Promise<void> {
    fake = await startFakeKombo();
    seed(fake);
    change?.(fake);
    fake.clock += 10 * MINUTE;
    service = buildTestService(fake, { env, overrides: { timeoutMs: 10_000 } });
    await service.sync.refresh();
  }

  const everything = async () => {
    const texts: string[] = [];
    for (const detail of ['full', 'private', 'busy'] as const) {
      for (const path of [personPath(service, ADA, detail), personPath(service, GRACE, detail), teamPath(service, detail)]) {
        const res = await request(service.app).get(path).expect(200);
        parseIcs(res.text);
        texts.push(res.text);
      }
    }
    const all = `/feeds/${service.tokens.encode({ integrationId: fake.integrationId, team: 'all' })}.ics`;
    texts.push((await request(service.app).get(all).expect(200)).text);
    return texts.join('\n');
  };

  it.each([
    ['visibility CONFIDENTIAL', { visibility: 'CONFIDENTIAL' }],
    ['the older confidential: true', { confidential: true }],
  ])('a job with %s shows neither job nor candidate in any feed or calendar name; times, UIDs and the ATS link stay', async (_name, flags) => {
    await start({}, (f) => f.setLinked('jobs', [job('job-1', 'Backend Engineer', flags)]));
    const text = await everything();
    for (const name of ['Backend Engineer', 'Marie', 'Curie', 'Onsite with']) expect(text).not.toContain(name);
    const cal = await calendar(service, personPath(service, ADA));
    expect(cal.events.map((e) => [e.uid, e.start])).toEqual([
      ['iv-1', '2026-12-01T10:00:00.000Z'],
      ['iv-2', '2026-12-02T10:00:00.000Z'],
    ]);
    expect(cal.events.every((e) => e.summary === 'Interview' && e.description!.includes('Open in ATS: https://ats.example.com/applications/app-1'))).toBe(true);
    expect(cal.events.every((e) => e.location !== null)).toBe(true);
    expect(await adminPage(service, `/admin/i/${encodeURIComponent(fake.integrationId)}/teams`)).not.toContain('Backend Engineer');
  });

  it('a confidential candidate is not named; the job still is', async () => {
    await start({}, (f) => f.setLinked('candidates', [candidate('cand-1', 'Marie', 'Curie', { confidential: true })]));
    const text = await everything();
    for (const name of ['Marie', 'Curie', 'Onsite with']) expect(text).not.toContain(name);
    expect((await calendar(service, personPath(service, ADA))).events.map((e) => e.summary)).toEqual(['Interview (Backend Engineer)', 'Interview (Backend Engineer)']);
  });

  it('a search made confidential later leaves the feeds at the next refresh', async () => {
    await start();
    expect(await everything()).toContain('Marie Curie');
    fake.clock += 10 * MINUTE;
    fake.upsertLinked('jobs', job('job-1', 'Backend Engineer', { visibility: 'CONFIDENTIAL' }));
    fake.clock += MINUTE;
    await service.sync.refresh();
    expect(await everything()).not.toContain('Marie');
  });

  it.each([
    ['/v1/ats/jobs', ['Backend Engineer', 'Marie', 'Curie', 'Onsite with']],
    ['/v1/ats/candidates', ['Marie', 'Curie', 'Onsite with']],
  ])('a first walk that cannot read %s hides the names it cannot vouch for; they show once it is read', async (path, hidden) => {
    await start({}, (f) => f.fail({ type: 'status', status: 500 }, { times: 1_000, when: (r) => r.path === path }));
    const text = await everything();
    for (const name of hidden) expect(text).not.toContain(name);
    expect((await calendar(service, personPath(service, ADA))).events.map((e) => e.uid)).toEqual(['iv-1', 'iv-2']);
    fake.clearFaults();
    fake.clock += 10 * MINUTE;
    await service.sync.refresh();
    const shown = await everything();
    for (const name of hidden) expect(shown).toContain(name);
  });

  it('SHOW_CONFIDENTIAL_NAMES=true shows the names anyway', async () => {
    await start({ SHOW_CONFIDENTIAL_NAMES: 'true' }, (f) => f.setLinked('jobs', [job('job-1', 'Backend Engineer', { visibility: 'CONFIDENTIAL' })]));
    const text = await everything();
    expect(text).toContain('Backend Engineer');
    expect(text).toContain('Marie Curie');
  });
});

describe('linked models: which application an interview belongs to', () => {
  it('the embedded application.id wins over application_id when the two differ', async () => {
    const fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', application_id: 'app-stale', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
    fake.setLinked('applications', [application('app-1', 'cand-1', 'job-1'), application('app-stale', 'cand-x', 'job-x', { remote_url: 'https://ats.example.com/wrong' })]);
    fake.setLinked('candidates', [candidate('cand-1', 'Marie', 'Curie')]);
    const service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    try {
      await service.sync.refresh();
      const [event] = (await calendar(service, personPath(service, ADA))).events;
      expect(event!.description).toContain('Open in ATS: https://ats.example.com/applications/app-1');
      expect(event!.description).not.toContain('wrong');
      // Without an embedded application, application_id names it.
      fake.clock += 10 * MINUTE;
      fake.upsert(interviewRecord({ id: 'iv-1', application: null, application_id: 'app-stale', users: [komboUser(ADA, 'Ada', 'Lovelace')], changed_at: new Date(fake.clock).toISOString() }));
      fake.clock += MINUTE;
      await service.sync.refresh();
      const [after] = (await calendar(service, personPath(service, ADA))).events;
      expect(after!.description).toContain('Open in ATS: https://ats.example.com/wrong');
    } finally {
      await service.sync.close();
      await fake.close();
    }
  });
});

describe('linked models: webhooks', () => {
  const sign = (body: string) => createHmac('sha256', WEBHOOK_SECRET).update(body, 'utf8').digest('base64url');

  it.each([
    ['ats_users', 'users', user(ADA, 'Ada', 'King')],
    ['ats_jobs', 'jobs', job('job-1', 'Platform Engineer')],
    ['ats_candidates', 'candidates', candidate('cand-1', 'Marie', 'Skłodowska-Curie')],
    ['ats_applications', 'applications', application('app-1', 'cand-1', 'job-1', { remote_url: 'https://ats.example.com/moved' })],
  ] as const)('data-changed naming %s brings the change within seconds', async (name, model, record) => {
    const fake = await startFakeKombo();
    seed(fake);
    fake.clock += 10 * MINUTE;
    const service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    try {
      await service.sync.refresh();
      fake.clock += 5 * MINUTE;
      fake.upsertLinked(model, record);
      const body = JSON.stringify({ id: `wh-${name}`, type: 'data-changed', data: { integration_id: fake.integrationId, changed_models: [{ name }] } });
      await request(service.app).post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', sign(body)).send(body).expect(200);
      const expected = { users: 'Ada King', jobs: 'Platform Engineer', candidates: 'Skłodowska-Curie', applications: 'https://ats.example.com/moved' }[model];
      const feedOf = model === 'users' ? GRACE : ADA;
      let text = '';
      for (let n = 0; n < 500 && !text.includes(expected); n++) {
        text = (await request(service.app).get(personPath(service, feedOf)).expect(200)).text.replace(/\r\n /g, '');
        if (!text.includes(expected)) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(text).toContain(expected);
    } finally {
      await service.sync.close();
      await fake.close();
    }
  });
});

describe('linked models: requests stay frugal', () => {
  it('one candidate renamed among 2,000 interviews: applied by one refresh with one request to /ats/interviews, one per linked model', async () => {
    const fake = await startFakeKombo();
    const people = Array.from({ length: 40 }, (_, n) => `person${n}@example.com`);
    const records = Array.from({ length: 2_000 }, (_, n) => {
      const start = Date.UTC(2026, 11, 1, 9) + n * 3_600_000;
      return interviewRecord({
        id: `iv-${n}`,
        title: null,
        starting_at: new Date(start).toISOString(),
        ending_at: new Date(start + 3_600_000).toISOString(),
        users: [komboUser(people[n % people.length]!, 'Person', String(n % people.length))],
        application: { id: `app-${n}`, candidate: { id: `cand-${n}`, first_name: 'Candidate', last_name: String(n) }, job: { id: `job-${n % 7}`, name: `Job ${n % 7}` } },
      });
    });
    fake.setRecords(records);
    fake.setLinked('applications', records.map((_, n) => application(`app-${n}`, `cand-${n}`, `job-${n % 7}`)));
    fake.setLinked('candidates', records.map((_, n) => candidate(`cand-${n}`, 'Candidate', String(n))));
    fake.setLinked('jobs', Array.from({ length: 7 }, (_, n) => job(`job-${n}`, `Job ${n}`)));
    fake.setLinked('users', people.map((email, n) => user(email, 'Person', String(n))));
    fake.clock += 10 * MINUTE;
    const service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
    try {
      await service.sync.refresh();
      // The full walk asks for the records its interviews reference, by ids in batches of a page: 2,000 ids in 8 requests.
      expect(fake.requestsTo('/ats/applications')).toBe(8);
      expect(fake.requestsTo('/ats/candidates')).toBe(8);
      expect(fake.requestsTo('/ats/jobs')).toBe(1);
      expect(fake.requestsTo('/ats/users')).toBe(1);
      const email = people[1234 % people.length]!;
      const before = await calendar(service, personPath(service, email));
      const counts = () => ['/ats/interviews', '/ats/users', '/ats/jobs', '/ats/candidates', '/ats/applications'].map((path) => fake.requestsTo(path));
      const asked = counts();

      fake.clock += 10 * MINUTE;
      fake.upsertLinked('candidates', candidate('cand-1234', 'Renamed', 'Candidate'));
      fake.clock += MINUTE;
      expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental', changes: 1 });
      const spent = counts().map((count, i) => count - asked[i]!);
      expect(spent[0]).toBeLessThanOrEqual(3);
      expect(spent).toEqual([1, 1, 1, 1, 1]);
      const after = await calendar(service, personPath(service, email));
      const changed = after.events.filter((event, i) => event.description !== before.events[i]!.description);
      expect(changed.map((event) => event.uid)).toEqual(['iv-1234']);
      expect(changed[0]!.summary).toBe('Interview: Renamed Candidate (Job 2)');
      expect(changed[0]!.sequence).toBeGreaterThan(before.events.find((event) => event.uid === 'iv-1234')!.sequence!);

      // A later full walk asks what changed, not every id again: one request per linked model.
      const beforeFull = counts();
      fake.clock += 10 * MINUTE;
      expect(await service.sync.refresh({ full: true })).toMatchObject({ kind: 'full', changes: 0 });
      expect(counts().map((count, i) => count - beforeFull[i]!)).toEqual([8, 1, 1, 1, 1]);
    } finally {
      await service.sync.close();
      await fake.close();
    }
  });
});

describe('linked models: saved with the snapshot', () => {
  it('a restart restores them: an offboarded interviewer stays offboarded, and the next refresh asks only what changed', async () => {
    const fake = await startFakeKombo();
    const dataDir = await mkdtemp(join(tmpdir(), 'linked-restart-'));
    seed(fake);
    fake.upsertLinked('users', user(GRACE, 'Grace', 'Hopper', { status: 'INACTIVE' }));
    fake.clock += 10 * MINUTE;
    const build = () => buildTestService(fake, { overrides: { timeoutMs: 10_000, state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir) }) } });
    const first = build();
    try {
      await first.sync.refresh();
      // Ada's address changes in the ATS (same Kombo user): after the restart her old link must still serve her.
      fake.clock += 10 * MINUTE;
      fake.upsertLinked('users', user('ada.byron@example.org', 'Ada', 'Lovelace', { id: `user-${ADA}` }));
      fake.clock += MINUTE;
      await first.sync.refresh();
      const adaBefore = (await calendar(first, personPath(first, ADA))).events.map((e) => e.uid);
      expect(adaBefore.length).toBeGreaterThan(0);
      await first.sync.close();
      const second = build();
      try {
        expect(await second.restore()).toBe(true);
        await request(second.app).get(personPath(second, GRACE)).expect(404);
        expect(descriptions(await calendar(second, personPath(second, ADA)))[0]).toContain('Open in ATS: https://ats.example.com/applications/app-1');
        expect((await calendar(second, personPath(second, ADA))).events.map((e) => e.uid)).toEqual(adaBefore);
        expect((await calendar(second, personPath(second, 'ada.byron@example.org'))).events.map((e) => e.uid)).toEqual(adaBefore);
        const asked = fake.linkedRequests.length;
        fake.clock += 10 * MINUTE;
        expect(await second.sync.refresh()).toMatchObject({ kind: 'incremental' });
        const linked = fake.linkedRequests.slice(asked);
        expect(linked).toHaveLength(4);
        for (const r of linked) expect(r.query).not.toHaveProperty('ids');
        // Interviewers are still known by their Kombo user id after the restore: a rename reaches the interviews.
        fake.clock += 10 * MINUTE;
        fake.upsertLinked('users', user('ada.byron@example.org', 'Ada', 'King', { id: `user-${ADA}` }));
        fake.clock += MINUTE;
        await second.sync.refresh();
        expect((await calendar(second, personPath(second, ADA))).name).toBe('Interviews: Ada King');
      } finally {
        await second.sync.close();
      }
    } finally {
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
