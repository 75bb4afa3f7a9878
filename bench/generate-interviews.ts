/*
 * A large, deterministic organisation in Kombo's `GET /ats/interviews` shape, for the benchmark. The variety is the
 * kind real ATS data has: titles with punctuation and emoji (and some with none), addresses vs video links, missing
 * or broken ends, canceled and deleted interviews, several interviewers per interview, mixed-case emails, people
 * without an email, and a `remote_data` blob of realistic size on every record (Kombo always sends it).
 */

/** A Kombo interview record as the fake serves it. */
export type KomboRecord = Record<string, unknown> & { id: string };

/** One interviewer of the generated organisation. */
export interface GeneratedInterviewer {
  /** Normalised (lower-case): the key their feed is found by. */
  email: string;
  firstName: string;
  lastName: string;
}

/** A generated organisation. */
export interface GeneratedOrg {
  records: KomboRecord[];
  interviewers: GeneratedInterviewer[];
  /** The records interviews link to, as `/ats/users`, `/ats/jobs`, `/ats/candidates` and `/ats/applications` list them. */
  linked: Record<'users' | 'jobs' | 'candidates' | 'applications', KomboRecord[]>;
  /** Whether each record (same index) is history: it ended long before any feed's window. */
  history: boolean[];
}

/** A job's Kombo id, the same for every interview of it (ten jobs in all). */
const jobIdOf = (name: string) => `bench-job-${JOBS.indexOf(name)}`;

/** How a generated organisation's history is drawn (see {@link generateInterviews}). */
export interface HistoryOptions {
  /** The share of records (0–1) that ended months to years ago: between HISTORY_MIN_DAYS and HISTORY_MAX_DAYS before now. */
  share: number;
  /**
   * The share of interviewers (0–1) still interviewing: in-window records are theirs alone, history is everyone's
   * (people who left the company keep their past interviews in the ATS). 1 when absent.
   */
  activeShare?: number;
}

/** History ends at least this many days ago: past FEED_PAST_DAYS's default (90) and its margin. */
export const HISTORY_MIN_DAYS = 120;
/** History reaches back five years. */
export const HISTORY_MAX_DAYS = 5 * 365;

const DAY_MS = 86_400_000;

/** mulberry32: small, fast and deterministic, so every run serves the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'José', 'Zoë', 'Søren', 'Łukasz', 'Amélie', 'Nguyễn', 'Chioma', 'Aarav', 'Mei', 'Oğuz', 'Siobhán', 'Björn', 'Fatima', 'Kenji', 'Ana-Lucía', 'Dmitri', 'Ingrid', 'Tomás'];
const LAST = ['Lovelace', 'Hopper', "O'Brien", 'García Márquez', 'Müller', 'Nowak', 'Okafor', 'Sharma', 'Tanaka', 'Van der Berg', 'Ødegaard', 'Smith-Jones', 'Dupont', 'Kowalczyk', 'Rossi', 'Al-Sayed', 'Lindqvist', 'Costa', 'Ivanova', 'Chen'];
const JOBS = [
  'Senior Backend Engineer (Go/Rust)',
  'Product Designer, Growth',
  'Data Scientist — ML Platform',
  'Engineering Manager; Payments',
  'Site Reliability Engineer',
  'Account Executive (DACH)',
  'Head of People & Culture',
  'Frontend Engineer – React/TypeScript',
  'Werkstudent:in Marketing (m/w/d)',
  'Customer Success Manager, EMEA',
];
const TITLES = [
  'Technical interview',
  'Phone screen',
  'System design (round 2)',
  'Culture & values chat ☕',
  '🚀 Final round w/ CTO',
  'Take-home review, part 1/2',
  'Pair programming: "refactor the parser"',
  'Hiring manager intro; 30 min',
  'Onsite — team lunch 🍕 & office tour',
  'Case study \\ presentation',
  'Bar raiser (Bewerbungsgespräch)',
  'Reference call\nwith former manager',
];
const CITIES = [
  { street_1: 'Lohmühlenstraße 65', zip_code: '12435', city: 'Berlin', state: null, country: 'DE' },
  { street_1: '1 Rue de Rivoli', zip_code: '75001', city: 'Paris', state: 'Île-de-France', country: 'FR' },
  { street_1: '221B Baker Street', zip_code: 'NW1 6XE', city: 'London', state: null, country: 'GB' },
  { street_1: '500 Howard St', zip_code: '94105', city: 'San Francisco', state: 'CA', country: 'US' },
  { street_1: 'Calle de Alcalá 42', zip_code: '28014', city: 'Madrid', state: null, country: 'ES' },
];
const WORDS = 'the candidate will present a recent project and walk through trade-offs; please review the résumé, portfolio and take-home before joining. focus areas: ownership, communication, depth in distributed systems, testing & observability. the panel should leave 10 minutes for questions about the team, the roadmap and how we work.'.split(' ');
const ID_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/**
 * Generates `count` interviews over `count / 100` interviewers (each on 100–150 of them; `interviewers` sets another
 * number), times around `nowMs`. `remoteData: false` leaves out the `remote_data` blob: about 1.3 KB of JSON per
 * record instead of about 3 KB. `history` makes a share of them history (see {@link HistoryOptions}); `firstIndex`
 * numbers the records' remote ids from there (pages of one large organisation generated apart).
 */
