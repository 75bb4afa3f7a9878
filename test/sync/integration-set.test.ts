import { describe, expect, it } from 'vitest';
import type { IntegrationRunner } from '../../src/sync/integration-runner.js';
import { createIntegrationSet } from '../../src/sync/integration-set.js';

/** Runners that only record being stopped: the set neither walks nor reads them. */
function fakeRunners() {
  const stopped: string[] = [];
  const build = (id: string) => ({ id, stop: async (reason: string) => void stopped.push(`${id}: ${reason}`) }) as unknown as IntegrationRunner;
  return { build, stopped };
}

describe('createIntegrationSet', () => {
  it('builds, finds and drops runners; resolves the only one when no id is given', async () => {
    const { build, stopped } = fakeRunners();
    const set = createIntegrationSet(build);
    const a = set.add('a');
    expect(set.get('a')).toBe(a);
    expect(set.resolve(undefined)).toBe(a);
    set.add('b');
    expect(set.resolve(undefined)).toBeUndefined();
    expect(set.resolve('b')?.id).toBe('b');
    expect(set.size).toBe(2);
    await set.drop(a);
    expect(set.list().map((r) => r.id)).toEqual(['b']);
    expect(stopped).toEqual(['a: integration removed']);
  });

  it('aligns with a list of ids: drops the others, telling of each, and builds the missing ones', async () => {
    const { build, stopped } = fakeRunners();
    const set = createIntegrationSet(build);
    for (const id of ['a', 'b', 'c']) set.add(id);
    const dropped: string[] = [];
    const built = await set.align(['b', 'd', 'e'], (id) => dropped.push(id));
    expect(built.map((r) => r.id)).toEqual(['d', 'e']);
    expect(dropped).toEqual(['a', 'c']);
    expect(stopped).toEqual(['a: integration removed', 'c: integration removed']);
    expect(set.list().map((r) => r.id)).toEqual(['b', 'd', 'e']);
  });

  it('builds nothing once closed', async () => {
    const { build } = fakeRunners();
    const set = createIntegrationSet(build, () => true);
    expect(await set.align(['a'])).toEqual([]);
    expect(set.size).toBe(0);
  });

  it('acts on a runner it serves, and says whether it did', async () => {
    const { build } = fakeRunners();
    const set = createIntegrationSet(build);
    set.add('a');
    const seen: string[] = [];
    expect(await set.with('a', async (runner) => void seen.push(runner.id))).toBe(true);
    expect(await set.with('z', async (runner) => void seen.push(runner.id))).toBe(false);
    expect(seen).toEqual(['a']);
  });
});
