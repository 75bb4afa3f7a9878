import type { IntegrationRunner } from './integration-runner.js';

/** The integrations served now, one runner each. */
export interface IntegrationSet {
  get(id: string): IntegrationRunner | undefined;
  /** The integration `id` names, or the only one when `id` is undefined and exactly one is served. */
  resolve(id: string | undefined): IntegrationRunner | undefined;
  list(): IntegrationRunner[];
  readonly size: number;
  /** Builds `id`'s runner and serves it. */
  add(id: string): IntegrationRunner;
  /** Stops serving `runner`, and resolves once its walks have ended. */
  drop(runner: IntegrationRunner): Promise<void>;
  /**
   * Serves exactly `ids`: drops the others one by one (telling `onDropped` after each), then builds the missing ones
   * (none once `closed`); resolves with the runners built.
   */
  align(ids: Iterable<string>, onDropped?: (id: string) => void): Promise<IntegrationRunner[]>;
  /** Runs `act` on `id`'s runner; false when it is not served. */
  with(id: string, act: (runner: IntegrationRunner) => Promise<void>): Promise<boolean>;
}

/** Creates an {@link IntegrationSet} whose runners `build` makes. */
export function createIntegrationSet(build: (id: string) => IntegrationRunner, closed: () => boolean = () => false): IntegrationSet {
  const runners = new Map<string, IntegrationRunner>();

  function add(id: string): IntegrationRunner {
    const runner = build(id);
    runners.set(id, runner);
    return runner;
  }

  async function drop(runner: IntegrationRunner): Promise<void> {
    runners.delete(runner.id);
    await runner.stop('integration removed');
  }

  return {
    get: (id) => runners.get(id),
    resolve(id) {
      if (id !== undefined) return runners.get(id);
      return runners.size === 1 ? runners.values().next().value : undefined;
    },
    list: () => [...runners.values()],
    get size() {
      return runners.size;
    },
    add,
    drop,
    async align(ids, onDropped) {
      const wanted = new Set(ids);
      for (const runner of [...runners.values()]) {
        if (wanted.has(runner.id)) continue;
        await drop(runner);
        onDropped?.(runner.id);
      }
      return [...wanted].filter((id) => !runners.has(id) && !closed()).map(add);
    },
    async with(id, act) {
      const runner = runners.get(id);
      if (!runner) return false;
      await act(runner);
      return true;
    },
  };
}
