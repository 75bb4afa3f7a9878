import type { WalkBudget } from '../kombo/paginate-interviews.js';

const MiB = 1024 * 1024;

/**
 * 12,345 as `toLocaleString('en')` writes it, without Intl: every walk words its budget, and a process's first
 * `toLocaleString` loads ICU's number data (about 30 ms, paid by the first unchanged refresh after a start).
 */
const grouped = (value: number): string => String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** The most any walk may read, whatever came before it (KOMBO_WALK_MAX_RECORDS and KOMBO_WALK_MAX_MB). */
export interface WalkCeiling {
  readonly records: number;
  readonly bytes: number;
}

/**
 * The default ceiling. Records count what a walk holds (interviews a feed can show, and news of held ones), not the
 * history it streams past: 250,000 is five times the 50,000-interview benchmark organisation's. Bytes count everything
 * read, history included, but cost no heap (each page is dropped once read): 8 GiB lets a first walk read a million
 * records of history with `remote_data` (about 3 KB each) and still cuts off an upstream that never stops answering;
 * the page cap (10,000 pages, 2.5 million records) bounds it too.
 */
export const DEFAULT_WALK_CEILING: WalkCeiling = { records: 250_000, bytes: 8192 * MiB };
/** A walk may read this many times what the last full walk read: an organisation grows, but not fourfold at once. */
export const WALK_BUDGET_HEADROOM = 4;
/** However small the last walk, a budget allows this much, so a small organisation can import its history. */
export const WALK_BUDGET_FLOOR: WalkCeiling = { records: 10_000, bytes: 64 * MiB };

/** What a budget is derived from: the size of the last good walk, and where that figure comes from. */
export interface WalkSize {
  readonly records: number;
  /** Unknown until this process has walked in full: a saved snapshot does not record it. */
  readonly bytes: number | undefined;
  readonly source: string;
}

/**
 * The budget of the next walk: {@link WALK_BUDGET_HEADROOM} times `last`, at least {@link WALK_BUDGET_FLOOR}, at
 * most `ceiling`; the ceiling itself for what `last` does not know (a first walk knows nothing).
 */
export function walkBudget(last: WalkSize | undefined, ceiling: WalkCeiling = DEFAULT_WALK_CEILING): WalkBudget {
  const derive = (size: number | undefined, floor: number, max: number) =>
    size === undefined ? max : Math.min(max, Math.max(floor, Math.ceil(size * WALK_BUDGET_HEADROOM)));
  if (last === undefined) {
    return { records: ceiling.records, bytes: ceiling.bytes, basis: 'no walk before this one, so the ceiling: KOMBO_WALK_MAX_RECORDS and KOMBO_WALK_MAX_MB' };
  }
  const records = derive(last.records, WALK_BUDGET_FLOOR.records, ceiling.records);
  const bytes = derive(last.bytes, WALK_BUDGET_FLOOR.bytes, ceiling.bytes);
  const size = `${grouped(last.records)} records${last.bytes === undefined ? '' : `, ${grouped(last.bytes)} bytes`}`;
  return {
    records,
    bytes,
    basis: `the budget is ${WALK_BUDGET_HEADROOM} × ${last.source} (${size}), at least ${grouped(WALK_BUDGET_FLOOR.records)} records and ${WALK_BUDGET_FLOOR.bytes / MiB} MiB, at most KOMBO_WALK_MAX_RECORDS and KOMBO_WALK_MAX_MB`,
  };
}

/** One integration's budgets, walk after walk: set by its last full walk, or by a budget a walk passed. */
export interface WalkBudgets {
  /**
   * The next walk's budget. Before this process has walked in full: from `served`'s live interviews (a walk also
   * lists canceled ones), or the ceiling when nothing is served.
   */
  next(served: { readonly size: number } | undefined): WalkBudget;
  /** A full walk read this much. */
  walkedFull(size: { readonly records: number; readonly bytes: number }): void;
  /**
   * A walk passed `budget` and failed: the next one may read {@link WALK_BUDGET_HEADROOM} times as much, up to the
   * ceiling. A runaway upstream still never passes the ceiling, and an organisation that really grew lands a few walks on.
   */
  passed(budget: WalkBudget): void;
}

/** Creates the {@link WalkBudgets} of one integration, under `ceiling`. */
export function createWalkBudgets(ceiling?: WalkCeiling): WalkBudgets {
  let last: WalkSize | undefined;
  return {
    next(served) {
      const held = served ? { records: served.size, bytes: undefined, source: "the snapshot's interviews" } : undefined;
      return walkBudget(last ?? held, ceiling);
    },
    walkedFull(size) {
      last = { ...size, source: 'the last full walk' };
    },
    passed(budget) {
      last = { records: budget.records, bytes: budget.bytes, source: 'the budget the last walk passed' };
    },
  };
}
