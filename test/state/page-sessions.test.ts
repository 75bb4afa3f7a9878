import { describe, expect, it } from 'vitest';
import { createAdminSessions, INTERVIEWER_SESSIONS_MAX, SESSIONS_PER_EMAIL_MAX } from '../../src/state/page-sessions.js';

const HOUR = 3_600_000;

describe('page sessions', () => {
  const interviewer = (email: string) => ({ admin: false, email, emailVerified: true });

  it('never ends an admin session for interviewers signing in, however many', () => {
    const sessions = createAdminSessions({ ttlMs: 8 * HOUR, now: () => 0 });
    const admin = sessions.create();
    for (let n = 0; n < INTERVIEWER_SESSIONS_MAX + 50; n++) sessions.create(interviewer(`person${n}@example.com`));
    expect(sessions.get(admin.id)).toEqual(admin);
    expect(sessions.size()).toBe(1 + INTERVIEWER_SESSIONS_MAX);
  });

  it('lets one account hold a few sessions: signing in in a loop ends only its own oldest', () => {
    const sessions = createAdminSessions({ ttlMs: 8 * HOUR, now: () => 0 });
    const someoneElse = sessions.create(interviewer('grace@example.com'));
    const mine = Array.from({ length: SESSIONS_PER_EMAIL_MAX + 3 }, () => sessions.create(interviewer('mallory@example.com')));
    expect(mine.filter((session) => sessions.get(session.id) !== undefined)).toEqual(mine.slice(-SESSIONS_PER_EMAIL_MAX));
    expect(sessions.get(someoneElse.id)).toEqual(someoneElse);
  });

  it('ends the oldest admin session past the admin bound, and expired ones first', () => {
    let now = 0;
    const sessions = createAdminSessions({ ttlMs: HOUR, now: () => now, max: 3 });
    const [a, b] = [sessions.create(), sessions.create()];
    now = 30 * 60_000;
    const c = sessions.create();
    const d = sessions.create(); // the bound: the oldest, a, ends
    expect([a, b, c, d].map((s) => sessions.get(s.id) !== undefined)).toEqual([false, true, true, true]);
    now = HOUR + 1; // b has expired; c and d have not
    const e = sessions.create();
    expect([b, c, d, e].map((s) => sessions.get(s.id) !== undefined)).toEqual([false, true, true, true]);
  });
});
