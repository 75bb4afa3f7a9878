import type { Interview } from '../interviews/interview.js';

/** A job with interviews: a team feed one can subscribe to. */
export interface Job {
  readonly id: string;
  /** The job's name, as the first interview that gives one names it; null when none does. */
  readonly name: string | null;
  readonly interviews: number;
}

/** The jobs shown, the busiest first, and how many jobs have interviews in all. */
export interface JobList {
  readonly jobs: Job[];
  readonly total: number;
}

/** The jobs that `interviews` belong to (by `application.job.id`): the `limit` with most interviews (ties by id), and the count. */
export function listJobs(interviews: Iterable<Interview>, limit: number): JobList {
  const jobs = new Map<string, { id: string; name: string | null; interviews: number }>();
  for (const interview of interviews) {
    if (interview.jobId === null) continue;
    const job = jobs.get(interview.jobId) ?? { id: interview.jobId, name: interview.jobName, interviews: 0 };
    job.interviews++;
    job.name ??= interview.jobName;
    jobs.set(interview.jobId, job);
  }
  const shown = [...jobs.values()].sort((a, b) => b.interviews - a.interviews || a.id.localeCompare(b.id)).slice(0, limit);
  return { jobs: shown, total: jobs.size };
}
