import { describe, expect, it } from 'vitest';
import { createSingleFlight, type WalkAsk } from '../../src/sync/single-flight.js';

/** A walk the test ends by hand. */
interface HeldWalk {
  ask: WalkAsk;
  n: number;
  resolve(): void;
  reject(error: Error): void;
}

/** A single flight over walks the test finishes one by one; each resolves with its number. */
function flightOfHeldWalks(options: { fullWalk?: (ask: WalkAsk) => boolean } = {}) {
  const walks: HeldWalk[] = [];
  const events: string[] = [];
  const flight = createSingleFlight<number>({
    run: (ask) =>
      new Promise<number>((resolve, reject) => {
        const n = walks.length + 1;
        walks.push({ ask, n, resolve: () => resolve(n), reject });
      }),
    fullWalk: options.fullWalk ?? ((ask) => ask.full),
    closedError: () => new Error('closed'),
    onStart: (ask) => events.push(`start ${ask.full ? 'full' : 'incremental'}`),
    onFailure: (_ask, error) => events.push(`failure ${(error as Error).message}`),
    onIdle: () => events.push('idle'),
  });
  return { flight, walks, events };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('createSingleFlight', () => {
  it('lets every refresh asked during a walk join it, and starts a new walk once it has ended', async () => {
    const { flight, walks, events } = flightOfHeldWalks();
    const first = flight.refresh();
    const second = flight.refresh();
    const third = flight.refresh({ full: false });
    expect(flight.running()).toBe(true);
    expect(walks).toHaveLength(1);
    walks[0]!.resolve();
    expect(await Promise.all([first, second, third])).toEqual([1, 1, 1]);
    expect(flight.running()).toBe(false);
    expect(events).toEqual(['start incremental', 'idle']);

    const next = flight.refresh();
    expect(walks).toHaveLength(2);
    walks[1]!.resolve();
    expect(await next).toBe(2);
  });

  it('rejects every caller of a failed walk with its error, and tells of the failure before the flight lands', async () => {
    const { flight, walks, events } = flightOfHeldWalks();
    const results = [flight.refresh(), flight.refresh()].map((p) => p.then(() => 'ok', (error: Error) => error.message));
    walks[0]!.reject(new Error('Kombo said 503'));
    expect(await Promise.all(results)).toEqual(['Kombo said 503', 'Kombo said 503']);
    expect(events).toEqual(['start incremental', 'failure Kombo said 503', 'idle']);
  });

  it('makes full asks during an incremental walk into one full walk after it, shared by all of them', async () => {
    const { flight, walks, events } = flightOfHeldWalks();
    const incremental = flight.refresh();
    const fullA = flight.refresh({ full: true });
    const fullB = flight.refresh({ full: true });
    expect(walks).toHaveLength(1);
    walks[0]!.resolve();
    expect(await incremental).toBe(1);
    await settle();
    expect(walks.map((w) => w.ask.full)).toEqual([false, true]);
    walks[1]!.resolve();
    expect(await Promise.all([fullA, fullB])).toEqual([2, 2]);
    // No idle between the walk and the full one queued behind it.
    expect(events).toEqual(['start incremental', 'start full', 'idle']);
  });

  it('lets a full ask join a walk that is full, whether asked so or found so when it started', async () => {
    const asked = flightOfHeldWalks();
    const a = asked.flight.refresh({ full: true });
    const b = asked.flight.refresh({ full: true });
    asked.walks[0]!.resolve();
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(asked.walks).toHaveLength(1);

    // Nothing served yet: the walk is full although nobody asked for one.
    const found = flightOfHeldWalks({ fullWalk: () => true });
    const c = found.flight.refresh();
    const d = found.flight.refresh({ full: true });
    found.walks[0]!.resolve();
    expect(await Promise.all([c, d])).toEqual([1, 1]);
    expect(found.walks).toHaveLength(1);
  });

  it('follows what the walk in flight says it is: a full ask after it turned out incremental queues a full walk', async () => {
    const { flight, walks } = flightOfHeldWalks({ fullWalk: () => true });
    const first = flight.refresh();
    flight.walking(false);
    const full = flight.refresh({ full: true });
    walks[0]!.resolve();
    expect(await first).toBe(1);
    await settle();
    walks[1]!.resolve();
    expect(await full).toBe(2);
  });

  it('runs a confirmation as a walk of its own, read after the walk in flight', async () => {
    const { flight, walks } = flightOfHeldWalks();
    const walking = flight.refresh({ full: true });
    const confirmed = flight.refresh({ full: true, confirmRemovals: true });
    expect(walks).toHaveLength(1);
    walks[0]!.resolve();
    expect(await walking).toBe(1);
    await settle();
    expect(walks).toHaveLength(2);
    expect(walks[1]!.ask).toEqual({ full: true, confirmRemovals: true, periodic: false });
    walks[1]!.resolve();
    expect(await confirmed).toBe(2);
  });

  it('makes an ask during a periodic run wait for it and ask again, as that run may end without walking', async () => {
    const { flight, walks } = flightOfHeldWalks();
    const periodic = flight.refresh({ periodic: true });
    const anotherPeriodic = flight.refresh({ periodic: true });
    const asked = flight.refresh();
    walks[0]!.resolve();
    expect(await Promise.all([periodic, anotherPeriodic])).toEqual([1, 1]);
    await settle();
    expect(walks).toHaveLength(2);
    expect(walks[1]!.ask.periodic).toBe(false);
    walks[1]!.resolve();
    expect(await asked).toBe(2);
  });

  it('refuses refreshes once closed, rejects a queued full walk when the walk in flight ends, and close() waits for that walk', async () => {
    const { flight, walks, events } = flightOfHeldWalks();
    const walking = flight.refresh();
    const queued = flight.refresh({ full: true }).then(() => 'ran', (error: Error) => error.message);
    let closed = false;
    const closing = flight.close().then(() => (closed = true));
    expect(flight.closed()).toBe(true);
    await expect(flight.refresh()).rejects.toThrow('closed');
    await settle();
    expect(closed).toBe(false);
    walks[0]!.resolve();
    expect(await walking).toBe(1);
    await closing;
    expect(await queued).toBe('closed');
    expect(walks).toHaveLength(1);
    expect(events).toEqual(['start incremental']);
  });

  it('closes at once when nothing is in flight', async () => {
    const { flight } = flightOfHeldWalks();
    await flight.close();
    await expect(flight.refresh()).rejects.toThrow('closed');
  });
});
