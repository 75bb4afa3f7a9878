import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo, type RecordedRequest } from '../helpers/fake-kombo.js';
import { parseIcs, type ParsedCalendar } from '../helpers/ics.js';
import { buildTestService } from '../helpers/test-service.js';

/*
 * A walk asks for the linked records of its interview pages while it reads the next pages. What feeds show must be
 * what a walk that asked for them afterwards would show: each record asked for once, confidential names hidden from
 * the first walk on, a failed walk applying nothing, a failed model keeping what it had.
 */

const MINUTE = 60_000;
const INTERVIEWS = 1_000;
const PEOPLE = ['ada@example.com', 'grace@example.com', 'edsger@example.com', 'barbara@example.com'];
/** The candidate whose profile is confidential, and the one whose job is. */
const SECRET_CANDIDATE = 17;
const SECRET_JOB = 'job-3';

function seed(fake: FakeKombo): void {
  const records = Array.from({ length: INTERVIEWS }, (_, n) => {
    const start = Date.UTC(2026, 11, 1, 9) + n * 3_600_000;
    return interviewRecord({
      id: `iv-${n}`,
      title: null,
      starting_at: new Date(start).toISOString(),
      ending_at: new Date(start + 3_600_000).toISOString(),
      users: [komboUser(PEOPLE[n % PEOPLE.length]!, 'Person', String(n % PEOPLE.length))],
      application_id: `app-${n}`,
      application: { id: `app-${n}`, candidate: { id: `cand-${n}`, first_name: 'Candidate', last_name: `N${n}` }, job: { id: `job-${n % 5}`, name: `Job ${n % 5}` } },
    });
  });
  fake.setRecords(records);
  fake.setLinked(
    'applications',
    records.map((_, n) => ({ id: `app-${n}`, candidate_id: `cand-${n}`, job_id: `job-${n % 5}`, remote_url: `https://ats.example.com/applications/app-${n}`, remote_deleted_at: null })),
  );
  fake.setLinked(
    'candidates',
    records.map((_, n) => ({ id: `cand-${n}`, first_name: 'Candidate', last_name: `N${n}`, confidential: n === SECRET_CANDIDATE, remote_url: null, remote_deleted_at: null })),
  );
  fake.setLinked(
    'jobs',
    Array.from({ length: 5 }, (_, n) => ({ id: `job-${n}`, name: `Job ${n}`, visibility: `job-${n}` === SECRET_JOB ? 'CONFIDENTIAL' : 'PUBLIC', remote_deleted_at: null })),
  );
  fake.setLinked(
    'users',
    PEOPLE.map((email, n) => ({ id: `user-${n}`, email, first_name: 'Person', last_name: String(n), status: 'ACTIVE', remote_deleted_at: null })),
  );
}

const personPath = (service: Service, email: string) => `/feeds/${service.tokens.encode({ integrationId: service.config.kombo.integrationIds[0]!, email })}.ics`;
async function calendar(service: Service, email: string): Promise<ParsedCalendar> {
  return parseIcs((await request(service.app).get(personPath(service, email)).expect(200)).text);
}
/** Every event's summary and description, of every person's feed. */
async function everything(service: Service): Promise<string> {
  const texts: string[] = [];
  for (const email of PEOPLE) for (const event of (await calendar(service, email)).events) texts.push(`${event.summary ?? ''}\n${event.description ?? ''}`);
  return texts.join('\n');
}
/** The ids asked for by `ids` in `requests` to `path`, each as often as it was asked. */
const idsAsked = (requests: readonly RecordedRequest[], path: string) =>
  requests.filter((r) => r.path === `/v1${path}` && r.query.ids !== undefined).flatMap((r) => r.query.ids!.split(','));

