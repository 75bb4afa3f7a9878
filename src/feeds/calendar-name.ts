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

/**
 * A person's calendar name, as their feed carries it and every link to it pre-fills: "Interviews: <name>" (their
 * email when the ATS gives no name), then the integration's label (see {@link labelSuffix}).
 */
export function personCalendarName(name: string | null | undefined, email: string, label?: string | null): string {
  return `Interviews: ${name ?? email}${labelSuffix(label)}`;
}

/**
 * A team feed's calendar name: "All interviews", or "Interviews: <job name>" ("job <id>" while no interview names the
 * job), then the integration's label.
 */
export function teamCalendarName(team: FeedTeam, jobName: string | null | undefined, label?: string | null): string {
  return team === 'all' ? `All interviews${labelSuffix(label)}` : `Interviews: ${jobName ?? `job ${team.job}`}${labelSuffix(label)}`;
}
