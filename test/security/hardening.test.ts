/**
 * Attacks that worked against the service once, one block each (the hardening issue's list), so none comes back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { createFileLinkFetchStore, createLinkFetches } from '../../src/feeds/link-fetches.js';
import { createFileLinkGenerationStore, createLinkGenerations } from '../../src/feeds/link-generations.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { parseIcs } from '../helpers/ics.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { oidcEnv, signInThroughProvider, startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { ADMIN_TOKEN, buildTestService, feedBytes, PUBLIC_URL, testEnv } from '../helpers/test-service.js';
import { until } from '../helpers/integrations.js';
import { pageRecords } from '../admin-page/page-fixtures.js';

const KELVIN = '\u212A'; // KELVIN SIGN: lower-cased by toLowerCase() into an ASCII 'k'

describe('OIDC_ADMIN_EMAILS goes through the one email normalisation (no Unicode folding)', () => {
  let idp: IdentityProvider;
  let fake: FakeKombo;
  beforeAll(async () => {
    idp = await startIdentityProvider([`${PUBLIC_URL}/auth/callback`]);
  });
  afterAll(async () => {
    await idp.close();
  });
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    return () => fake.close();
  });

  it('keeps an entry written with a Kelvin sign apart from the plain-ASCII address', () => {
    const config = loadConfig(testEnv(fake, oidcEnv(idp, ` ${KELVIN}ate@Example.com , Grace@Example.com`)));
    expect(config.oidc?.adminEmails).toEqual([`${KELVIN}ate@example.com`, 'grace@example.com']);
  });

  it('does not let the plain-ASCII kate@ into the admin page when the entry names the Kelvin-sign address', async () => {
    const s = buildTestService(fake, { env: oidcEnv(idp, `${KELVIN}ate@example.com`) });
    await s.sync.refresh();
    const kate = await signInThroughProvider(s.app, idp, 'kate@example.com', '/auth/login?next=admin');
    expect(kate.res.text).toContain('content="0;url=/me"');
    await request(s.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', kate.cookie).expect(303).expect('Location', '/admin');
  });
});

/** Text from outside (the ATS, a provider, a caller) that names an inherited member of a plain object. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;

describe('an interviewer whose email is named like an Object.prototype member', () => {
  let fake: FakeKombo;
  let dataDir: string;
  beforeEach(async () => {
    fake = await startFakeKombo();
    dataDir = await mkdtemp(join(tmpdir(), 'hardening-'));
    return async () => {
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    };
  });

  const records = (title: string) => [
    interviewRecord({ id: 'iv-1', title, users: [...PROTOTYPE_KEYS.map((key) => komboUser(key, 'Mallory', key)), komboUser('ada@example.com')] }),
  ];

  it('is one more interviewer: walks, changes, saves and restores keep every feed', async () => {
    fake.setRecords(records('Intro'));
    const first = buildTestService(fake, { env: { DATA_DIR: dataDir }, overrides: { state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir) }) } });
    await first.sync.refresh({ full: true });
    fake.clock += 60_000;
    fake.setRecords(records('Intro, moved'));
    await first.sync.refresh(); // incremental: writes each person's change time
    const table = first.feeds.snapshot(fake.integrationId)!.data.feedChangedAtMs;
    // Emails are lower-cased: `constructor` and `__proto__` are the members an address can still name.
    for (const key of ['constructor', '__proto__']) expect([key, Object.hasOwn(table, key) && Number.isFinite(table[key])]).toEqual([key, true]);

    // What was saved reads back (a restart, or another replica), and serves the same bytes.
    const second = buildTestService(fake, { env: { DATA_DIR: dataDir }, overrides: { state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir) }) } });
    expect(await second.restore()).toBe(true);
    for (const email of ['constructor', '__proto__', 'tostring', 'ada@example.com']) {
      const bytes = await feedBytes(second, email);
      expect(bytes.equals(await feedBytes(first, email))).toBe(true);
      expect(parseIcs(bytes.toString('utf8')).events.map((event) => event.summary)).toEqual([expect.stringContaining('Intro, moved')]);
    }
  });
});

describe('a busy feed, personal or team, says nothing of the job, the candidate or the organisation', () => {
  const A = 'greenhouse:acme';
  const B = 'lever:globex';
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo({ integrationId: A });
    fake.integration(A)!.organization = 'Acme Robotics';
    fake.addIntegration(B, { tool: 'Lever', organization: 'Globex' });
    fake.integration(A)!.setRecords([
      interviewRecord({
        id: 'iv-1',
        title: 'Replacing the CFO',
        application: {
          id: 'app-1',
          remote_id: '1',
          outcome: 'PENDING',
          rejection_reason_name: null,
          candidate: { id: 'cand-1', remote_id: '1', first_name: 'Carla', last_name: 'Candidate', email_addresses: [] },
          job: { id: 'job-cfo', remote_id: '1', name: 'Secret CFO search' },
        },
        users: [komboUser('ada@example.com', 'Ada', 'Lovelace')],
      }),
    ]);
    fake.integration(B)!.setRecords([interviewRecord({ id: 'iv-2', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
    return () => fake.close();
  });

  it('names a busy calendar without the job or the organisation, in X-WR-CALNAME, NAME and every subscribe link', async () => {
    const s = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: `${A},${B}` } });
    await s.sync.refresh({ integration: A });
    await s.sync.refresh({ integration: B });
    await until(() => s.registry.get(A)?.organization === 'Acme Robotics', 'organisation known');
    const secrets = ['Secret CFO search', 'CFO', 'Carla', 'Candidate', 'Acme', 'job-cfo'];
    const paths = [
      `/feeds/${s.tokens.encode({ integrationId: A, team: { job: 'job-cfo' }, detail: 'busy' })}.ics`,
      `/feeds/${s.tokens.encode({ integrationId: A, team: 'all', detail: 'busy' })}.ics`,
      `/feeds/${s.tokens.encode({ integrationId: A, email: 'ada@example.com', detail: 'busy' })}.ics`,
    ];
    for (const path of paths) {
      const res = await request(s.app).get(path).expect(200);
      const calendar = parseIcs(res.text);
      expect(calendar.events).toHaveLength(1);
      for (const secret of secrets) expect(res.text).not.toContain(secret);
    }
    // The links the admin API hands out for a busy team feed pre-fill the same neutral name.
    const team = await request(s.app)
      .get('/admin/feed-url')
      .query({ integration: A, job: 'job-cfo', detail: 'busy' })
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .expect(200);
    const { googleUrl, outlookUrl, outlookComUrl, webcalUrl } = team.body as Record<string, string>;
    for (const secret of ['Secret CFO search', 'Acme']) {
      for (const url of [googleUrl, outlookUrl, outlookComUrl, webcalUrl]) expect(decodeURIComponent(url!)).not.toContain(secret);
    }
    expect(decodeURIComponent(outlookUrl!)).toContain('Team interviews');
    // At full, the same team feed still says which job it follows.
    const full = await request(s.app).get(`/feeds/${s.tokens.encode({ integrationId: A, team: { job: 'job-cfo' }, detail: 'full' })}.ics`).expect(200);
    expect(full.text).toContain('Interviews: Secret CFO search (Acme Robotics)');
  });
});

describe('every link the service hands out can be revoked, whatever the ATS gave as its email', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    return () => fake.close();
  });
  const odd = ['john doe@acme.example', '"j@home"@acme.example', 'jdoe'];

  it('revokes, through the admin API, the link of an address no mail system would take', async () => {
    fake.setRecords(odd.map((email, n) => interviewRecord({ id: `iv-${n}`, users: [komboUser(email, 'Odd', `Person ${n}`)] })));
    const s = buildTestService(fake);
    await s.sync.refresh();
    const bearer = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const email of odd) {
      const handedOut = (await request(s.app).get('/admin/feed-url').query({ email }).set(bearer).expect(200)).body as { url: string };
      await request(s.app).get(new URL(handedOut.url).pathname).expect(200);
      const replaced = (await request(s.app).post('/admin/feed-url/revoke').set(bearer).send({ email }).expect(200)).body as { url: string };
      expect(replaced.url).not.toBe(handedOut.url);
      await request(s.app).get(new URL(handedOut.url).pathname).expect(404);
      await request(s.app).get(new URL(replaced.url).pathname).expect(200);
    }
    // Text the ATS never gave stays refused: a typo gets no link for nobody.
    await request(s.app).get('/admin/feed-url').query({ email: 'jdoe2' }).set(bearer).expect(400);
    await request(s.app).post('/admin/feed-url/revoke').set(bearer).send({ email: 'nobody' }).expect(400);
  });
});

describe('an integration id named like an Object.prototype member keeps its revocations and fetches', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hardening-'));
    return () => rm(dataDir, { recursive: true, force: true });
  });

  it('saves them under DATA_DIR and reads them back after a restart', async () => {
    const before = createLinkGenerations(createFileLinkGenerationStore(dataDir));
    const fetchesBefore = createLinkFetches({ store: createFileLinkFetchStore(dataDir), now: () => 5_000 });
    await before.restore();
    for (const id of PROTOTYPE_KEYS) {
      expect(await before.bump(id, 'p:ada@example.com')).toBe(1);
      fetchesBefore.record(id, 'ada@example.com', 'Google-Calendar-Importer');
    }
    await fetchesBefore.flush();

    const after = createLinkGenerations(createFileLinkGenerationStore(dataDir));
    const fetchesAfter = createLinkFetches({ store: createFileLinkFetchStore(dataDir), now: () => 6_000 });
    await after.restore();
    await fetchesAfter.restore();
    for (const id of PROTOTYPE_KEYS) {
      expect([id, after.current(id, 'p:ada@example.com')]).toEqual([id, 1]);
      expect(after.isCurrent({ integrationId: id, email: 'ada@example.com' })).toBe(false);
      expect([id, fetchesAfter.get(id, 'ada@example.com')]).toEqual([id, { atMs: 5_000, client: 'google' }]);
    }
  });
});