describe('linked records asked for while the interview pages are read', () => {
  let fake: FakeKombo;
  let service: ReturnType<typeof buildTestService>;

  beforeEach(async () => {
    fake = await startFakeKombo();
    seed(fake);
    fake.clock += 10 * MINUTE;
    service = buildTestService(fake, { overrides: { timeoutMs: 10_000 } });
  });
  afterEach(async () => {
    await service.sync.close();
    await fake.close();
  });

  it('the first walk asks for each application and candidate once, and shows no confidential name', async () => {
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full' });
    for (const path of ['/ats/applications', '/ats/candidates']) {
      const asked = idsAsked(fake.linkedRequests, path);
      expect(asked).toHaveLength(INTERVIEWS);
      expect(new Set(asked).size).toBe(INTERVIEWS);
    }
    const shown = await everything(service);
    expect(shown).toContain('Candidate N16');
    expect(shown).toContain('https://ats.example.com/applications/app-16');
    expect(shown).not.toMatch(new RegExp(`Candidate N${SECRET_CANDIDATE}\\b`));
    // Every candidate of the confidential job (job-3: interviews 3, 8, 13, ...) is hidden, and the job's name.
    expect(shown).not.toMatch(/Candidate N13\b/);
    expect(shown).not.toContain('Job 3');
    expect(shown).toContain('https://ats.example.com/applications/app-13');
  });

  it('a first walk that fails after its linked records were asked for applies nothing; the next serves every name', async () => {
    let interviewPages = 0;
    fake.fail({ type: 'status', status: 500 }, { times: 1_000, when: (r) => r.path === '/v1/ats/interviews' && ++interviewPages >= 3 });
    await expect(service.sync.refresh()).rejects.toThrow();
    expect(fake.requestsTo('/ats/applications')).toBeGreaterThan(0);
    expect(service.feeds.snapshot(service.config.kombo.integrationIds[0]!)).toBeUndefined();

    fake.clearFaults();
    const before = fake.linkedRequests.length;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full' });
    const asked = idsAsked(fake.linkedRequests.slice(before), '/ats/candidates');
    expect(new Set(asked).size).toBe(INTERVIEWS);
    expect(asked).toHaveLength(INTERVIEWS);
    const shown = await everything(service);
    expect(shown).toContain('Candidate N16');
    expect(shown).not.toMatch(new RegExp(`Candidate N${SECRET_CANDIDATE}\\b`));
  });

  it('applications that cannot be read are not asked again in the same walk; the interviews arrive, and the next refresh adds the ATS links', async () => {
    fake.fail({ type: 'status', status: 500 }, { times: 1_000, when: (r) => r.path === '/v1/ats/applications' });
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full' });
    // One batch, tried as often as the retry policy allows, and nothing after it.
    const batches = new Set(fake.linkedRequests.filter((r) => r.path === '/v1/ats/applications').map((r) => r.query.ids));
    expect(batches.size).toBe(1);
    const cal = await calendar(service, PEOPLE[0]!);
    expect(cal.events).toHaveLength(INTERVIEWS / PEOPLE.length);
    expect(cal.events.some((event) => event.description?.includes('https://ats.example.com/applications/'))).toBe(false);

    fake.clearFaults();
    fake.clock += MINUTE;
    expect(await service.sync.refresh()).toMatchObject({ kind: 'incremental' });
    expect((await everything(service)).includes('https://ats.example.com/applications/app-16')).toBe(true);
  });

  it('a candidate only the application names is asked for once and shown; a full walk after the interview left holds none of its records', async () => {
    // The ATS moved application app-5 to another candidate; the interview still embeds the one it had.
    const candidate = (id: string, lastName: string) => ({ id, first_name: 'Candidate', last_name: lastName, confidential: false, remote_url: null, remote_deleted_at: null });
    fake.setLinked(
      'applications',
      Array.from({ length: INTERVIEWS }, (_, n) => ({ id: `app-${n}`, candidate_id: n === 5 ? 'cand-moved' : `cand-${n}`, job_id: `job-${n % 5}`, remote_url: null, remote_deleted_at: null })),
    );
    fake.setLinked('candidates', [...Array.from({ length: INTERVIEWS }, (_, n) => candidate(`cand-${n}`, `N${n}`)), candidate('cand-moved', 'Elsewhere')]);
    expect(await service.sync.refresh()).toMatchObject({ kind: 'full' });
    expect(idsAsked(fake.linkedRequests, '/ats/candidates').filter((id) => id === 'cand-moved')).toHaveLength(1);
    const event = (await calendar(service, PEOPLE[5 % PEOPLE.length]!)).events.find((e) => e.uid.includes('iv-5'));
    const shown = `${event?.summary}\n${event?.description}`;
    expect(shown).toContain('Candidate Elsewhere');
    expect(shown).not.toMatch(/Candidate N5\b/);
    const held = () => service.feeds.snapshot(service.config.kombo.integrationIds[0]!)!.data.linked!;
    expect(Object.keys(held().candidates)).toHaveLength(INTERVIEWS); // cand-5 is named by no one now, cand-moved is
    expect(Object.hasOwn(held().candidates, 'cand-5')).toBe(false);

    // The interview leaves the ATS: a full walk keeps only what the interviews it read reference.
    fake.setRecords(fake.records().filter((record) => record.id !== 'iv-5'));
    fake.clock += MINUTE;
    expect(await service.sync.refresh({ full: true })).toMatchObject({ kind: 'full' });
    for (const [model, id] of [['applications', 'app-5'], ['candidates', 'cand-moved']] as const) expect(Object.hasOwn(held()[model], id)).toBe(false);
    expect(Object.keys(held().applications)).toHaveLength(INTERVIEWS - 1);
    expect(Object.keys(held().candidates)).toHaveLength(INTERVIEWS - 1);
  });
});
