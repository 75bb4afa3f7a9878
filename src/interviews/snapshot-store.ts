import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ownRecord, ownTable } from '../storage/own-record.js';
import { writeFileAtomic } from '../storage/write-file-atomic.js';
import { createRecordInterner } from './interview-schema.js';
import type { Interview } from './interview.js';
import { linkedDataSchema, linkedDeltaSchema, ownLinkedData } from './linked-records.js';
import type { SnapshotData, SnapshotDelta } from './snapshot.js';

/**
 * Where the last good snapshot outlives the process. Small on purpose: a file today, Redis shared by several
 * replicas tomorrow, each keyed by integration so one service can serve many.
 */
export interface SnapshotStore {
  /** The last saved snapshot of `integrationId`, or undefined when there is none or it cannot be read. */
  load(integrationId: string): Promise<SnapshotData | undefined>;
  /** Saves `data` so that a reader sees the old snapshot or the new one whole, never a mix. */
  save(data: SnapshotData): Promise<void>;
  /** Deletes the saved snapshot of `integrationId` (a removed integration's data must not outlive it). */
  delete(integrationId: string): Promise<void>;
  /** The integrations it holds a snapshot of (the start-up sweep deletes those removed). */
  list?(): Promise<string[]>;
}

const interviewerSchema = z.object({ email: z.string().nullable(), name: z.string().nullable(), userId: z.string().nullable().optional() });
/** The wire shape of a saved snapshot, checked wherever one is read back (a file, Redis). */
export const snapshotDataSchema = z.object({
  format: z.literal(1),
  integrationId: z.string(),
  syncedAtMs: z.number(),
  fullSyncedAtMs: z.number(),
  firstSyncedAtMs: z.number(),
  interviews: z.array(
    z.object({
      id: z.string(),
      title: z.string().nullable(),
      startMs: z.number(),
      endMs: z.number().nullable(),
      address: z.string().nullable(),
      conferencingUrl: z.string().nullable(),
      candidateName: z.string().nullable(),
      jobName: z.string().nullable(),
      // Snapshots saved before team feeds have no job ids: read as null, and the next walk is a full one (below).
      jobId: z.string().nullable().default(null),
      interviewers: z.array(interviewerSchema),
      applicationId: z.string().nullable().optional(),
      candidateId: z.string().nullable().optional(),
      atsUrl: z.string().nullable().optional(),
      confidential: z.enum(['job', 'candidate']).nullable().optional(),
      revisionMs: z.number(),
    }),
  ),
  feedChangedAtMs: ownRecord(z.number()),
  formerNames: ownRecord(z.string()).optional(),
  // Absent in files written before the side tables were pruned: read as 0.
  prunedChangedAtMs: z.number().optional(),
  linked: linkedDataSchema.optional(),
}) satisfies z.ZodType<SnapshotData>;

/** The wire shape of a snapshot delta (replica mode), checked wherever one is read back. */
export const snapshotDeltaSchema = z.object({
  updated: snapshotDataSchema.shape.interviews,
  removed: z.array(z.string()),
  touchedEmails: z.array(z.string()),
  syncedAtMs: z.number(),
  fullSyncedAtMs: z.number(),
  firstSyncedAtMs: z.number(),
  feedChangedAtMs: ownRecord(z.number()),
  formerNames: ownRecord(z.string()).optional(),
  prunedChangedAtMs: z.number().optional(),
  linked: linkedDeltaSchema.optional(),
}) satisfies z.ZodType<SnapshotDelta>;

/**
 * The first bytes of a snapshot file this service wrote in format 2: the format, then the SHA-256 and length of the
 * JSON that follows the line. Format 1 (bare JSON, as releases before it wrote) is read the old way, every record
 * validated; a format-2 file whose sum and length match is ours and whole, and is read back as it was written.
 */
export const SNAPSHOT_FILE_MAGIC = 'interview-feeds snapshot 2';

/** The bytes of a format-2 snapshot: its header line, then `data` as JSON. Whatever fields `data` has travel whole. */
export function encodeSnapshotFile(data: SnapshotData): Buffer {
  const json = Buffer.from(JSON.stringify(data), 'utf8');
  const header = `${SNAPSHOT_FILE_MAGIC} sha256=${createHash('sha256').update(json).digest('hex')} bytes=${json.length}\n`;
  return Buffer.concat([Buffer.from(header, 'ascii'), json]);
}

const HEADER = /^interview-feeds snapshot 2 sha256=([0-9a-f]{64}) bytes=(\d{1,12})$/;

/**
 * Reads a snapshot file's bytes: format 2 checked by its sum and read without validating each record, format 1
 * validated record by record. Throws {@link SnapshotFileError} for anything else, a sum or length that does not match,
 * or a snapshot of another integration: the caller then walks, and never serves an empty feed.
 */
