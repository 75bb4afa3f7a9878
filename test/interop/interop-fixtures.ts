import { spawn, spawnSync } from 'node:child_process';
import request from 'supertest';
import type { TestContext } from 'vitest';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import type { FakeKombo } from '../helpers/fake-kombo.js';
import { buildTestService, feedPath } from '../helpers/test-service.js';

/** The interviewer whose feed every interop test reads; their own name is hostile too (it becomes X-WR-CALNAME). */
export const OWNER = { email: 'hostile@example.com', first: 'Zoë, "Z"; O\\Brien', last: 'Ñandú 🦤' };
const owner = () => komboUser(OWNER.email, OWNER.first, OWNER.last);
const other = () => komboUser('someone-else@example.com', 'Grace', 'Hopper');

/** A 300-character title (code points, not UTF-16 units) of multi-byte runs, so folding must land between characters. */
export const LONG_TITLE = Array.from('Ünïcødé 🙂 ⟨long⟩ 日本語 — '.repeat(20)).slice(0, 300).join('').trim();

/** What a calendar client must show for one live interview. */
export interface ExpectedEvent {
  uid: string;
  summary: string;
  start: string;
  end: string;
  location: string | null;
  url: string | null;
}

/** Kombo records for {@link OWNER}: hostile text in every shown field, a canceled one, and one for someone else. */
export function hostileRecords(): Record<string, unknown>[] {
  return [
    interviewRecord({ id: 'iv-plain', users: [owner(), other()] }),
    interviewRecord({
      id: 'iv-punct',
      title: 'Debrief, round 2; notes \\ C:\\temp\\new',
      starting_at: '2026-12-02T09:30:00Z',
      ending_at: '2026-12-02T10:15:00Z',
      location: { raw: 'Room 4, Floor 2; Building \\B', street_1: null, street_2: null, zip_code: null, city: null, state: null, country: null },
      users: [owner()],
    }),
    interviewRecord({
      id: 'iv-crlf',
      title: 'Line one\r\nLine two\rLine three\nEND:VEVENT\r\nBEGIN:VEVENT',
      starting_at: '2026-12-03T14:00:00Z',
      ending_at: '2026-12-03T15:00:00Z',
      location: null,
      video_conferencing_url: 'https://meet.example.com/x?a=1,2;b=\\c',
      users: [owner()],
    }),
    interviewRecord({
      id: 'iv-emoji',
      title: '🎉 Onboarding 👩‍💻 café 日本語',
      starting_at: '2026-12-04T08:00:00Z',
      ending_at: undefined, // missing end: the default 60 minutes
      users: [owner()],
    }),
    interviewRecord({ id: 'iv-long', title: LONG_TITLE, starting_at: '2026-12-05T16:00:00Z', ending_at: '2026-12-05T16:45:00Z', users: [owner()] }),
    interviewRecord({
      id: 'iv-bare',
      title: '  Bare: no place, no link, no end  ',
      starting_at: '2026-12-06T11:00:00Z',
      ending_at: null,
      location: null,
      video_conferencing_url: null,
      users: [owner()],
    }),
    interviewRecord({ id: 'iv-canceled', title: 'Canceled, never shown', canceled: true, users: [owner()] }),
    interviewRecord({ id: 'iv-not-mine', title: 'Someone else only', users: [other()] }),
  ];
}

/** The events {@link hostileRecords} must come out as in {@link OWNER}'s feed, in feed order. */
export function expectedEvents(): ExpectedEvent[] {
  const meet = 'https://meet.example.com/abc-defg-hij';
  return [
    { uid: 'iv-plain', summary: 'Technical interview', start: '2026-12-01T10:00:00.000Z', end: '2026-12-01T11:00:00.000Z', location: 'Lohmühlenstraße 65, 12435 Berlin, DE', url: meet },
    { uid: 'iv-punct', summary: 'Debrief, round 2; notes \\ C:\\temp\\new', start: '2026-12-02T09:30:00.000Z', end: '2026-12-02T10:15:00.000Z', location: 'Room 4, Floor 2; Building \\B', url: meet },
    {
      uid: 'iv-crlf',
      // TEXT has no escape for CR (RFC 5545 §3.3.11): every line break, CR and CRLF included, comes out as LF.
      summary: 'Line one\nLine two\nLine three\nEND:VEVENT\nBEGIN:VEVENT',
      start: '2026-12-03T14:00:00.000Z',
      end: '2026-12-03T15:00:00.000Z',
      location: 'https://meet.example.com/x?a=1,2;b=\\c',
      // URL is a URI value (RFC 5545 §3.3.13), never TEXT-escaped: the feed percent-encodes what TEXT would escape.
      url: 'https://meet.example.com/x?a=1%2C2%3Bb=%5Cc',
    },
    { uid: 'iv-emoji', summary: '🎉 Onboarding 👩‍💻 café 日本語', start: '2026-12-04T08:00:00.000Z', end: '2026-12-04T09:00:00.000Z', location: 'Lohmühlenstraße 65, 12435 Berlin, DE', url: meet },
    { uid: 'iv-long', summary: LONG_TITLE, start: '2026-12-05T16:00:00.000Z', end: '2026-12-05T16:45:00.000Z', location: 'Lohmühlenstraße 65, 12435 Berlin, DE', url: meet },
    { uid: 'iv-bare', summary: 'Bare: no place, no link, no end', start: '2026-12-06T11:00:00.000Z', end: '2026-12-06T12:00:00.000Z', location: null, url: null },
  ];
}

