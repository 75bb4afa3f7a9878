import type { Logger } from 'pino';
import type { ParsedRecord } from '../interviews/interview-schema.js';
import type { Interview } from '../interviews/interview.js';
import {
  addingTo,
  emptyRefs,
  isRejectedLinked,
  LINKED_MODELS,
  LinkedBuilder,
  parseLinkedRecord,
  renamedRefs,
  resolveInterview,
  type LinkedData,
  type LinkedModel,
  type LinkedRefs,
  visitRefs,
} from '../interviews/linked-records.js';
import type { Snapshot } from '../interviews/snapshot.js';
import type { KomboClient } from '../kombo/create-kombo-client.js';
import { fetchLinkedRecords, type LinkedAsk, type LinkedReadCost } from '../kombo/fetch-linked-records.js';
import type { WalkBudget } from '../kombo/paginate-interviews.js';
import type { LinkedPrefetch } from './prefetch-linked.js';

/** What a walk reads of the linked models, besides its interviews. */
export interface LinkedWalkOptions {
  kind: 'full' | 'incremental';
  startedAtMs: number;
  /** The snapshot the walk started from (its linked records, its interviews). */
  previous: Snapshot | undefined;
  /** The interview walk's records. */
  records: readonly ParsedRecord[];
  /** Changes are asked for after each model's last read less this, against clock skew. */
  overlapMs: number;
  signal?: AbortSignal | undefined;
  budget?: WalkBudget | undefined;
  maxPages?: number | undefined;
  logger: Logger;
  /** What was asked for by ids while the interview pages were read: applied first, and not asked for again. */
  prefetch?: LinkedPrefetch | undefined;
}

/** The linked records after the walk, and the interview records to apply: the walk's, resolved, and those a change reached. */
export interface LinkedWalk {
  readonly linked: LinkedData;
  readonly records: readonly ParsedRecord[];
  /** Requests made to each model's endpoint (retries included). */
  readonly requests: Readonly<Record<LinkedModel, number>>;
  /** Models whose read failed this time: their records stay as they were, and the next refresh asks again. */
  readonly failed: readonly LinkedModel[];
  /** Records that failed validation (each keeps its last good version). */
  readonly rejected: number;
}

/**
 * Reads what feeds need of the linked models and applies it. The first walk asks for the records its interviews
 * reference, by ids in batches (every application and candidate of the organisation would be many times more; most
 * were asked for by `options.prefetch` while the interview pages were read, and are not asked again); every
 * later one, full or incremental, asks each model what changed since its last read (`updated_after`, deletions
 * included), one request when nothing did, plus the records of interviews it has not seen, by ids. A full walk
 * then keeps only what its interviews reference. A model whose read fails keeps what it
 * had: names then stay as the interviews embed them, and the walk goes on (an ATS without a users endpoint must not
 * stop interviews from arriving).
 */
