import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { interviewRecord, komboUser } from './helpers/factories.js';
import { startFakeKombo, type FakeKombo } from './helpers/fake-kombo.js';
import { parseIcs } from './helpers/ics.js';
import { buildTestService, feedPath } from './helpers/test-service.js';
import { createMemoryRegistryStore } from '../src/integrations/registry-store.js';
import { createMemorySnapshotStore } from '../src/interviews/snapshot-store.js';
import { createMemoryState } from '../src/state/create-memory-state.js';
import { admin, signKombo, until } from './helpers/integrations.js';

/** One block per bug found and fixed, named after the bug. */

describe('a Kombo id with a line break injected lines into the feed (UID was written raw)', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('keeps every interview one event with one single-line UID, stable across refreshes', async () => {
    const odd = ['iv-1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:injected\r\nSUMMARY:Pwned', 'iv-2\nX-INJECTED:1', 'iv-3\u0000\u0007'];
    fake.setRecords(odd.map((id, n) => interviewRecord({ id, title: `Interview ${n}` })));
    const service = buildTestService(fake);
    await service.sync.refresh();
    const res = await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200);
    const calendar = parseIcs(res.text);
    expect(calendar.events.map((e) => e.summary)).toEqual(['Interview 0', 'Interview 1', 'Interview 2']);
    expect(new Set(calendar.events.map((e) => e.uid)).size).toBe(3);
    expect(calendar.events.map((e) => e.uid)).not.toContain('injected');
    const unfolded = res.text.replace(/\r\n /g, '').split('\r\n');
    expect(unfolded.filter((line) => line.startsWith('UID:'))).toHaveLength(3);
    expect(unfolded.some((line) => line.startsWith('X-INJECTED') || line.startsWith('SUMMARY:Pwned'))).toBe(false);
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(res.text)).toBe(false);

    fake.clock += 60_000;
    await service.sync.refresh({ full: true });
    const again = parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text);
    expect(again.events.map((e) => e.uid)).toEqual(calendar.events.map((e) => e.uid));
  });

  it('still removes such an interview when it is canceled later', async () => {
    const id = 'iv-1\nodd';
    fake.setRecords([interviewRecord({ id })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    fake.clock += 60_000;
    fake.upsert(interviewRecord({ id, canceled: true }));
    await service.sync.refresh();
    expect(parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text).events).toEqual([]);
  });
});

