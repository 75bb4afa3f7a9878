import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ownRecord } from '../storage/own-record.js';
import { readJsonFile } from '../storage/read-json-file.js';
import { writeFileAtomic } from '../storage/write-file-atomic.js';
import { linkedDataSchema, linkedDeltaSchema } from './linked-records.js';
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
      const read = await readJsonFile(path, snapshotDataSchema, 'a snapshot', (message, cause) => new SnapshotFileError(message, { cause }));
      if (read === undefined) return undefined;
      const { data, json } = read;
      if (data.integrationId !== integrationId) {
        throw new SnapshotFileError(`${path} belongs to another integration`);
      }
      // Saved before interviews carried their job id: ask for a full walk next, which brings every job id in.
      const lacksJobIds = (json as { interviews: Record<string, unknown>[] }).interviews.some((interview) => !('jobId' in interview));
      return lacksJobIds ? { ...data, fullSyncedAtMs: 0 } : data;
    },
    async save(data) {
      const path = join(dir, fileNameFor(data.integrationId));
      const write = (writing.get(path) ?? Promise.resolve()).catch(() => {}).then(() => writeFileAtomic(path, JSON.stringify(data)));
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