export async function walkLinked(client: KomboClient, options: LinkedWalkOptions): Promise<LinkedWalk> {
  const { kind, previous, startedAtMs } = options;
  const before = previous?.integrationId === client.integrationId ? previous.data.linked : undefined;
  // Which linked records changed matters only to an incremental walk: a full one resolves every interview it read.
  const builder = new LinkedBuilder(before, { trackChanges: kind === 'incremental' });
  const requests: Record<LinkedModel, number> = { users: 0, jobs: 0, candidates: 0, applications: 0 };
  const failed: LinkedModel[] = [];
  let rejected = 0;
  const fresh: Interview[] = [];
  for (const record of options.records) if (record.interview !== null) fresh.push(record.interview);
  const refsOf = (interviews: Iterable<Interview>): LinkedRefs => {
    const refs = emptyRefs();
    const visit = addingTo(refs);
    for (const interview of interviews) visitRefs(interview, builder.current, visit);
    return refs;
  };
  // A snapshot saved before linked records were kept, or a model never read: what its interviews reference, by ids.
  let heldRefs: LinkedRefs | undefined;
  const held = () => (heldRefs ??= refsOf(previous?.byId.values() ?? []));

  // What the walk's interviews reference (the prefetch found it page by page); its candidates and jobs again once
  // the applications are read, which name them.
  const prefetch = options.prefetch;
  let walkRefs = prefetch?.refs ?? refsOf(fresh);

  // The ids each model was asked for by `ids`: a record not returned is not asked for twice in one walk.
  const asked = prefetch?.asked ?? emptyRefs();
  // What each model's asks by ids read, the prefetch's included: the budget bounds them together.
  const spent = (model: LinkedModel): LinkedReadCost | undefined => prefetch?.spent[model];
  if (prefetch !== undefined) {
    await prefetch.settled();
    rejected += prefetch.rejected;
    for (const model of LINKED_MODELS) {
      requests[model] += prefetch.spent[model].requests;
      const wanted = (id: string) => walkRefs[model].has(id);
      for (const record of prefetch.read.get(model) ?? []) builder.apply(model, record, wanted);
    }
  }

  function reader(model: LinkedModel) {
    const wanted = (id: string) => walkRefs[model].has(id);
    const apply = (raw: unknown) => {
      const parsed = parseLinkedRecord(model, raw);
      if (isRejectedLinked(parsed)) {
        rejected++;
        options.logger.warn({ model, id: parsed.id, path: parsed.path, problem: parsed.message }, 'Kombo linked record failed validation; its last good version stays');
      } else {
        builder.apply(model, parsed, wanted);
      }
    };
    const ask = async (what: LinkedAsk) => {
      if ('ids' in what) for (const id of what.ids) asked[model].add(id);
      const cost = await fetchLinkedRecords(client, model, what, apply, {
        signal: options.signal,
        budget: options.budget,
        maxPages: options.maxPages,
        spent: 'ids' in what ? spent(model) : undefined,
      });
      requests[model] += cost.requests;
    };
    const failure = (error: unknown) => {
      if (options.signal?.aborted) throw error;
      failed.push(model);
      options.logger.warn({ model, err: error }, `Kombo ${model} could not be read; their records stay as they were until the next refresh`);
    };
    return { ask, failure };
  }

  async function read(model: LinkedModel): Promise<void> {
    const { ask, failure } = reader(model);
    if (prefetch?.failed.has(model)) return failure(prefetch.failed.get(model));
    try {
      const lastRead = before?.syncedAtMs[model];
      // Never read (the first walk, or a snapshot saved before linked records were kept): every referenced record,
      // by ids. After that the records held are kept current by `updated_after`, full walks included: a full walk
      // then asks only for what changed and for the records of interviews it had not seen.
      if (lastRead === undefined) {
        // The held interviews' records too, kept like the walk's (a model that failed at the first walk gets them now).
        if (kind === 'incremental') for (const id of held()[model]) walkRefs[model].add(id);
        await ask({ ids: [...walkRefs[model]].filter((id) => !asked[model].has(id)) });
        builder.synced(model, startedAtMs);
        return;
      }
      await ask({ updatedAfter: new Date(lastRead - options.overlapMs) });
      // New interviews may reference records never held (nothing about them changed lately): asked for once.
      const table = builder.current[model];
      const missing = [...walkRefs[model]].filter((id) => !Object.hasOwn(table, id) && !asked[model].has(id));
      if (missing.length > 0) await ask({ ids: missing });
      builder.synced(model, startedAtMs);
    } catch (error) {
      failure(error);
    }
  }

  /** The candidates and jobs only the applications name (interviews embed them as a rule): asked for by ids. */
  async function readNamedByApplications(model: 'jobs' | 'candidates'): Promise<void> {
    if (failed.includes(model)) return;
    const table = builder.current[model];
    const missing = [...walkRefs[model]].filter((id) => !Object.hasOwn(table, id) && !asked[model].has(id));
    if (missing.length === 0) return;
    const { ask, failure } = reader(model);
    await ask({ ids: missing }).catch(failure);
  }

  // Every model at once (a full walk of 50,000 interviews asks for about 190 batches of applications, as many of
  // candidates, nearly all of them during the walk); then what only the applications named.
  await Promise.all(LINKED_MODELS.map(read));
  walkRefs = renamedRefs(fresh, builder.current, walkRefs);
  await Promise.all([readNamedByApplications('jobs'), readNamedByApplications('candidates')]);
  if (kind === 'full') builder.retain(walkRefs);
  const linked = builder.finish();

  const records: ParsedRecord[] = options.records.map((record) =>
    record.interview === null ? record : { id: record.id, interview: resolveInterview(record.interview, linked) },
  );
  if (kind === 'incremental' && previous !== undefined && LINKED_MODELS.some((model) => builder.changed[model].size > 0)) {
    // Held interviews that a changed record reaches, resolved again: applied like records the walk read.
    const read = new Set(options.records.map((record) => record.id));
    for (const interview of previous.byId.values()) {
      if (read.has(interview.id) || !reaches(interview, builder.changed, before, linked)) continue;
      const resolved = resolveInterview(interview, linked);
      if (resolved !== interview) records.push({ id: interview.id, interview: resolved });
    }
  }
  return { linked, records, requests, failed, rejected };
}

/** Whether a changed record (of `changed`) is one `interview` links to, by the records before or after the change. */
function reaches(interview: Interview, changed: LinkedRefs, before: LinkedData | undefined, after: LinkedData): boolean {
  for (const person of interview.interviewers) if (person.userId && changed.users.has(person.userId)) return true;
  const applicationId = interview.applicationId;
  if (applicationId && changed.applications.has(applicationId)) return true;
  for (const linked of before === undefined ? [after] : [before, after]) {
    const application = applicationId && Object.hasOwn(linked.applications, applicationId) ? linked.applications[applicationId] : undefined;
    const candidateId = application?.candidateId ?? interview.candidateId;
    if (candidateId && changed.candidates.has(candidateId)) return true;
    const jobId = application?.jobId ?? interview.jobId;
    if (jobId && changed.jobs.has(jobId)) return true;
  }
  return false;
}
