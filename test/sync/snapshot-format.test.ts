import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSnapshotStore, SNAPSHOT_FILE_MAGIC } from '../../src/interviews/snapshot-store.js';
import { createMemoryState } from '../../src/state/create-memory-state.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { parseIcs } from '../helpers/ics.js';
import { buildTestService, feedBytes } from '../helpers/test-service.js';

/** A snapshot saved by the release before format 2 (bare JSON, format 1): two interviews ahead, one of 2020. */
const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'format-1');

describe('snapshot files across a deploy', () => {
  let fake: FakeKombo;
  let dataDir: string;
  beforeEach(async () => {
    fake = await startFakeKombo({ integrationId: 'fixture-integration' });
    dataDir = await mkdtemp(join(tmpdir(), 'interview-feeds-format-'));
    for (const name of await readdir(FIXTURE_DIR)) await copyFile(join(FIXTURE_DIR, name), join(dataDir, name));
  });
  afterEach(async () => {
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const serviceOn = () => buildTestService(fake, { overrides: { state: createMemoryState({ snapshots: createFileSnapshotStore(dataDir) }) } });

  it('restores a snapshot saved in format 1 (a deploy empties no calendar), and the next walk saves format 2 without the history', async () => {
    const service = serviceOn();
    expect(await service.restore()).toBe(true);
    const ada = parseIcs(await feedBytes(service, 'ada@example.com')).events;
    expect(ada.map((event) => [event.uid, event.summary])).toEqual([
      ['fx-1', 'Intro call'],
      ['fx-2', 'Panel'],
    ]);
    expect(parseIcs(await feedBytes(service, 'grace@example.com')).events.map((event) => event.uid)).toEqual(['fx-2']);

    // Kombo lists the same interviews: the walk keeps the events as they were and drops what no feed shows.
    const person = (email: string, first: string, last: string) => komboUser(email, first, last);
    fake.setRecords([
      interviewRecord({ id: 'fx-1', title: 'Intro call', starting_at: '2031-03-01T09:00:00Z', ending_at: '2031-03-01T10:00:00Z', users: [person('ada@example.com', 'Ada', 'Lovelace')] }),
      interviewRecord({ id: 'fx-2', title: 'Panel', starting_at: '2031-03-02T13:00:00Z', ending_at: '2031-03-02T14:30:00Z', users: [person('ada@example.com', 'Ada', 'Lovelace'), person('grace@example.com', 'Grace', 'Hopper')] }),
      interviewRecord({ id: 'fx-3', title: 'Old debrief', starting_at: '2020-05-05T09:00:00Z', ending_at: '2020-05-05T10:00:00Z', users: [person('grace@example.com', 'Grace', 'Hopper')] }),
    ]);
    await service.sync.refresh();
    const [file] = await readdir(dataDir);
    const saved = await readFile(join(dataDir, file!), 'utf8');
    expect(saved.startsWith(SNAPSHOT_FILE_MAGIC)).toBe(true);
    expect(saved).not.toContain('fx-3');

    const restarted = serviceOn();
    expect(await restarted.restore()).toBe(true);
    expect([...restarted.feeds.snapshot(fake.integrationId)!.byId.keys()].sort()).toEqual(['fx-1', 'fx-2']);
    for (const email of ['ada@example.com', 'grace@example.com']) {
      expect((await feedBytes(restarted, email)).equals(await feedBytes(service, email)), email).toBe(true);
    }
  });
});