export function generateInterviews(
  count: number,
  options: { nowMs: number; seed?: number; remoteData?: boolean; history?: HistoryOptions; interviewers?: number; firstIndex?: number },
): GeneratedOrg {
  const random = prng(options.seed ?? 20_261_101);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number) => random() < p;
  // Draws exactly as pick([...ID_ALPHABET]) would, without spreading the alphabet for every character.
  const komboId = () => Array.from({ length: 24 }, () => ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)]).join('');
  const iso = (ms: number) => new Date(ms).toISOString();
  const dayStart = Math.floor(options.nowMs / DAY_MS) * DAY_MS;

  const interviewerCount = Math.max(1, options.interviewers ?? Math.round(count / 100));
  const historyShare = options.history?.share ?? 0;
  const activeCount = Math.max(1, Math.round(interviewerCount * (options.history?.activeShare ?? 1)));
  const base = options.firstIndex ?? 0;
  const interviewers: (GeneratedInterviewer & { id: string; spelled: string })[] = [];
  for (let i = 0; i < interviewerCount; i++) {
    const firstName = FIRST[i % FIRST.length]!;
    const lastName = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
    const local = `${firstName}.${lastName}`.normalize('NFD').replace(/[^A-Za-z.]/g, '');
    const email = `${local}.${i}@example.com`.toLowerCase();
    // One in ten is spelled with capitals in the ATS: the service must still find them under the lower-case email.
    const spelled = i % 10 === 3 ? `${local}.${i}@Example.COM` : email;
    interviewers.push({ id: komboId(), email, firstName, lastName, spelled });
  }
  const active = interviewers.slice(0, activeCount);
  const user = (person: (typeof interviewers)[number]) => ({
    id: person.id,
    remote_id: String(4_000_000 + interviewers.indexOf(person)),
    first_name: person.firstName,
    last_name: person.lastName,
    email: person.spelled,
  });

  const records: KomboRecord[] = [];
  const history: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const n = base + i;
    // Drawn only when asked for, so an organisation without history is the very one it always was.
    const past = historyShare > 0 && random() < historyShare;
    const day = past ? -(HISTORY_MIN_DAYS + Math.floor(random() * (HISTORY_MAX_DAYS - HISTORY_MIN_DAYS))) : Math.floor(random() * 200) - 80;
    const startMs = dayStart + day * DAY_MS + (7 + Math.floor(random() * 10)) * 3_600_000 + pick([0, 15, 30, 45]) * 60_000;
    const durationMs = pick([30, 45, 60, 60, 90]) * 60_000;
    const endRoll = random();
    const endingAt = endRoll < 0.1 ? null : endRoll < 0.11 ? iso(startMs - 3_600_000) : iso(startMs + durationMs);
    const createdMs = startMs - (3 + Math.floor(random() * 20)) * DAY_MS;
    const updatedMs = Math.min(options.nowMs - 2 * DAY_MS, createdMs + Math.floor(random() * 2 * DAY_MS));

    const pool = past ? interviewers : active;
    const primary = pool[n % pool.length]!;
    const panel = [primary];
    const extras = chance(0.05) ? 2 : chance(0.16) ? 1 : 0;
    for (let k = 0; k < extras && pool.length > panel.length; k++) {
      let other = pick(pool);
      while (panel.includes(other)) other = pick(pool);
      panel.push(other);
    }
    const users: Record<string, unknown>[] = panel.map(user);
    if (chance(0.05)) users.push({ id: komboId(), remote_id: null, first_name: 'Room', last_name: '4.12 (Turing)', email: null });

    const locationRoll = random();
    const location =
      locationRoll < 0.25
        ? { raw: null, street_2: chance(0.3) ? '3rd floor, reception' : null, ...pick(CITIES) }
        : locationRoll < 0.3
          ? { raw: `HQ, meeting room ${1 + Math.floor(random() * 30)}`, street_1: null, street_2: null, zip_code: null, city: null, state: null, country: null }
          : null;
    const videoRoll = random();
    const video =
      location !== null && videoRoll < 0.6
        ? null
        : videoRoll < 0.4
          ? `https://meet.google.com/${komboId().slice(0, 3).toLowerCase()}-${komboId().slice(0, 4).toLowerCase()}-${komboId().slice(0, 3).toLowerCase()}`
          : videoRoll < 0.75
            ? `https://us02web.zoom.us/j/${80_000_000_000 + Math.floor(random() * 9_999_999_999)}?pwd=${komboId()}`
            : videoRoll < 0.93
              ? `https://teams.microsoft.com/l/meetup-join/19%3ameeting_${komboId()}%40thread.v2/0?context=%7b%22Tid%22%3a%22${komboId()}%22%7d`
              : null;

    const candidate = { first: pick(FIRST), last: pick(LAST) };
    const job = pick(JOBS);
    const titleRoll = random();
    const title =
      titleRoll < 0.07 ? null : titleRoll < 0.08 ? '   ' : titleRoll < 0.1 ? `${pick(TITLES)} — ${'very long title '.repeat(12)}` : `${pick(TITLES)}${chance(0.3) ? ` · ${candidate.first} ${candidate.last}` : ''}`;
    const applicationId = komboId();
    const notes = Array.from({ length: 20 + Math.floor(random() * 300) }, () => pick(WORDS)).join(' ');

    const record: KomboRecord = {
      id: komboId(),
      remote_id: String(9_000_000 + n),
      title,
      starting_at: iso(startMs),
      ending_at: endingAt,
      location,
      video_conferencing_url: video,
      application_id: applicationId,
      stage_id: komboId(),
      canceled: chance(0.03),
      remote_created_at: iso(createdMs),
      remote_updated_at: iso(updatedMs),
      changed_at: iso(updatedMs),
      remote_deleted_at: chance(0.02) ? iso(updatedMs) : null,
      users,
      application: {
        id: applicationId,
        remote_id: String(7_000_000 + n),
        outcome: pick(['PENDING', 'PENDING', 'PENDING', 'HIRED', 'DECLINED']),
        rejection_reason_name: null,
        candidate: {
          id: komboId(),
          remote_id: String(6_000_000 + n),
          first_name: candidate.first,
          last_name: candidate.last,
          email_addresses: [{ email_address: `${candidate.first.toLowerCase()}@candidates.example`, type: 'PERSONAL' }],
        },
        // The draw is kept, so the rest of the organisation stays what it was before jobs had one id each.
        job: { id: (komboId(), jobIdOf(job)), remote_id: String(5_000 + JOBS.indexOf(job)), name: job },
      },
    };
    // What Greenhouse's scheduled-interview object looks like, notes included: about 1–3 KB per record. Drawn
    // either way, so an organisation without the blobs holds the very same interviews.
    const remoteData = {
      scheduled_interview: {
        id: 9_000_000 + n,
        application_id: 7_000_000 + n,
        external_event_id: `${komboId()}_${komboId()}`,
        start: { date_time: iso(startMs) },
        end: endingAt === null ? null : { date_time: endingAt },
        location: location === null ? null : JSON.stringify(location),
        video_conferencing_url: video,
        status: 'scheduled',
        interview: { id: 100_000 + (n % 97), name: title ?? 'Interview' },
        organizer: { id: 4_999_999, first_name: 'Recruiting', last_name: 'Coordinator', name: 'Recruiting Coordinator', employee_id: null },
        interviewers: panel.map((person, i) => ({
          id: 4_000_000 + interviewers.indexOf(person),
          employee_id: `E${1000 + interviewers.indexOf(person)}`,
          name: `${person.firstName} ${person.lastName}`,
          email: person.spelled,
          response_status: pick(['accepted', 'needs_action', 'tentative']),
          scorecard_id: i === 0 ? 3_000_000 + n : null,
        })),
        created_at: iso(createdMs),
        updated_at: iso(updatedMs),
        notes: `<p>${notes}</p>`,
      },
    };
    if (options.remoteData !== false) record.remote_data = remoteData;
    records.push(record);
    history.push(past);
  }
  return {
    records,
    interviewers: interviewers.map(({ email, firstName, lastName }) => ({ email, firstName, lastName })),
    history,
    linked: linkedRecords(records, interviewers, iso(options.nowMs - 2 * DAY_MS)),
  };
}

