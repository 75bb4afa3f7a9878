/** Stands in a layer for a key the layer deletes from its base. */
const GONE: unique symbol = Symbol('gone');

/** Fewest changes a layer holds before it may be folded into a new base. */
const MIN_LAYER = 64;
/** A layer is folded into a new base once it holds more than this share of the base. */
const MAX_LAYER_SHARE = 1 / 8;

/**
 * An immutable map that a few changes derive from another without copying it: a base map shared by every version
 * derived from it (never written to), and this version's changes on top. Deriving copies the changes made since the
 * base, not the base; once they pass an eighth of it they are folded into a new base, so an incremental walk costs
 * what it changed (a fold, at most every n/8 changes, costs n: a few copies per change, amortised), and a reader of
 * an older version never sees a later one's changes. Reads cost two lookups at most. Values are never undefined.
 *
 * Iteration lists the base's keys in their order (with their current values), then the keys the layers added, as a
 * Map copied and edited in place would (except that a key deleted and added again keeps its place).
 */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #layer: ReadonlyMap<K, V | typeof GONE>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, layer: ReadonlyMap<K, V | typeof GONE>, size: number) {
    this.#base = base;
    this.#layer = layer;
    this.size = size;
  }

  /** `map` as a base: the caller hands it over and never writes to it again. A LayeredMap is returned as it is. */
  static over<K, V>(map: ReadonlyMap<K, V>): LayeredMap<K, V> {
    return map instanceof LayeredMap ? (map as LayeredMap<K, V>) : new LayeredMap(map, new Map(), map.size);
  }

  /** This map with `changes` applied (a value of undefined deletes its key); this one is left as it was. */
  with(changes: Iterable<readonly [K, V | undefined]>): LayeredMap<K, V> {
    const layer = new Map(this.#layer);
    let size = this.size;
    for (const [key, value] of changes) {
      const had = this.#has(layer, key);
      if (value === undefined) {
        if (this.#base.has(key)) layer.set(key, GONE);
        else layer.delete(key);
      } else {
        layer.set(key, value);
      }
      size += (value === undefined ? 0 : 1) - (had ? 1 : 0);
    }
    if (layer.size > Math.max(MIN_LAYER, this.#base.size * MAX_LAYER_SHARE)) {
      const base = new Map(new LayeredMap(this.#base, layer, size));
      return new LayeredMap(base, new Map(), base.size);
    }
    return new LayeredMap(this.#base, layer, size);
  }

  /** What this version adds to the base it shares: the base (never written to) and how many keys its layer holds. */
  get layer(): { readonly base: ReadonlyMap<K, V>; readonly changes: number } {
    return { base: this.#base, changes: this.#layer.size };
  }

  /**
   * The keys whose values may differ between this map and `other`, when both share a base (the keys of either layer);
   * undefined when they do not, and only a comparison of every key can tell.
   */
  keysChangedSince(other: ReadonlyMap<K, V>): Iterable<K> | undefined {
    if (!(other instanceof LayeredMap) || other.#base !== this.#base) return undefined;
    return new Set([...this.#layer.keys(), ...(other as LayeredMap<K, V>).#layer.keys()]);
  }

  #has(layer: ReadonlyMap<K, V | typeof GONE>, key: K): boolean {
    const value = layer.get(key);
    return value === undefined ? this.#base.has(key) : value !== GONE;
  }

  get(key: K): V | undefined {
    const value = this.#layer.get(key);
    return value === undefined ? this.#base.get(key) : value === GONE ? undefined : value;
  }

  has(key: K): boolean {
    return this.#has(this.#layer, key);
  }

  *entries(): MapIterator<[K, V]> {
    const layer = this.#layer;
    if (layer.size === 0) {
      yield* this.#base.entries();
      return;
    }
    for (const [key, value] of this.#base) {
      const changed = layer.get(key);
      if (changed === undefined) yield [key, value];
      else if (changed !== GONE) yield [key, changed];
    }
    for (const [key, value] of layer) if (value !== GONE && !this.#base.has(key)) yield [key, value];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}