export function decodeSnapshotFile(bytes: Buffer, integrationId: string, where: string): SnapshotData {
  const fail = (message: string, cause?: unknown) => new SnapshotFileError(`${where} ${message}`, cause === undefined ? undefined : { cause });
  if (bytes.subarray(0, SNAPSHOT_FILE_MAGIC.length).toString('latin1') === SNAPSHOT_FILE_MAGIC) {
    const end = bytes.indexOf(0x0a);
    const header = HEADER.exec(end < 0 ? '' : bytes.subarray(0, end).toString('latin1'));
    if (!header) throw fail('has a damaged header');
    const json = bytes.subarray(end + 1);
    if (json.length !== Number(header[2]) || createHash('sha256').update(json).digest('hex') !== header[1]) {
      throw fail('is not whole: its length or checksum does not match its header');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(json.toString('utf8'));
    } catch (cause) {
      throw fail('is not valid JSON', cause);
    }
    return ownSnapshotData(parsed, integrationId, fail);
  }
  // Format 1: bare JSON, as releases before format 2 wrote it.
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw fail('is not valid JSON (nor a snapshot of format 2)', cause);
  }
  const result = snapshotDataSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw fail(`is not a snapshot (${issue?.path.join('.')}: ${issue?.message})`);
  }
  if (result.data.integrationId !== integrationId) throw fail('belongs to another integration');
  // Saved before interviews carried their job id: ask for a full walk next, which brings every job id in.
  const lacksJobIds = (parsed as { interviews: Record<string, unknown>[] }).interviews.some((interview) => !('jobId' in interview));
  return lacksJobIds ? { ...result.data, fullSyncedAtMs: 0 } : result.data;
}

/**
 * A snapshot this service wrote (its checksum matched), read back without validating each record: only its outline
 * is checked, its side tables get no prototype (their keys are the ATS's text), and people and repeated texts are
 * shared among interviews again, as a walk shares them, so a restored snapshot costs the heap what a walked one does.
 */
export function ownSnapshotData(parsed: unknown, integrationId: string, fail: (message: string) => Error): SnapshotData {
  const data = parsed as Partial<SnapshotData> | null;
  if (typeof data !== 'object' || data === null || data.format !== 1 || !Array.isArray(data.interviews) || typeof data.syncedAtMs !== 'number') {
    throw fail('is not a snapshot of this release');
  }
  if (data.integrationId !== integrationId) throw fail('belongs to another integration');
  const intern = createRecordInterner();
  const interviews = (data.interviews as readonly Interview[]).map(
    (interview): Interview => ({
      ...interview,
      title: intern.text(interview.title),
      address: intern.text(interview.address),
      jobName: intern.text(interview.jobName),
      jobId: intern.text(interview.jobId),
      interviewers: interview.interviewers.map((person) => intern.person(person.email, person.name, intern.text(person.userId ?? null))),
    }),
  );
  return {
    ...(data as SnapshotData),
    interviews,
    feedChangedAtMs: Object.assign(ownTable<number>(), data.feedChangedAtMs),
    ...(data.formerNames !== undefined ? { formerNames: Object.assign(ownTable<string>(), data.formerNames) } : {}),
    ...(data.linked !== undefined ? { linked: ownLinkedData(data.linked) } : {}),
  };
}

/** A snapshot file that is there but cannot be used: logged and ignored by the caller, never fatal. */
export class SnapshotFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotFileError';
  }
}

/** Keeps snapshots in memory only (tests, and the demo). */
export function createMemorySnapshotStore(): SnapshotStore & { saved: Map<string, SnapshotData> } {
  const saved = new Map<string, SnapshotData>();
  return {
    saved,
    async load(integrationId) {
      return saved.get(integrationId);
    },
    async save(data) {
      saved.set(data.integrationId, data);
    },
    async delete(integrationId) {
      saved.delete(integrationId);
    },
    list: async () => [...saved.keys()],
  };
}

/** A file name for an integration id that is safe on every file system and never collides. */
function fileNameFor(integrationId: string): string {
  return `snapshot-${Buffer.from(integrationId, 'utf8').toString('base64url')}.json`;
}

/** The integration id a snapshot file is named after, or undefined when the name is no snapshot's. */
function integrationOfFile(name: string): string | undefined {
  const match = /^snapshot-([A-Za-z0-9_-]+)\.json$/.exec(name);
  if (!match) return undefined;
  const id = Buffer.from(match[1]!, 'base64url').toString('utf8');
  return fileNameFor(id) === name ? id : undefined;
}

/**
 * Keeps each integration's snapshot as a JSON file under `dir`, written to a temporary file and renamed over the
 * old one, so a crash mid-write leaves the previous snapshot intact. `load` throws {@link SnapshotFileError} for a
 * file that exists but is corrupt, so the caller can log it; a missing file is simply undefined.
 */
export function createFileSnapshotStore(dir: string): SnapshotStore {
  // A save still writing when its integration is deleted must not leave the file behind: deletes wait for saves.
  const writing = new Map<string, Promise<void>>();
  return {
    async load(integrationId) {
      const path = join(dir, fileNameFor(integrationId));
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new SnapshotFileError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
      }
      return decodeSnapshotFile(bytes, integrationId, path);
    },
    async save(data) {
      const path = join(dir, fileNameFor(data.integrationId));
      const write = (writing.get(path) ?? Promise.resolve()).catch(() => {}).then(() => writeFileAtomic(path, encodeSnapshotFile(data)));
      writing.set(path, write);
      try {
        await write;
      } finally {
        if (writing.get(path) === write) writing.delete(path);
      }
    },
    async delete(integrationId) {
      const path = join(dir, fileNameFor(integrationId));
      await writing.get(path)?.catch(() => {});
      await rm(path, { force: true });
    },
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      return names.map(integrationOfFile).filter((id) => id !== undefined);
    },
  };
}
