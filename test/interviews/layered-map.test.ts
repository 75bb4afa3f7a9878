import { describe, expect, it } from 'vitest';
import { LayeredMap } from '../../src/interviews/layered-map.js';

/** mulberry32: the same edits on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LayeredMap', () => {
  it('reads, counts and lists as a Map copied and edited would, every version as it was made, through folds', () => {
    const random = prng(7);
    const start = new Map(Array.from({ length: 200 }, (_, n) => [`k${n}`, n] as const));
    const versions: { layered: LayeredMap<string, number>; model: Map<string, number> }[] = [{ layered: LayeredMap.over(new Map(start)), model: new Map(start) }];
    let folds = 0;
    for (let round = 0; round < 300; round++) {
      const { layered, model } = versions.at(-1)!;
      const changes = Array.from({ length: 1 + Math.floor(random() * 6) }, () => {
        const key = `k${Math.floor(random() * 260)}`;
        return [key, random() < 0.3 ? undefined : round * 1000 + Math.floor(random() * 1000)] as const;
      });
      const next = layered.with(changes);
      const copy = new Map(model);
      for (const [key, value] of changes) {
        if (value === undefined) copy.delete(key);
        else copy.set(key, value);
      }
      if (next.layer.base !== layered.layer.base) folds++;
      versions.push({ layered: next, model: copy });
    }
    expect(folds).toBeGreaterThan(0);
    for (const { layered, model } of versions) {
      expect(layered.size).toBe(model.size);
      expect(new Map(layered)).toEqual(model);
      for (let n = 0; n < 260; n++) {
        expect(layered.get(`k${n}`)).toBe(model.get(`k${n}`));
        expect(layered.has(`k${n}`)).toBe(model.has(`k${n}`));
      }
    }
  });

  it('keeps the base’s order, a changed key in its place and added keys after, as a copied Map would', () => {
    const layered = LayeredMap.over(new Map([['a', 1], ['b', 2], ['c', 3]])).with([['b', 20], ['d', 4], ['a', undefined]]);
    expect([...layered.keys()]).toEqual(['b', 'c', 'd']);
    expect([...layered.values()]).toEqual([20, 3, 4]);
  });

  it('names the keys two versions of one base may differ in, and none across a fold', () => {
    const base = LayeredMap.over(new Map(Array.from({ length: 10 }, (_, n) => [n, n] as const)));
    const one = base.with([[1, 10]]);
    const two = one.with([[2, undefined], [11, 11]]);
    expect(new Set(two.keysChangedSince(one))).toEqual(new Set([1, 2, 11]));
    expect(two.keysChangedSince(new Map(two))).toBeUndefined();
    const folded = two.with(Array.from({ length: 100 }, (_, n) => [100 + n, n] as const));
    expect(folded.layer.changes).toBe(0);
    expect(folded.keysChangedSince(two)).toBeUndefined();
  });
});
