import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileRegistryStore, REGISTRY_FILE } from '../../src/integrations/registry-store.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin, postWebhook, rawGet, until } from '../helpers/integrations.js';
import { readSnapshotJson } from '../helpers/snapshot-file.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

const A = 'greenhouse:acme';
// Characters a path segment must encode: the admin API takes the id URL-encoded.
const B = 'lever:globex/eu';
const ADA = 'ada@example.com';
const GRACE = 'grace@example.com';

describe('the registry of integrations', () => {
  let fake: FakeKombo;
  let dataDir: string;
  const services: Array<ReturnType<typeof buildTestService>> = [];

  beforeEach(async () => {
    fake = await startFakeKombo({ integrationId: A });
    fake.integration(A)!.setRecords([
      interviewRecord({ id: 'iv-a1', title: 'Acme intro', users: [komboUser(ADA, 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'iv-a2', title: 'Acme with Grace', users: [komboUser(GRACE, 'Grace', 'Hopper')] }),
    ]);
    fake.addIntegration(B, { organization: 'Globex' }).setRecords([interviewRecord({ id: 'iv-b1', title: 'Globex pairing', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
    fake.clock += 60_000;
    dataDir = await mkdtemp(join(tmpdir(), 'interview-feeds-registry-'));
  });
  afterEach(async () => {
    for (const service of services.splice(0)) await service.sync.close();
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A service keeping its registry and snapshots in `dataDir`, as production does. */
  async function serviceOn(ids = [A]) {
    const service = buildTestService(fake, {
      env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: ids.join(','), DATA_DIR: dataDir },
      overrides: { timeoutMs: 10_000, state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir), registry: createFileRegistryStore(dataDir) }) },
    });
    services.push(service);
    await service.restore();
    return service;
  }

  const served = (service: ReturnType<typeof buildTestService>) => service.sync.list().map((i) => i.id).sort();
  const snapshotFiles = async () => (await readdir(dataDir)).filter((name) => name.startsWith('snapshot-')).sort();

  it('adds by POST (201, then 200), walks at once, deletes by DELETE with the id URL-encoded (204, then 404), and adds again', async () => {
    const service = await serviceOn();
    await service.sync.refresh({ integration: A });

    const created = await admin(service, 'post', '/admin/integrations').send({ id: B }).expect(201);
    expect(created.body).toMatchObject({ id: B, source: 'api' });
    await until(() => service.feeds.snapshot(B) !== undefined, 'first walk of the added integration');
    await admin(service, 'post', '/admin/integrations').send({ id: B }).expect(200);
    expect(served(service)).toEqual([A, B].sort());
    expect(parseIcs((await request(service.app).get(feedPath(service, ADA, B)).expect(200)).text).events.map((e) => e.summary)).toEqual(['Globex pairing']);

    await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(B)}`).expect(204);
    await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(B)}`).expect(404);
    expect(served(service)).toEqual([A]);

    await admin(service, 'post', '/admin/integrations').send({ id: B }).expect(201);
    await until(() => service.feeds.snapshot(B) !== undefined, 'first walk after adding again');
    expect(parseIcs((await request(service.app).get(feedPath(service, ADA, B)).expect(200)).text).events.map((e) => e.summary)).toEqual(['Globex pairing']);
  });

  it('refuses an id that is no integration id with 400', async () => {
    const service = await serviceOn();
    await admin(service, 'post', '/admin/integrations').send({ id: '' }).expect(400);
    await admin(service, 'post', '/admin/integrations').send({ id: 'a\nb' }).expect(400);
    await admin(service, 'post', '/admin/integrations').send({ nope: 1 }).expect(400);
    expect(served(service)).toEqual([A]);
  });

  it('adds an ATS integration on integration-created, ignores an HRIS one, and removes on integration-deleted', async () => {
    const service = await serviceOn();
    fake.addIntegration('personio:hr');
    const hris = await postWebhook(service, 'integration-created', { id: 'personio:hr', category: 'HRIS', tool: 'personio', end_user: { organization_name: 'HR Co' } }).expect(200);
    expect(hris.body).toMatchObject({ status: 'ignored' });
    expect(served(service)).toEqual([A]);

    const ats = await postWebhook(service, 'integration-created', { id: B, category: 'ATS', tool: 'lever', end_user: { organization_name: 'Globex' } }).expect(200);
    expect(ats.body).toMatchObject({ status: 'added', integration: B });
    expect(service.registry.get(B)).toMatchObject({ source: 'webhook', organization: 'Globex' });
    await until(() => service.feeds.snapshot(B) !== undefined, 'first walk of the integration Kombo created');
    // Kombo retries webhooks: the same event again adds nothing.
    expect((await postWebhook(service, 'integration-created', { id: B, category: 'ATS' }).expect(200)).body).toMatchObject({ status: 'known' });

    expect((await postWebhook(service, 'integration-deleted', { id: B }).expect(200)).body).toMatchObject({ status: 'removed' });
    expect(served(service)).toEqual([A]);
    expect((await postWebhook(service, 'integration-deleted', { id: B }).expect(200)).body).toMatchObject({ status: 'ignored' });
    await request(service.app).get(feedPath(service, ADA, B)).expect(404);

    await postWebhook(service, 'integration-created', { id: B, category: 'ATS' }).expect(200);
    await until(() => service.feeds.snapshot(B) !== undefined, 'first walk after Kombo created it again');
  });

  it('leaves nothing of a deleted integration: the unknown-token 404, no snapshot file, no cached feed; others byte-identical', async () => {
    const service = await serviceOn([A, B]);
    await service.sync.refresh({ integration: A });
    await service.sync.refresh({ integration: B });
    // Each first walk asks Kombo who the integration is; once known, the organisation is in every calendar name.
    await until(() => service.registry.list().every((entry) => entry.organization !== null), 'both integrations described');
    expect(await snapshotFiles()).toHaveLength(2);
    const othersBefore = await Promise.all([ADA, GRACE].map((email) => rawGet(service, feedPath(service, email, A))));
    const removedFeed = await rawGet(service, feedPath(service, ADA, B));
    expect(removedFeed.status).toBe(200);
    const cachedBefore = service.feeds.cachedFeeds();

    await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(B)}`).expect(204);

    const gone = await rawGet(service, feedPath(service, ADA, B));
    const unknown = await rawGet(service, feedPath(service, ADA, 'never:served'));
    const garbage = await rawGet(service, '/feeds/not-a-token-at-all.ics');
    expect(gone.status).toBe(404);
    expect(gone.body.equals(unknown.body)).toBe(true);
    expect(gone.body.equals(garbage.body)).toBe(true);
    expect(gone.headers['content-type']).toBe(unknown.headers['content-type']);

    const files = await snapshotFiles();
    expect(files).toHaveLength(1);
    for (const file of files) expect((await readSnapshotJson(join(dataDir, file))).integrationId).toBe(A);
    const everything = (await Promise.all((await readdir(dataDir)).map((file) => readFile(join(dataDir, file), 'utf8')))).join('\n');
    expect(everything).not.toContain('Globex pairing');
    expect(service.feeds.snapshot(B)).toBeUndefined();
    expect(service.feeds.cachedFeeds()).toBe(cachedBefore - 1);

    const othersAfter = await Promise.all([ADA, GRACE].map((email) => rawGet(service, feedPath(service, email, A))));
    othersAfter.forEach((after, n) => {
      expect(after.status).toBe(200);
      expect(after.body.equals(othersBefore[n]!.body)).toBe(true);
    });
  });

  it('deletes an integration whose walk hangs at once, and nothing of it comes back when the walk would have ended', async () => {
    const service = await serviceOn([A, B]);
    await service.sync.refresh({ integration: A });
    await service.sync.refresh({ integration: B });
    fake.integration(B)!.upsert(interviewRecord({ id: 'iv-b2', title: 'Globex later', users: [komboUser(ADA, 'Ada', 'Lovelace')] }));
    fake.fail({ type: 'hang' }, { times: 1, when: (r) => r.integrationId === B && r.path === '/v1/ats/interviews' });
    fake.requests.length = 0;
    service.sync.requestRefresh(B);
    await until(() => fake.requests.some((r) => r.integrationId === B), 'B walking');
    expect(service.sync.get(B)!.engine.status().running).toBe(true);

    await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(B)}`).expect(204);
    expect(served(service)).toEqual([A]);
    expect(await snapshotFiles()).toHaveLength(1);
    // A data-changed webhook for it now is another integration's, and walks nothing.
    fake.requests.length = 0;
    expect((await postWebhook(service, 'data-changed', { integration_id: B, changed_models: [{ name: 'ats_interviews' }] }).expect(200)).body).toMatchObject({ status: 'ignored' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.requests).toEqual([]);
    expect(await snapshotFiles()).toHaveLength(1);
    await request(service.app).get(feedPath(service, ADA, B)).expect(404);
  });

  it('asks Kombo who an integration is once: a restart that knows its organisation asks again never', async () => {
    const first = await serviceOn([A, B]);
    await first.sync.refresh({ integration: A });
    await first.sync.refresh({ integration: B });
    await until(() => first.registry.list().every((entry) => entry.organization !== null), 'both integrations described');
    expect(fake.describeRequests.map((r) => r.path).sort()).toEqual([A, B].map((id) => `/v1/integrations/${encodeURIComponent(id)}`).sort());
    await first.sync.close();

    const second = await serviceOn([A, B]);
    expect(second.registry.get(B)?.organization).toBe('Globex');
    await second.sync.refresh({ integration: A, full: true });
    await second.sync.refresh({ integration: B, full: true });
    // Give a describe the time it would take, had one been started, to reach the fake.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.describeRequests).toHaveLength(2);
  });

  it('keeps the registry and a deletion across a restart, even while KOMBO_INTEGRATION_IDS names it, until a POST', async () => {
    const first = await serviceOn([A, B]);
    await first.sync.refresh({ integration: A });
    await first.sync.refresh({ integration: B });
    await admin(first, 'post', '/admin/integrations').send({ id: 'tool:added-at-run-time' }).expect(201);
    await admin(first, 'delete', `/admin/integrations/${encodeURIComponent(B)}`).expect(204);
    await first.sync.close();
    expect(JSON.parse(await readFile(join(dataDir, REGISTRY_FILE), 'utf8')).removed.map((r: { id: string }) => r.id)).toEqual([B]);

    const second = await serviceOn([A, B]);
    expect(served(second)).toEqual([A, 'tool:added-at-run-time'].sort());
    const warnings = second.logs.lines.filter((l) => l.level === 'warn' && l.integration === B);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.msg)).toMatch(/removed/);
    await second.restore();
    expect(second.logs.lines.filter((l) => l.level === 'warn' && l.integration === B)).toHaveLength(1);
    await request(second.app).get(feedPath(second, ADA, B)).expect(404);
    // A's snapshot came back from disk; B's did not.
    expect(second.feeds.snapshot(A)).toBeDefined();
    expect(second.feeds.snapshot(B)).toBeUndefined();

    await admin(second, 'post', '/admin/integrations').send({ id: B }).expect(201);
    await until(() => second.feeds.snapshot(B) !== undefined, 'B walked again');
    await second.sync.close();
    const third = await serviceOn([A, B]);
    expect(served(third)).toEqual([A, B, 'tool:added-at-run-time'].sort());
    expect(third.logs.lines.filter((l) => l.level === 'warn' && l.integration === B)).toHaveLength(0);
  });
});

