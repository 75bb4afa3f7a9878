/**
 * What every state bundle promises, written once and run against each: the embedded one (memory and DATA_DIR files)
 * and the Redis one (a real redis-server). "Another process" is a second bundle on the same DATA_DIR (a restart) or on
 * the same Redis (another replica).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { flattenGenerations, type LinkGenerationData } from '../../src/feeds/link-generations.js';
import type { RegistryData } from '../../src/integrations/registry-store.js';
import type { SnapshotData } from '../../src/interviews/snapshot.js';
import { SESSIONS_PER_EMAIL_MAX, type AdminGrant } from '../../src/state/page-sessions.js';
import { createMetrics } from '../../src/metrics.js';
import { createRedisState } from '../../src/redis/create-redis-state.js';
import { createEmbeddedState } from '../../src/state/create-embedded-state.js';
import type { StateBundle } from '../../src/state/state-bundle.js';
import { StoreConflictError } from '../../src/storage/store-errors.js';
import { StaleLeaseError } from '../../src/sync/walk-coordinator.js';
import { snapshotData } from '../helpers/factories.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { captureLogger } from '../helpers/test-service.js';

/** Text from outside (an ATS, a caller) that names an inherited member of a plain object. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;
const HOUR = 3_600_000;

/** A backing store (a DATA_DIR, a Redis) and a way to open bundles on it, each as another process would. */
interface Backing {
  open(): Promise<StateBundle>;
  close(): Promise<void>;
}

interface Kind {
  name: string;
  /** Whether another process sees what is kept in memory (sessions, sign-ins, counts): only in a shared store. */
  shared: boolean;
  start(): Promise<Backing>;
  /** Run only where the kind's server exists (Redis); the embedded kind always runs. */
  describe: (name: string, body: () => void) => void;
}

async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'state-contract-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

const KINDS: Kind[] = [
  {
    name: 'embedded (DATA_DIR)',
    shared: false,
    describe,
    async start() {
      const { dir, remove } = await tempDir();
      const opened: StateBundle[] = [];
      return {
        async open() {
          const state = createEmbeddedState({ dataDir: dir });
          await state.connect(1_000);
          opened.push(state);
          return state;
        },
        async close() {
          for (const state of opened) await state.close();
          await remove();
        },
      };
    },
  },
  {
    name: 'Redis',
    shared: true,
    describe: describeRedis,
    async start() {
      const redis: RedisServer = await startRedis();
      const { dir, remove } = await tempDir();
      const opened: StateBundle[] = [];
      return {
        async open() {
          const state = createRedisState({
            redis: { url: redis.url, keyPrefix: 'contract:', timeoutMs: 2_000, leaseMs: 5_000 },
            dataDir: dir,
            logger: captureLogger().logger,
            metrics: createMetrics(),
          });
          await state.connect(5_000);
          opened.push(state);
          return state;
        },
        async close() {
          for (const state of opened) await state.close();
          await redis.stop();
          await remove();
        },
      };
    },
  },
];

const registry = (ids: readonly string[]): RegistryData => ({
  format: 1,
  nextSeq: ids.length,
  integrations: ids.map((id, seq) => ({ id, seq, addedAtMs: 1_000 + seq, source: 'api', pausedAtMs: null, pausedState: null, tool: null, organization: null })),
  removed: [{ id: 'lever:gone', removedAtMs: 5 }],
});

/** A snapshot whose interviewers (and so its side tables) are named like Object.prototype's members. */
function hostileSnapshot(integrationId: string, title: string, syncedAtMs: number): SnapshotData {
  const base = snapshotData(integrationId, title, syncedAtMs);
  const emails = ['constructor', '__proto__', 'ada@example.com'];
  const table = Object.create(null) as Record<string, number>;
  const names = Object.create(null) as Record<string, string>;
  for (const email of emails) table[email] = syncedAtMs;
  names['constructor'] = 'Former Constructor';
  return {
    ...base,
    interviews: base.interviews.map((interview) => ({ ...interview, interviewers: emails.map((email) => ({ email, name: `Person ${email}` })) })),
    feedChangedAtMs: table,
    formerNames: names,
  };
}

