import { describe, expect, it } from 'vitest';
import { personCalendarName, teamCalendarName } from '../../src/feeds/calendar-name.js';

describe('calendar names', () => {
  it('names a person’s calendar after them, by email when the ATS gives no name', () => {
    expect(personCalendarName('Ada Lovelace', 'ada@example.com')).toBe('Interviews: Ada Lovelace');
    expect(personCalendarName(null, 'ada@example.com')).toBe('Interviews: ada@example.com');
    expect(personCalendarName(undefined, 'ada@example.com', null)).toBe('Interviews: ada@example.com');
  });

  it('adds the organisation when one person could subscribe to two integrations’ calendars', () => {
    expect(personCalendarName('Ada Lovelace', 'ada@example.com', 'Acme Robotics')).toBe('Interviews: Ada Lovelace (Acme Robotics)');
    expect(teamCalendarName('all', undefined, 'Globex')).toBe('All interviews (Globex)');
    expect(teamCalendarName({ job: 'job-1' }, 'Backend Engineer', 'Globex')).toBe('Interviews: Backend Engineer (Globex)');
  });

  it('adds nothing for an empty label', () => {
    expect(personCalendarName('Ada Lovelace', 'ada@example.com', '')).toBe('Interviews: Ada Lovelace');
    expect(teamCalendarName('all', null, '')).toBe('All interviews');
  });

  it('names a team calendar after its job, by id while no interview names the job', () => {
    expect(teamCalendarName('all', null)).toBe('All interviews');
    expect(teamCalendarName({ job: 'job-1' }, 'Backend Engineer')).toBe('Interviews: Backend Engineer');
    expect(teamCalendarName({ job: 'job-1' }, null)).toBe('Interviews: job job-1');
  });

  it('names a busy calendar after nothing of the job or the organisation', () => {
    expect(personCalendarName('Ada Lovelace', 'ada@example.com', 'Globex', 'busy')).toBe('Interviews: Ada Lovelace');
    expect(teamCalendarName('all', null, 'Globex', 'busy')).toBe('All interviews');
    expect(teamCalendarName({ job: 'job-1' }, 'Backend Engineer', 'Globex', 'busy')).toBe('Team interviews');
    expect(teamCalendarName({ job: 'job-1' }, 'Backend Engineer', 'Globex', 'private')).toBe('Interviews: Backend Engineer (Globex)');
  });
});
