import { describe, expect, it } from 'vitest';
import { createWalkBudgets, DEFAULT_WALK_CEILING, WALK_BUDGET_FLOOR, WALK_BUDGET_HEADROOM } from '../../src/sync/walk-budget.js';

const MiB = 1024 * 1024;

describe('createWalkBudgets', () => {
  it('allows the ceiling before anything is known, and headroom over the live interviews served before a full walk', () => {
    const budgets = createWalkBudgets();
    expect(budgets.next(undefined)).toMatchObject({ records: DEFAULT_WALK_CEILING.records, bytes: DEFAULT_WALK_CEILING.bytes });
    const restored = budgets.next({ size: 40_000 });
    expect(restored).toMatchObject({ records: 40_000 * WALK_BUDGET_HEADROOM, bytes: DEFAULT_WALK_CEILING.bytes });
    expect(restored.basis).toMatch(/the snapshot's interviews \(40,000 records\)/);
  });

  it('sets the next budgets by the last full walk, whatever is served', () => {
    const budgets = createWalkBudgets();
    budgets.walkedFull({ records: 20_000, bytes: 100 * MiB });
    const next = budgets.next({ size: 90_000 });
    expect(next).toMatchObject({ records: 20_000 * WALK_BUDGET_HEADROOM, bytes: 100 * MiB * WALK_BUDGET_HEADROOM });
    expect(next.basis).toMatch(/the last full walk/);
    budgets.walkedFull({ records: 10, bytes: 1_000 });
    expect(budgets.next(undefined)).toMatchObject({ records: WALK_BUDGET_FLOOR.records, bytes: WALK_BUDGET_FLOOR.bytes });
  });

  it('lets the walk after one that passed its budget read headroom times that budget, never past the ceiling', () => {
    const ceiling = { records: 500_000, bytes: 4_096 * MiB };
    const budgets = createWalkBudgets(ceiling);
    budgets.walkedFull({ records: 20_000, bytes: 100 * MiB });
    const passed = budgets.next(undefined);
    budgets.passed(passed);
    const after = budgets.next(undefined);
    expect(after).toMatchObject({ records: passed.records * WALK_BUDGET_HEADROOM, bytes: passed.bytes * WALK_BUDGET_HEADROOM });
    expect(after.basis).toMatch(/the budget the last walk passed/);
    for (let n = 0; n < 5; n++) budgets.passed(budgets.next(undefined));
    expect(budgets.next(undefined)).toMatchObject(ceiling);
  });
});
