import type { Logger } from 'pino';
import type { ParsedRecord } from '../interviews/interview-schema.js';
import {
  emptyRefs,
  isRejectedLinked,
  LINKED_MODELS,
  NO_LINKED_DATA,
  parseLinkedRecord,
  type LinkedModel,
  type LinkedRefs,
  type ParsedLinked,
  type RefVisitor,
  visitRefs,
} from '../interviews/linked-records.js';
import type { Snapshot } from '../interviews/snapshot.js';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import { fetchLinkedRecords, MAX_IDS_PER_REQUEST, type LinkedReadCost } from '../kombo/fetch-linked-records.js';
import type { WalkBudget } from '../kombo/paginate-interviews.js';

/**
 * Linked requests in flight at once while interview pages are read (besides the walk's own page ahead): enough to
 * keep Kombo busy while a page is validated, few enough to leave the interview walk its share of the rate limit.
 */
export const PREFETCH_IN_FLIGHT = 2;

/** What {@link createLinkedPrefetch} needs: what {@link walkLinked} is given, less the walk's records. */
export interface LinkedPrefetchOptions {
  previous: Snapshot | undefined;
  signal?: AbortSignal | undefined;
  budget?: WalkBudget | undefined;
  maxPages?: number | undefined;
  logger: Logger;
}

/**
 * The linked records a walk's interviews reference and the snapshot does not hold, asked for by ids while the walk is
 * still reading interview pages (a full page of ids at a time, {@link PREFETCH_IN_FLIGHT} requests at most), instead of
 * all after it. {@link walkLinked} applies what it read and asks only for the rest.
 */
export interface LinkedPrefetch {
  /** A page's records as the walk keeps them: asks for what they reference that is neither held nor asked yet. */
  page(records: readonly ParsedRecord[]): void;
  /** Waits for every request under way; never throws (a model whose request failed is in `failed`). */
  settled(): Promise<void>;
  /** Stops every request under way and asks nothing more (the walk failed). */
  abort(): void;
  /** The ids asked for, per model (asked once per walk, whether or not Kombo returned them). */
  readonly asked: LinkedRefs;
  /**
   * What the pages' records reference, through the linked records held when the walk began: {@link walkLinked}
   * starts from it instead of going through every record again.
   */
  readonly refs: LinkedRefs;
  /** The records read, validated, in the order they arrived. */
  readonly read: ReadonlyMap<LinkedModel, readonly ParsedLinked<LinkedModel>[]>;
  /** Records that failed validation (logged as they arrived). */
  readonly rejected: number;
  /** Requests to each model's endpoint (retries included), and what they read: the walk's budget bounds them with its own. */
  readonly spent: Readonly<Record<LinkedModel, LinkedReadCost>>;
  /** Each model whose request failed, with its error: the walk reads nothing more of it this time. */
  readonly failed: ReadonlyMap<LinkedModel, unknown>;
}

/** Creates a {@link LinkedPrefetch} for a walk starting from `previous`. */
export function createLinkedPrefetch(client: KomboClient, options: LinkedPrefetchOptions): LinkedPrefetch {
  const held = (options.previous?.integrationId === client.integrationId ? options.previous.data.linked : undefined) ?? NO_LINKED_DATA;
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const asked = emptyRefs();
  const refs = emptyRefs();
  const queued = new Map<LinkedModel, string[]>(LINKED_MODELS.map((model) => [model, []]));
  const read = new Map<LinkedModel, ParsedLinked<LinkedModel>[]>(LINKED_MODELS.map((model) => [model, []]));
  const spent = Object.fromEntries(LINKED_MODELS.map((model) => [model, { requests: 0, records: 0, bytes: 0 }])) as Record<LinkedModel, LinkedReadCost>;
  const failed = new Map<LinkedModel, unknown>();
  const running = new Set<Promise<void>>();
  let rejected = 0;
  let stopped = false;

  function launch(model: LinkedModel, ids: string[]): void {
    const parsed = read.get(model)!;
    const onRecord = (raw: unknown) => {
      const result = parseLinkedRecord(model, raw);
      if (!isRejectedLinked(result)) {
        parsed.push(result);
        return;
      }
      rejected++;
      options.logger.warn({ model, id: result.id, path: result.path, problem: result.message }, 'Kombo linked record failed validation; its last good version stays');
    };
    const request = fetchLinkedRecords(client, model, { ids }, onRecord, { signal, budget: options.budget, maxPages: options.maxPages, spent: spent[model] })
      .then(
        () => {},
        (error: unknown) => {
          if (!failed.has(model)) failed.set(model, error);
          queued.get(model)!.length = 0; // in place: the visitor holds this array
        },
      )
      .finally(() => {
        running.delete(request);
        pump();
      });
    running.add(request);
  }

  /**
   * Each id a page's record references, one function per model: asked for when it is new to the walk, not held, and
   * its model has not failed.
   */
  const visitor = (model: LinkedModel) => {
    const [seen, table, askedOf, queue] = [refs[model], held[model], asked[model], queued.get(model)!];
    return (id: string) => {
      // One lookup, not has-then-add: a full walk visits a few hundred thousand ids here.
      const known = seen.size;
      if (seen.add(id).size === known) return; // seen on an earlier record: held, or asked for already
      if (Object.hasOwn(table, id) || failed.has(model)) return;
      askedOf.add(id);
      queue.push(id);
    };
  };
  const visit: RefVisitor = { users: visitor('users'), jobs: visitor('jobs'), candidates: visitor('candidates'), applications: visitor('applications') };

  /** Starts full batches while fewer than {@link PREFETCH_IN_FLIGHT} requests run. */
  function pump(): void {
    while (!stopped && running.size < PREFETCH_IN_FLIGHT) {
      const model = LINKED_MODELS.find((candidate) => !failed.has(candidate) && queued.get(candidate)!.length >= MAX_IDS_PER_REQUEST);
      if (model === undefined) return;
      launch(model, queued.get(model)!.splice(0, MAX_IDS_PER_REQUEST));
    }
  }

  return {
    page(records) {
      if (stopped) return;
      for (const record of records) if (record.interview !== null) visitRefs(record.interview, held, visit);
      pump();
    },
    async settled() {
      while (running.size > 0) await Promise.all(running);
      // What never filled a batch is the walk's to ask for: it was not asked here.
      for (const [model, queue] of queued) for (const id of queue) asked[model].delete(id);
      for (const queue of queued.values()) queue.length = 0;
      stopped = true;
    },
    abort() {
      stopped = true;
      controller.abort();
    },
    asked,
    refs,
    read,
    get rejected() {
      return rejected;
    },
    spent,
    failed,
  };
}