/** The linked records of `records`, drawn from them (no random draw: the interviews stay the same), changed at `changedAt`. */
function linkedRecords(records: readonly KomboRecord[], interviewers: readonly (GeneratedInterviewer & { id: string; spelled: string })[], changedAt: string): GeneratedOrg['linked'] {
  const common = { remote_deleted_at: null, changed_at: changedAt, remote_data: null };
  const users = interviewers.map((person, i) => ({ id: person.id, remote_id: String(4_000_000 + i), first_name: person.firstName, last_name: person.lastName, email: person.spelled, status: 'ACTIVE', ...common }));
  const jobs = JOBS.map((name, i) => ({ id: jobIdOf(name), remote_id: String(5_000 + i), name, confidential: false, visibility: i === 6 ? 'CONFIDENTIAL' : 'PUBLIC', ...common }));
  const candidates: KomboRecord[] = [];
  const applications: KomboRecord[] = [];
  for (const record of records) {
    const application = record.application as { id: string; remote_id: string; candidate: { id: string; remote_id: string; first_name: string; last_name: string }; job: { id: string } };
    const { candidate } = application;
    candidates.push({ id: candidate.id, remote_id: candidate.remote_id, first_name: candidate.first_name, last_name: candidate.last_name, confidential: false, remote_url: `https://ats.example.com/people/${candidate.remote_id}`, ...common });
    applications.push({ id: application.id, remote_id: application.remote_id, candidate_id: candidate.id, job_id: application.job.id, remote_url: `https://ats.example.com/people/${candidate.remote_id}/applications/${application.remote_id}`, ...common });
  }
  return { users, jobs, candidates, applications };
}
