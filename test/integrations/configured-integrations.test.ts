import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIntegrationRegistry } from '../../src/integrations/integration-registry.js';
import { createFileRegistryStore, createMemoryRegistryStore, REGISTRY_FILE, type RegistryData } from '../../src/integrations/registry-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { createFileSnapshotStore } from '../../src/interviews/snapshot-store.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { admin, rawGet, until } from '../helpers/integrations.js';
import { buildTestService, captureLogger, feedPath } from '../helpers/test-service.js';

/* The configuration owns what it declares (issue 24, finding 4): an id KOMBO_INTEGRATION_IDS no longer names is dropped at start. */

const A = 'greenhouse:acme';
const B = 'lever:globex';
/** A mistyped id: Kombo knows no such integration. */
const TYPO = 'greenhouse:acme-typo';
const ADA = 'ada@example.com';

describe('integrations the configuration no longer names', () => {
  let fake: FakeKombo;
  let dataDir: string;
  const services: Array<ReturnType<typeof buildTestService>> = [];

  beforeEach(async () => {
    fake = await startFakeKombo({ integrationId: A });
    fake.integration(A)!.organization = 'Acme Robotics';
    fake.integration(A)!.setRecords([interviewRecord({ id: 'iv-a1', title: 'Acme intro', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
    fake.addIntegration(B, { organization: 'Globex' }).setRecords([interviewRecord({ id: 'iv-b1', title: 'Globex pairing', users: [komboUser(ADA, 'Ada', 'Lovelace')] })]);
    fake.clock += 60_000;
    dataDir = await mkdtemp(join(tmpdir(), 'interview-feeds-configured-'));
  });
  afterEach(async () => {
    for (const service of services.splice(0)) await service.sync.close();
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A service configured with `ids`, keeping its registry and snapshots in `dataDir`, as production does. */
  async function serviceOn(ids: string[]) {
    const service = buildTestService(fake, {
      env: { KOMBO_INTEGRATION_ID: undefined, KOMBO_INTEGRATION_IDS: ids.join(','), DATA_DIR: dataDir },
      overrides: { timeoutMs: 10_000, state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir), registry: createFileRegistryStore(dataDir) }) },
    });
    services.push(service);
    await service.restore();
    return service;
  }

  const served = (service: ReturnType<typeof buildTestService>) => service.sync.list().map((i) => i.id).sort();
  const calendarName = async (service: ReturnType<typeof buildTestService>) => parseIcs((await request(service.app).get(feedPath(service, ADA, A)).expect(200)).text).name;
  const dropLines = (service: ReturnType<typeof buildTestService>, id: string) =>
    service.logs.lines.filter((l) => l.level === 'warn' && l.integration === id && /no longer names/.test(String(l.msg)));

  it('drops a mistyped id once it is fixed: logged, not served, not kept as removed, and the calendar names go back', async () => {
    const first = await serviceOn([A, TYPO]);
    await first.sync.refresh({ integration: A });
    await expect(first.sync.refresh({ integration: TYPO })).rejects.toThrow();
    // While the typo is served, A's calendars carry its organisation, and the admin API needs the integration named.
    await until(async () => (await calendarName(first)) === 'Interviews: Ada Lovelace (Acme Robotics)', 'A described and named');
    await admin(first, 'get', '/admin/feed-url').query({ email: ADA }).expect(400);
    await first.sync.close();

    const fixed = await serviceOn([A]);
    expect(served(fixed)).toEqual([A]);
    expect(dropLines(fixed, TYPO)).toHaveLength(1);
    const saved = JSON.parse(await readFile(join(dataDir, REGISTRY_FILE), 'utf8')) as RegistryData;
    expect(saved.integrations.map((i) => i.id)).toEqual([A]);
    expect(saved.removed).toEqual([]);
    expect(await calendarName(fixed)).toBe('Interviews: Ada Lovelace');
    const link = await admin(fixed, 'get', '/admin/feed-url').query({ email: ADA }).expect(200);
    expect((link.body as { integration: string }).integration).toBe(A);
    await request(fixed.app).get(feedPath(fixed, ADA, TYPO)).expect(404);
    await fixed.sync.close();

    // Dropped, not removed: named again, it comes back without a POST.
    const again = await serviceOn([A, TYPO]);
    expect(served(again)).toEqual([A, TYPO].sort());
  });

  it('keeps the integrations added at run time (admin API, webhooks), which the configuration never declared', async () => {
    const first = await serviceOn([A]);
    await admin(first, 'post', '/admin/integrations').send({ id: B }).expect(201);
    await until(() => first.feeds.snapshot(B) !== undefined, 'B walked');
    await first.sync.close();

    const second = await serviceOn([A]);
    expect(served(second)).toEqual([A, B].sort());
    expect(second.logs.lines.filter((l) => /no longer names/.test(String(l.msg)))).toEqual([]);
    expect(second.registry.get(B)?.source).toBe('api');
  });

  it('keeps calendar names and bytes when a real second integration leaves the configuration, across restarts', async () => {
    const first = await serviceOn([A, B]);
    await first.sync.refresh({ integration: A });
    await first.sync.refresh({ integration: B });
    await until(() => first.registry.list().every((entry) => entry.organization !== null), 'both described');
    await until(async () => (await calendarName(first)) === 'Interviews: Ada Lovelace (Acme Robotics)', 'named');
    const before = await rawGet(first, feedPath(first, ADA, A));
    expect(parseIcs(before.body.toString('utf8')).name).toBe('Interviews: Ada Lovelace (Acme Robotics)');
    await first.sync.close();

    const second = await serviceOn([A]);
    expect(served(second)).toEqual([A]);
    expect(dropLines(second, B)).toHaveLength(1);
    // The restored snapshot serves the very bytes, and the ETag a client holds still matches.
    const after = await rawGet(second, feedPath(second, ADA, A));
    expect(after.body.equals(before.body)).toBe(true);
    expect(after.headers.etag).toBe(before.headers.etag);
    await request(second.app).get(feedPath(second, ADA, A)).set('If-None-Match', String(before.headers.etag)).expect(304);
    await second.sync.close();

    const third = await serviceOn([A]);
    expect(dropLines(third, B)).toEqual([]);
    expect((await rawGet(third, feedPath(third, ADA, A))).body.equals(before.body)).toBe(true);
  });
});

describe('the registry on load', () => {
  const entry = (id: string, source: 'config' | 'demo' | 'api' | 'webhook', seq: number, organization: string | null = null) => ({
    id,
    seq,
    addedAtMs: 0,
    source,
    pausedAtMs: null,
    pausedState: null,
    tool: organization === null ? null : 'Greenhouse',
    organization,
  });

  it('drops demo mode’s companies from a live install on the same DATA_DIR, without labelling the live calendars', async () => {
    const store = createMemoryRegistryStore({
      format: 1,
      nextSeq: 2,
      integrations: [entry('demo', 'demo', 0, 'Initech'), entry('demo-globex', 'demo', 1, 'Globex')],
      removed: [],
    });
    const { logger, logs } = captureLogger();
    const registry = createIntegrationRegistry({ store, configured: [A], logger });
    await registry.load();
    expect(registry.list().map((e) => e.id)).toEqual([A]);
    expect(registry.servedSeveral()).toBe(false);
    expect(store.saved?.integrations.map((e) => e.id)).toEqual([A]);
    expect(logs.lines.filter((l) => l.level === 'warn').map((l) => l.integration)).toEqual(['demo', 'demo-globex']);
  });

  it('remembers that a dropped integration had served calendars, so names stay even once it is the only one left', async () => {
    const store = createMemoryRegistryStore({ format: 1, nextSeq: 2, integrations: [entry(A, 'config', 0, 'Acme'), entry(B, 'config', 1, 'Globex')], removed: [] });
    const registry = createIntegrationRegistry({ store, configured: [A], logger: captureLogger().logger });
    await registry.load();
    expect(registry.list().map((e) => e.id)).toEqual([A]);
    expect(registry.servedSeveral()).toBe(true);
    expect(store.saved?.servedSeveral).toBe(true);
    // Read back by a later process (or another replica), with a configuration that names A alone.
    const later = createIntegrationRegistry({ store, configured: [A], logger: captureLogger().logger });
    await later.load();
    expect(later.servedSeveral()).toBe(true);
    // A change saved later keeps it.
    await later.add('tool:added', 'api');
    expect(store.saved?.servedSeveral).toBe(true);
  });

  it('drops nothing on a reload: a replica still running the older configuration changes nobody’s registry', async () => {
    const store = createMemoryRegistryStore();
    const older = createIntegrationRegistry({ store, configured: [A, TYPO], logger: captureLogger().logger });
    await older.load();
    const newer = createIntegrationRegistry({ store, configured: [A], logger: captureLogger().logger });
    await newer.load();
    expect(newer.list().map((e) => e.id)).toEqual([A]);
    await older.reload();
    // The older replica reads what the newer saved; it does not drop, and adds back only on its next change.
    expect(older.list().map((e) => e.id).sort()).toEqual([A, TYPO].sort());
    await newer.reload();
    expect(newer.list().map((e) => e.id)).toEqual([A]);
  });
});
