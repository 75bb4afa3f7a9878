import type { Interview } from '../../src/interviews/interview.js';
import type { SnapshotData } from '../../src/interviews/snapshot.js';

/** A Kombo interview user (interviewer). */
export function komboUser(email: string | null, firstName: string | null = 'Ada', lastName: string | null = 'Lovelace') {
  return { id: `user-${email ?? 'none'}`, remote_id: '1', first_name: firstName, last_name: lastName, email };
}

/** A complete Kombo interview record, as `GET /ats/interviews` returns it; override any field. */
export function interviewRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'iv-1',
    remote_id: '101',
    title: 'Technical interview',
    starting_at: '2026-12-01T10:00:00.000Z',
    ending_at: '2026-12-01T11:00:00.000Z',
    location: { city: 'Berlin', country: 'DE', raw: null, state: null, street_1: 'Lohmühlenstraße 65', street_2: null, zip_code: '12435' },
    video_conferencing_url: 'https://meet.example.com/abc-defg-hij',
    application_id: 'app-1',
    stage_id: 'stage-1',
    canceled: false,
    remote_created_at: '2026-10-01T09:00:00.000Z',
    remote_updated_at: '2026-10-01T09:00:00.000Z',
    remote_data: null,
    changed_at: '2026-10-01T09:00:00.000Z',
    remote_deleted_at: null,
    users: [komboUser('ada@example.com')],
    application: {
      id: 'app-1',
      remote_id: '1',
      outcome: 'PENDING',
      rejection_reason_name: null,
      candidate: { id: 'cand-1', remote_id: '1', first_name: 'Marie', last_name: 'Curie', email_addresses: [] },
      job: { id: 'job-1', remote_id: '1', name: 'Backend Engineer' },
    },
    ...overrides,
  };
}

/** `count` records spread over `interviewers` people, ids iv-0000…, starting at `startMs`, one hour apart. */
export function manyRecords(count: number, interviewers: string[], startMs = Date.UTC(2026, 11, 1, 9)): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, n) => {
    const start = startMs + n * 3_600_000;
    const email = interviewers[n % interviewers.length]!;
    return interviewRecord({
      id: `iv-${String(n).padStart(4, '0')}`,
      title: `Interview ${n}`,
      starting_at: new Date(start).toISOString(),
      ending_at: new Date(start + 3_600_000).toISOString(),
      users: [komboUser(email, 'Person', String(n % interviewers.length))],
    });
  });
}

/** A domain interview, as the renderer takes it (after validation); override any field. */
export function domainInterview(overrides: Partial<Interview> = {}): Interview {
  return {
    id: 'iv-1',
    title: 'Technical interview',
    startMs: Date.UTC(2026, 11, 1, 10),
    endMs: Date.UTC(2026, 11, 1, 11),
    address: null,
    conferencingUrl: null,
    candidateName: null,
    jobName: null,
    jobId: null,
    interviewers: [{ email: 'ada@example.com', name: 'Ada Lovelace' }],
    revisionMs: Date.UTC(2026, 9, 1, 9),
    ...overrides,
  };
}

/** A one-interview snapshot of `integrationId`, for stores to keep (not a walk's: nothing checks it against Kombo). */
export function snapshotData(integrationId: string, title: string, syncedAtMs: number): SnapshotData {
  return {
    format: 1,
    integrationId,
    syncedAtMs,
    fullSyncedAtMs: syncedAtMs,
    firstSyncedAtMs: syncedAtMs,
    interviews: [
      {
        id: 'iv-1',
        title,
        startMs: Date.UTC(2026, 11, 1, 10),
        endMs: Date.UTC(2026, 11, 1, 11),
        address: null,
        conferencingUrl: null,
        candidateName: null,
        jobName: null,
        jobId: null,
        interviewers: [{ email: 'ada@example.com', name: 'Ada' }],
        revisionMs: syncedAtMs,
      },
    ],
    feedChangedAtMs: { 'ada@example.com': syncedAtMs },
  };
}