describe('calendar names after a deletion', () => {
  it('keeps the organisation in the feed and in the admin API link name of the integration left', async () => {
    const fake = await startFakeKombo({ integrationId: A });
    try {
      fake.integration(A)!.organization = 'Acme Robotics';
      fake.integration(A)!.setRecords([interviewRecord({ id: 'iv-a1', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
      fake.addIntegration(B).setRecords([interviewRecord({ id: 'iv-b1', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
      const service = buildTestService(fake, { env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: `${A},${B}` }, overrides: { timeoutMs: 10_000 } });
      await service.sync.refresh({ integration: A });
      await service.sync.refresh({ integration: B });
      await until(() => service.registry.get(A)?.organization === 'Acme Robotics', 'described');
      await admin(service, 'delete', `/admin/integrations/${encodeURIComponent(B)}`).expect(204);

      const name = parseIcs((await request(service.app).get(feedPath(service, ADA, A)).expect(200)).text).name;
      expect(name).toBe('Interviews: Ada Lovelace (Acme Robotics)');
      const link = await admin(service, 'get', '/admin/feed-url').query({ email: ADA }).expect(200);
      expect(new URL((link.body as { outlookUrl: string }).outlookUrl).searchParams.get('name')).toBe(name);
      await service.sync.close();
    } finally {
      await fake.close();
    }
  });
});