describe('a feed token with broken percent-encoding got 400 and an echo of the path instead of the usual 404', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('answers exactly like an unknown path', async () => {
    const service = buildTestService(fake);
    await service.sync.refresh();
    const unknown = await request(service.app).get('/no/such/path').expect(404);
    for (const path of ['/feeds/%E0%A4%A.ics', '/feeds/%ZZ.ics', '/feeds/AQ%.ics']) {
      const res = await request(service.app).get(path).expect(404);
      expect(res.text).toBe(unknown.text);
      expect(res.headers['content-type']).toBe(unknown.headers['content-type']);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('a null or non-object entry in users cost every interviewer on the interview their event', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('skips the entry and keeps the interview for the interviewers who are listed', async () => {
    fake.setRecords([
      interviewRecord({ id: 'iv-1', users: [null, { ...komboUser('ada@example.com') }, 'grace@example.com', 42] }),
      interviewRecord({ id: 'iv-2', users: 'ada@example.com' }), // not a list at all: still a rejected record
    ]);
    const service = buildTestService(fake);
    const summary = await service.sync.refresh();
    expect(summary.rejectedRecords).toBe(1);
    const calendar = parseIcs((await request(service.app).get(feedPath(service, 'ada@example.com')).expect(200)).text);
    expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1']);
  });
});

describe("a team feed dropped interviewers without an email from each event's list (null owner matched null email)", () => {
  it('names every interviewer in a team feed, and everyone but the owner in a person\'s', async () => {
    const { renderFeed } = await import('../src/calendar/render-feed.js');
    const interview = {
      id: 'iv-1', title: 'Panel', startMs: Date.UTC(2026, 11, 1, 10), endMs: Date.UTC(2026, 11, 1, 11), address: null, conferencingUrl: null,
      candidateName: null, jobName: null, jobId: 'job-1', revisionMs: Date.UTC(2026, 9, 1),
      interviewers: [{ email: 'ada@example.com', name: 'Ada Lovelace' }, { email: null, name: 'Emil Less' }],
    };
    const options = { calendarName: 'x', notEndedBeforeMs: 0, defaultDurationMinutes: 60, refreshMinutes: 60 };
    expect(parseIcs(renderFeed([interview], { ...options, ownerEmail: null })).events[0]!.description).toBe('Interviewers: Ada Lovelace, Emil Less');
    expect(parseIcs(renderFeed([interview], { ...options, ownerEmail: 'ada@example.com' })).events[0]!.description).toBe('Other interviewers: Emil Less');
  });
});

describe('a change to an interview without any interviewer email left team feeds cached and their Last-Modified unmoved', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('drops it from the all feed at once, and If-Modified-Since with the old Last-Modified is no 304', async () => {
    const record = interviewRecord({ id: 'iv-nomail', users: [komboUser(null, 'Emil', 'Less')] });
    fake.setRecords([record, interviewRecord({ id: 'iv-ada', users: [komboUser('ada@example.com')] })]);
    const service = buildTestService(fake);
    await service.sync.refresh();
    const path = `/feeds/${service.tokens.encode({ integrationId: fake.integrationId, team: 'all' })}.ics`;
    const before = await request(service.app).get(path).expect(200);
    expect(parseIcs(before.text).events.map((e) => e.uid)).toEqual(['iv-ada', 'iv-nomail']);
    fake.clock += 600_000;
    fake.upsert({ ...record, canceled: true, changed_at: new Date(fake.clock).toISOString() });
    await service.sync.refresh();
    const after = await request(service.app).get(path).set('If-Modified-Since', before.headers['last-modified']!).expect(200);
    expect(parseIcs(after.text).events.map((e) => e.uid)).toEqual(['iv-ada']);
    await service.sync.close();
  });
});

describe('a revoked link worked again once its integration was removed and added back (its generations were forgotten)', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('keeps every link revoked before the removal dead after DELETE and POST /admin/integrations, and serves new links', async () => {
    const service = buildTestService(fake);
    await service.restore();
    await service.sync.refresh();
    const old = feedPath(service, 'ada@example.com');
    await request(service.app).get(old).expect(200);
    const replaced = (await admin(service, 'post', '/admin/feed-url/revoke').send({ email: 'ada@example.com' }).expect(200)).body as { url: string };
    await request(service.app).get(old).expect(404);

    const id = fake.integrationId;
    await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(id)}`).expect(204);
    await admin(service, 'post', '/admin/integrations').send({ id }).expect(201);
    await service.sync.refresh({ integration: id });
    await request(service.app).get(old).expect(404);
    await request(service.app).get(new URL(replaced.url).pathname).expect(404);
    const fresh = (await admin(service, 'get', '/admin/feed-url').query({ email: 'ada@example.com' }).expect(200)).body as { url: string };
    const calendar = parseIcs((await request(service.app).get(new URL(fresh.url).pathname).expect(200)).text);
    expect(calendar.events.map((e) => e.uid)).toEqual(['iv-1']);
    await service.sync.close();
  });
});

describe('a registry save that failed left an integration half added: a retried add was "known" and never walked', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
    fake.addIntegration('int-2').setRecords([interviewRecord({ id: 'iv-9', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  function failingRegistry() {
    const registryStore = createMemoryRegistryStore();
    const state = { fail: false };
    const save = registryStore.save.bind(registryStore);
    registryStore.save = async (data) => {
      if (state.fail) throw new Error('ENOSPC: no space left on device');
      return save(data);
    };
    return { registryStore, state };
  }

  it('undoes the add when it cannot be saved, so the retry adds and walks it', async () => {
    const { registryStore, state } = failingRegistry();
    const service = buildTestService(fake, { overrides: { state: createMemoryState({ registry: registryStore }) } });
    await service.restore();
    state.fail = true;
    await admin(service, 'post', '/admin/integrations').send({ id: 'int-2' }).expect(500);
    expect(service.registry.get('int-2')).toBeUndefined();
    state.fail = false;
    await admin(service, 'post', '/admin/integrations').send({ id: 'int-2' }).expect(201);
    await until(() => service.feeds.snapshot('int-2') !== undefined);
    await service.sync.close();
  });

  it('answers Kombo 500 for a webhook it could not act on, and acts on the retry instead of calling it a duplicate', async () => {
    const { registryStore, state } = failingRegistry();
    const service = buildTestService(fake, { overrides: { state: createMemoryState({ registry: registryStore }) } });
    await service.restore();
    const body = JSON.stringify({ id: 'evt-1', type: 'integration-created', data: { id: 'int-2', category: 'ATS', tool: 'Lever', end_user: { organization_name: 'Org 2' } } });
    const post = () => request(service.app).post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', signKombo(body)).send(body);
    state.fail = true;
    await post().expect(500);
    state.fail = false;
    const retry = await post().expect(200);
    expect(retry.body).toMatchObject({ status: 'added', integration: 'int-2' });
    await post().expect(200, { status: 'duplicate' });
    await until(() => service.feeds.snapshot('int-2') !== undefined);
    await service.sync.close();
  });
});

describe('If-Modified-Since got 304 after a change outside the snapshot (the default level, a calendar name) changed the bytes', () => {
  let fake: FakeKombo;
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords([interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace')] })]);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('serves the new bytes to a client revalidating by date alone after FEED_DEFAULT_DETAIL changes across a restart', async () => {
    const store = createMemorySnapshotStore();
    const first = buildTestService(fake, { overrides: { state: createMemoryState({ snapshots: store }) } });
    await first.restore();
    await first.sync.refresh();
    const path = feedPath(first, 'ada@example.com');
    const full = await request(first.app).get(path).expect(200);
    expect(full.text).toContain('Candidate:');
    await first.sync.close();

    fake.clock += 60_000; // the restart
    const second = buildTestService(fake, { env: { FEED_DEFAULT_DETAIL: 'private' }, overrides: { state: createMemoryState({ snapshots: store }) } });
    await second.restore();
    const revalidated = await request(second.app).get(path).set('If-Modified-Since', full.headers['last-modified']!).expect(200);
    expect(revalidated.text).not.toContain('Candidate:');
    await second.sync.close();
  });

  it('serves a calendar renamed by a second integration to a client revalidating by date alone', async () => {
    const service = buildTestService(fake);
    await service.restore();
    await service.sync.refresh();
    const path = feedPath(service, 'ada@example.com');
    const before = await request(service.app).get(path).expect(200);
    fake.clock += 60_000;
    fake.addIntegration('int-2', { organization: 'Org 2' });
    await admin(service, 'post', '/admin/integrations').send({ id: 'int-2' }).expect(201);
    await until(() => service.feeds.label(fake.integrationId) !== null, 'the organisation in calendar names');
    const after = await request(service.app).get(path).set('If-Modified-Since', before.headers['last-modified']!).expect(200);
    expect(parseIcs(after.text).name).not.toBe(parseIcs(before.text).name);
    await service.sync.close();
  });
});