/** A plain copy of `value` as JSON sees it, so a table without a prototype compares equal to one read back. */
const plain = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

for (const kind of KINDS) {
  kind.describe(`the state bundle contract: ${kind.name}`, () => {
    let backing: Backing;
    beforeEach(async () => {
      backing = await kind.start();
      return () => backing.close();
    });

    describe('registry', () => {
      it('has nothing before the first save, then what was saved, whole, for every other process', async () => {
        const one = await backing.open();
        expect(await one.registry.load()).toBeUndefined();
        await one.registry.save(registry(['greenhouse:acme']));
        await one.registry.save(registry(['greenhouse:acme', 'lever:globex']));
        const other = await backing.open();
        expect(await other.registry.load()).toEqual(registry(['greenhouse:acme', 'lever:globex']));
      });

      it('keeps integrations whose ids name Object.prototype members', async () => {
        const one = await backing.open();
        await one.registry.save(registry(PROTOTYPE_KEYS));
        expect((await (await backing.open()).registry.load())?.integrations.map((entry) => entry.id)).toEqual([...PROTOTYPE_KEYS]);
      });
    });

    describe('snapshots', () => {
      it('swaps a snapshot whole: another process reads the last one saved, never a mix', async () => {
        const one = await backing.open();
        expect(await one.snapshots.load('greenhouse:acme')).toBeUndefined();
        await one.snapshots.save(snapshotData('greenhouse:acme', 'First', 1_000));
        await one.snapshots.save(snapshotData('greenhouse:acme', 'Second', 2_000));
        const read = await (await backing.open()).snapshots.load('greenhouse:acme');
        expect(read).toEqual(snapshotData('greenhouse:acme', 'Second', 2_000));
      });

      it('keeps integrations and interviewers named like Object.prototype members, side tables and all', async () => {
        const one = await backing.open();
        for (const id of PROTOTYPE_KEYS) await one.snapshots.save(hostileSnapshot(id, `Title of ${id}`, 3_000));
        const other = await backing.open();
        for (const id of PROTOTYPE_KEYS) {
          const read = await other.snapshots.load(id);
          expect(plain(read)).toEqual(plain(hostileSnapshot(id, `Title of ${id}`, 3_000)));
          // Read back, a table still answers only for what it holds.
          expect(Object.hasOwn(read!.feedChangedAtMs, 'toString')).toBe(false);
        }
      });

      it('deletes one integration’s snapshot and nothing else, and a repeated delete is harmless', async () => {
        const one = await backing.open();
        await one.snapshots.save(snapshotData('greenhouse:acme', 'A', 1_000));
        await one.snapshots.save(snapshotData('lever:globex', 'B', 1_000));
        await one.snapshots.delete('greenhouse:acme');
        await one.snapshots.delete('greenhouse:acme');
        const other = await backing.open();
        expect(await other.snapshots.load('greenhouse:acme')).toBeUndefined();
        expect(await other.snapshots.load('lever:globex')).toEqual(snapshotData('lever:globex', 'B', 1_000));
      });

      it('lists every integration it holds a snapshot of, for any other process; a deleted one is not listed', async () => {
        const one = await backing.open();
        for (const id of ['greenhouse:acme', 'lever:glob*[x]', ...PROTOTYPE_KEYS]) await one.snapshots.save(snapshotData(id, 'Held', 1_000));
        await one.snapshots.delete('greenhouse:acme');
        const listed = await (await backing.open()).snapshots.list!();
        expect(listed.sort()).toEqual(['lever:glob*[x]', ...PROTOTYPE_KEYS].sort());
      });
    });

    describe('walk coordination', () => {
      const logger = () => captureLogger().logger;

      it('publishes a walk under a lease, and another process finds that very snapshot', async () => {
        const one = (await backing.open()).coordinator(logger());
        const { lease } = await one.acquire('greenhouse:acme');
        await lease!.publish(snapshotData('greenhouse:acme', 'Walked', 5_000), { full: true, changes: 1 }).then(async (published) => {
          await published.written;
        });
        await lease!.release();
        const other = (await backing.open()).coordinator(logger());
        const found = await other.newer('greenhouse:acme', { version: 0, lineage: '' });
        expect(found?.kind).toBe('whole');
        expect(found?.kind === 'whole' ? found.data : undefined).toEqual(snapshotData('greenhouse:acme', 'Walked', 5_000));
      });

      it('refuses the publish of a lease older than the newest granted (fencing): nothing of it is written', async () => {
        const coordinator = (await backing.open()).coordinator(logger());
        const first = (await coordinator.acquire('greenhouse:acme')).lease!;
        await first.release();
        const second = (await coordinator.acquire('greenhouse:acme')).lease!;
        expect(second.token).toBeGreaterThan(first.token);
        await expect(first.publish(snapshotData('greenhouse:acme', 'Stale', 6_000), { full: true, changes: 1 })).rejects.toThrow(StaleLeaseError);
        await (await second.publish(snapshotData('greenhouse:acme', 'Fresh', 7_000), { full: true, changes: 1 })).written;
        await second.release();
        const read = await (await backing.open()).snapshots.load('greenhouse:acme');
        expect(read?.interviews[0]?.title).toBe('Fresh');
      });
    });

    describe('link fetches', () => {
      it('keeps who fetched which link, for integrations and emails named like Object.prototype members', async () => {
        const one = await backing.open();
        const fetches = Object.create(null) as Record<string, Record<string, { atMs: number; client: 'google' }>>;
        for (const id of PROTOTYPE_KEYS) {
          const people = Object.create(null) as Record<string, { atMs: number; client: 'google' }>;
          people['constructor'] = { atMs: 1_000, client: 'google' };
          people['__proto__'] = { atMs: 2_000, client: 'google' };
          fetches[id] = people;
        }
        await one.fetches.save({ format: 1, fetches });
        const read = await (await backing.open()).fetches.load();
        expect(plain(read)).toEqual(plain({ format: 1, fetches }));
        expect(Object.hasOwn(read!.fetches, 'toString') && Object.hasOwn(read!.fetches['toString']!, '__proto__')).toBe(true);
      });
    });

    describe('revocations', () => {
      const generations = (entries: Array<[string, string, number]>): LinkGenerationData => {
        const data: Record<string, Record<string, number>> = Object.create(null);
        for (const [integration, subject, generation] of entries) (data[integration] ??= Object.create(null))[subject] = generation;
        return { format: 1, generations: data };
      };

      it('shows a saved revocation to the next read of every other process', async () => {
        const one = await backing.open();
        const other = await backing.open();
        expect(await other.links.load()).toBeUndefined();
        await one.links.save(generations([['greenhouse:acme', 'p:ada@example.com', 1]]));
        expect(plain(await other.links.load())).toEqual(plain(generations([['greenhouse:acme', 'p:ada@example.com', 1]])));
      });

      it('writes one change over what it holds (a key set or gone), and every other process reads the table with it', async () => {
        const one = await backing.open();
        await one.links.save(generations([['greenhouse:acme', 'p:ada@example.com', 1], ['greenhouse:acme', 'p:grace@example.com', 3]]));
        await one.links.write!(new Map([['greenhouse:acme\np:ada@example.com', 2]]));
        await one.links.write!(new Map<string, number | null>([['greenhouse:acme\np:grace@example.com', null], ['greenhouse:acme\n#', 4]]));
        for (const key of PROTOTYPE_KEYS) await one.links.write!(new Map([[`${key}\np:${key}`, 7]]));
        const expected = generations([
          ['greenhouse:acme', 'p:ada@example.com', 2],
          ['greenhouse:acme', '#', 4],
          ...PROTOTYPE_KEYS.map((key) => [key, `p:${key}`, 7] as [string, string, number]),
        ]);
        const other = await backing.open();
        expect(plain(await other.links.load())).toEqual(plain(expected));
        // Read as one flat table, the same entries.
        if (other.links.loadTable) expect(await other.links.loadTable()).toEqual(flattenGenerations(expected));
        expect(Object.prototype).not.toHaveProperty('p:toString');
      });

      it('tells another process sharing it only what changed, refuses a write over a change unseen, and says when it confirmed', async () => {
        const one = await backing.open();
        const other = await backing.open();
        if (one.links.changes === undefined) {
          // A store of its own process: nothing changes elsewhere, and its revocations are always confirmed.
          expect(one.links.confirmedAtMs).toBeUndefined();
          return;
        }
        const table = new Map(PROTOTYPE_KEYS.map((key, n) => [`greenhouse:acme\np:${key}`, n + 1]));
        await one.links.save(generations([...table].map(([key, generation]) => ['greenhouse:acme', key.split('\n')[1]!, generation])));
        await other.links.load();
        const before = Date.now();
        expect(await other.links.changes!()).toEqual(new Map());
        expect(other.links.confirmedAtMs!()).toBeGreaterThanOrEqual(before);
        await one.links.write!(new Map([['greenhouse:acme\np:__proto__', 9]]));
        await one.links.write!(new Map<string, number | null>([['greenhouse:acme\np:toString', null]]));
        // The other holds the version before those: its write is refused, and it learns only the two keys.
        await expect(other.links.write!(new Map([['greenhouse:acme\np:new@example.com', 1]]))).rejects.toThrow(StoreConflictError);
        expect(await other.links.changes!()).toEqual(
          new Map<string, number | null>([
            ['greenhouse:acme\np:__proto__', 9],
            ['greenhouse:acme\np:toString', null],
          ]),
        );
        await other.links.write!(new Map([['greenhouse:acme\np:new@example.com', 1]]));
        expect(await one.links.changes!()).toEqual(new Map([['greenhouse:acme\np:new@example.com', 1]]));
      });

      it('keeps revocations of integrations and subjects named like Object.prototype members', async () => {
        const one = await backing.open();
        const saved = generations(PROTOTYPE_KEYS.flatMap((id, n) => [[id, `p:${id}`, n + 1] as [string, string, number], [id, 'p:constructor', 9]]));
        await one.links.save(saved);
        expect(plain(await (await backing.open()).links.load())).toEqual(plain(saved));
      });
    });

    describe('page sessions', () => {
      it('finds a session by its cookie until it is ended or expires, and never by another value', async () => {
        let now = 1_000_000;
        const sessions = (await backing.open()).sessions({ ttlMs: HOUR, now: () => now });
        const admin = await sessions.create();
        const person = await sessions.create({ admin: false, email: 'constructor', emailVerified: true });
        expect(await sessions.get(admin.id)).toMatchObject({ admin: true, csrf: admin.csrf });
        expect(await sessions.get(person.id)).toMatchObject({ admin: false, email: 'constructor' });
        for (const key of PROTOTYPE_KEYS) expect(await sessions.get(key)).toBeUndefined();
        await sessions.delete(admin);
        expect(await sessions.get(admin.id)).toBeUndefined();
        now += HOUR;
        expect(await sessions.get(person.id)).toBeUndefined();
      });

      it('holds at most five sessions of one email: a sixth ends that email’s oldest, nobody else’s', async () => {
        let now = 1_000_000;
        const sessions = (await backing.open()).sessions({ ttlMs: HOUR, now: () => now++ });
        const someoneElse = await sessions.create({ admin: false, email: 'grace@example.com', emailVerified: true });
        const mine = [];
        for (let n = 0; n < 6; n++) mine.push(await sessions.create({ admin: false, email: 'ada@example.com', emailVerified: true }));
        expect(await sessions.get(mine[0]!.id)).toBeUndefined();
        for (const session of mine.slice(1)) expect(await sessions.get(session.id)).toBeDefined();
        expect(await sessions.get(someoneElse.id)).toBeDefined();
      });

      it('counts only verified sessions in an email’s five: sign-ins claiming it unverified end none of them', async () => {
        let now = 1_000_000;
        const sessions = (await backing.open()).sessions({ ttlMs: HOUR, now: () => now++ });
        const verified = [];
        for (let n = 0; n < SESSIONS_PER_EMAIL_MAX; n++) verified.push(await sessions.create({ admin: false, email: 'ada@example.com', emailVerified: true }));
        const claims = [];
        for (let n = 0; n < SESSIONS_PER_EMAIL_MAX + 3; n++) claims.push(await sessions.create({ admin: false, email: n % 2 ? 'ADA@example.com ' : 'ada@example.com', emailVerified: false }));
        for (const session of verified) expect(await sessions.get(session.id)).toBeDefined();
        // The claims are bounded among themselves: their own oldest went.
        expect(await Promise.all(claims.map(async (session) => (await sessions.get(session.id)) !== undefined))).toEqual([false, false, false, ...Array(SESSIONS_PER_EMAIL_MAX).fill(true)]);
        // And the bound still holds for the verified ones (the email normalised: one person).
        const sixth = await sessions.create({ admin: false, email: ' Ada@Example.com', emailVerified: true });
        expect(await sessions.get(verified[0]!.id)).toBeUndefined();
        expect(await sessions.get(sixth.id)).toBeDefined();
      });

      it('keeps sessions of emails named like Object.prototype members apart, verified or not, each bounded alone', async () => {
        let now = 1_000_000;
        const sessions = (await backing.open()).sessions({ ttlMs: HOUR, now: () => now++ });
        const kept = [];
        for (const email of PROTOTYPE_KEYS) {
          for (const emailVerified of [true, false]) kept.push(await sessions.create({ admin: false, email, emailVerified }));
        }
        for (let n = 0; n < SESSIONS_PER_EMAIL_MAX; n++) await sessions.create({ admin: false, email: 'toString', emailVerified: true });
        const alive = await Promise.all(kept.map(async (session) => (await sessions.get(session.id))?.email));
        expect(alive).toEqual(PROTOTYPE_KEYS.flatMap((email) => (email === 'toString' ? [undefined, email] : [email, email])));
      });

      it('keeps how each session was granted, for every process to check again on use', async () => {
        const grants: Array<AdminGrant | null> = [{ by: 'token', fingerprint: 'f1' }, { by: 'email' }, { by: 'demo' }, null];
        const one = (await backing.open()).sessions({ ttlMs: HOUR, now: () => 1_000_000 });
        const made = [];
        for (const grant of grants) made.push(await one.create({ admin: grant !== null, email: grant?.by === 'email' ? 'ada@example.com' : null, emailVerified: grant?.by === 'email', grant }));
        const reader = kind.shared ? (await backing.open()).sessions({ ttlMs: HOUR, now: () => 1_000_000 }) : one;
        for (const [n, session] of made.entries()) expect((await reader.get(session.id))?.grant).toEqual(grants[n]);
        // Made without one, a session has none: nothing vouches for an admin page.
        expect((await one.create({ admin: false, email: 'grace@example.com', emailVerified: true })).grant).toBeNull();
      });
    });

    describe('sign-ins in progress', () => {
      it('gives a sign-in once: a second take, or a take of a state never held, finds nothing', async () => {
        const pending = (await backing.open()).pendingSignIns();
        const login = { verifier: 'v', nonce: 'n', next: 'me' as const, expiresAtMs: 2_000_000 };
        await pending.hold('state-1', login, 1_000_000);
        for (const key of PROTOTYPE_KEYS) expect(await pending.take(key)).toBeUndefined();
        expect(await pending.take('state-1')).toEqual(login);
        expect(await pending.take('state-1')).toBeUndefined();
      });

      // Each lasts as long from its start, so start order is expiry order (as the sign-in's own TTL makes it).
      const login = (n: number, startMs: number) => ({ verifier: `v${n}`, nonce: `n${n}`, next: 'me' as const, expiresAtMs: startMs + 600_000 });
      /** Which of `states` are still held (each taken: call once). */
      const held = async (pending: ReturnType<StateBundle['pendingSignIns']>, states: string[]) => Promise.all(states.map(async (state) => (await pending.take(state)) !== undefined));

      it('holds a few per client address: past it, that address’s own oldest goes, nobody else’s', async () => {
        const pending = (await backing.open()).pendingSignIns({ max: 100, perClient: 3 });
        let now = 1_000_000;
        await pending.hold('victim', login(0, now), now++, '198.51.100.7');
        const flood = [];
        for (let n = 1; n <= 10; n++, now++) {
          flood.push(`flood-${n}`);
          await pending.hold(`flood-${n}`, login(n, now), now, '203.0.113.66');
        }
        expect(await held(pending, ['victim', ...flood])).toEqual([true, ...Array(7).fill(false), true, true, true]);
      });

      it('when every place is taken, drops the oldest of the address holding the most: a flood from many addresses drops only its own', async () => {
        const pending = (await backing.open()).pendingSignIns({ max: 10, perClient: 4 });
        let now = 1_000_000;
        await pending.hold('victim', login(0, now), now++, '198.51.100.7');
        const flood: string[] = [];
        // Five addresses, each to its own bound, in turn: twice every place there is.
        for (let n = 0; n < 20; n++, now++) {
          flood.push(`flood-${n}`);
          await pending.hold(`flood-${n}`, login(n, now), now, `203.0.113.${n % 5}`);
        }
        expect(await held(pending, ['victim'])).toEqual([true]);
        // Every other place is the flood's (the table never outgrew its bound), each address's newest kept.
        const kept = await held(pending, flood);
        expect(kept.filter(Boolean)).toHaveLength(9);
        expect(kept.slice(-5)).toEqual(Array(5).fill(true));
      });

      it('keeps sign-ins of client addresses named like Object.prototype members apart, each bounded alone', async () => {
        const pending = (await backing.open()).pendingSignIns({ max: 100, perClient: 2 });
        for (const [n, client] of PROTOTYPE_KEYS.entries()) {
          for (let k = 0; k < 3; k++) await pending.hold(`${client}-${k}`, login(n, 1_000_000 + k), 1_000_000 + k, client);
        }
        await pending.hold('__proto__', login(9, 1_000_010), 1_000_010, 'constructor');
        for (const client of PROTOTYPE_KEYS) expect(await held(pending, [`${client}-0`, `${client}-1`, `${client}-2`])).toEqual(client === 'constructor' ? [false, false, true] : [false, true, true]);
        expect(await pending.take('__proto__')).toEqual(login(9, 1_000_010));
      });
    });

    describe('rate-limit counters', () => {
      it('counts per key until the count ends, keys named like Object.prototype members included; shared by every process of a shared store', async () => {
        const one = (await backing.open()).counters({ name: 'contract', ttlMs: 60_000 });
        for (const key of ['10.0.0.1', ...PROTOTYPE_KEYS]) {
          expect(await one.get(key)).toBe(0);
          expect(await one.add(key)).toBe(1);
          expect(await one.add(key)).toBe(2);
        }
        expect(await one.get('__proto__')).toBe(2);
        await one.subtract('hasOwnProperty');
        expect(await one.get('hasOwnProperty')).toBe(1);
        expect(await (await backing.open()).counters({ name: 'contract', ttlMs: 60_000 }).get('constructor')).toBe(kind.shared ? 2 : 0);
        // Another name is another set of counts.
        expect(await (await backing.open()).counters({ name: 'other', ttlMs: 60_000 }).get('10.0.0.1')).toBe(0);
      });
    });

    describe('webhook ids', () => {
      it('claims an id once until it is released, ids named like Object.prototype members included', async () => {
        const ids = (await backing.open()).webhookIds({ now: () => 1_000_000 });
        for (const id of ['evt-1', ...PROTOTYPE_KEYS]) {
          expect(await ids.claim(id)).toBe(false);
          expect(await ids.claim(id)).toBe(true);
        }
        await ids.release('evt-1');
        expect(await ids.claim('evt-1')).toBe(false);
      });

      it('remembers a claim in another process on the same store (a restart, another replica), but not a released one', async () => {
        const one = (await backing.open()).webhookIds({ now: () => 1_000_000 });
        for (const id of ['evt-kept', ...PROTOTYPE_KEYS]) expect(await one.claim(id)).toBe(false);
        expect(await one.claim('evt-given-up')).toBe(false);
        await one.release('evt-given-up');
        const other = (await backing.open()).webhookIds({ now: () => 1_000_000 });
        for (const id of ['evt-kept', ...PROTOTYPE_KEYS]) expect([id, await other.claim(id)]).toEqual([id, true]);
        expect(await other.claim('evt-given-up')).toBe(false);
        expect(Object.prototype).not.toHaveProperty('evt-kept');
      });
    });
  });
}