/** The linked records of {@link hostileRecords}: the application's deep link into the ATS holds what TEXT escapes. */
function setHostileLinked(fake: FakeKombo): void {
  fake.setLinked('applications', [{ id: 'app-1', candidate_id: 'cand-1', job_id: 'job-1', remote_url: 'https://ats.example.com/a?x=1,2;y=\\z&n=Ñandú', remote_deleted_at: null }]);
}

/** The feed bytes {@link OWNER} gets from the real service (fake Kombo on loopback, real HTTP app). */
export async function fetchHostileFeed(fake: FakeKombo): Promise<string> {
  fake.setRecords(hostileRecords());
  setHostileLinked(fake);
  const service = buildTestService(fake);
  await service.sync.refresh();
  const res = await request(service.app).get(feedPath(service, OWNER.email)).expect(200);
  return res.text;
}

/**
 * Every kind of feed the service serves, over {@link hostileRecords} (all of job-1): {@link OWNER}'s at each detail
 * level, the job's and the integration's team feeds (at full and busy), and an interviewer's empty calendar. Keys
 * name each feed; values are the bytes as served.
 */
export async function fetchEveryFeed(fake: FakeKombo): Promise<Record<string, string>> {
  fake.setRecords(hostileRecords());
  setHostileLinked(fake);
  const service = buildTestService(fake);
  await service.sync.refresh();
  const integrationId = fake.integrationId;
  const identities = {
    'person, full': { integrationId, email: OWNER.email, detail: 'full' },
    'person, private': { integrationId, email: OWNER.email, detail: 'private' },
    'person, busy': { integrationId, email: OWNER.email, detail: 'busy' },
    'job, full': { integrationId, team: { job: 'job-1' } },
    'job, private': { integrationId, team: { job: 'job-1' }, detail: 'private' },
    'all, full': { integrationId, team: 'all' },
    'all, busy': { integrationId, team: 'all', detail: 'busy' },
    'empty person': { integrationId, email: 'nobody@example.com' },
    'empty job': { integrationId, team: { job: 'no-such-job' }, detail: 'private' },
  } as const;
  const feeds: Record<string, string> = {};
  for (const [name, identity] of Object.entries(identities)) {
    const res = await request(service.app).get(`/feeds/${service.tokens.encode(identity)}.ics`).expect(200);
    feeds[name] = res.text;
  }
  await service.sync.close();
  return feeds;
}

/** Runs a program to completion; never throws (the test reads status, stdout and stderr). */
export function run(command: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 15_000, ...options });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/**
 * Like {@link run}, without blocking the event loop: for programs that call back into a server in this process.
 */
export function runAsync(command: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string; error: Error | undefined }>((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, timeout: 15_000 });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (cause) => (error = cause));
    child.on('close', (status) => resolve({ status, stdout, stderr, error }));
    child.stdin.end(options.input ?? '');
  });
}

/** True when `command args` runs and exits 0. */
export function works(command: string, args: readonly string[]): boolean {
  const result = run(command, args);
  return result.error === undefined && result.status === 0;
}

/**
 * Skips the test when a tool is missing on a developer machine, but fails it in CI (CI=true), where `.ci/run`
 * installs every tool: a missing parser must never pass silently there.
 */
export function requireTool(ctx: TestContext, available: boolean, what: string): void {
  if (available) return;
  const message = `${what} is not installed (Debian: see .ci/run)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI must run this interop test`);
  console.warn(`interop: ${message}: skipping "${ctx.task.name}" outside CI`);
  ctx.skip(`${message}: skipped outside CI`);
}
