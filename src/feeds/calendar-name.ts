import type { FeedDetail } from '../config.js';
import type { FeedTeam } from './feed-token.js';

/** The name a link carries when its feed's own name is not at hand (the command line's links). */
export const DEFAULT_CALENDAR_NAME = 'Interviews';

/**
 * What follows the name when one person could subscribe to two integrations' calendars: " (<organisation>)". An
 * empty label says nothing, so it adds nothing.
 */
function labelSuffix(label: string | null | undefined): string {
  return label ? ` (${label})` : '';
}

/** A busy team feed's name: which job it follows is exactly what a busy calendar must not say. */
export const BUSY_TEAM_CALENDAR_NAME = 'Team interviews';

/**
 * A person's calendar name, as their feed carries it and every link to it pre-fills: "Interviews: <name>" (their
 * email when the ATS gives no name), then the integration's label (see {@link labelSuffix}). At `busy` no label: a
 * busy calendar names nothing of the organisation, the job or the candidate.
 */
export function personCalendarName(name: string | null | undefined, email: string, label?: string | null, detail?: FeedDetail): string {
  return `Interviews: ${name ?? email}${detail === 'busy' ? '' : labelSuffix(label)}`;
}

/**
 * A team feed's calendar name: "All interviews", or "Interviews: <job name>" ("job <id>" while no interview names the
 * job), then the integration's label. At `busy`, "All interviews" or {@link BUSY_TEAM_CALENDAR_NAME}, nothing more.
 */
export function teamCalendarName(team: FeedTeam, jobName: string | null | undefined, label?: string | null, detail?: FeedDetail): string {
  if (detail === 'busy') return team === 'all' ? 'All interviews' : BUSY_TEAM_CALENDAR_NAME;
  return team === 'all' ? `All interviews${labelSuffix(label)}` : `Interviews: ${jobName ?? `job ${team.job}`}${labelSuffix(label)}`;
}
