import { describe, expect, it } from 'vitest';
import { listJobs } from '../../src/feeds/job-list.js';
import { domainInterview } from '../helpers/factories.js';

describe('listJobs', () => {
  it('lists the busiest jobs first (ties by id), named by the first interview that names them, and counts them all', () => {
    const interviews = [
      domainInterview({ id: 'iv-1', jobId: 'job-b', jobName: null }),
      domainInterview({ id: 'iv-2', jobId: 'job-b', jobName: 'Backend Engineer' }),
      domainInterview({ id: 'iv-3', jobId: 'job-a', jobName: 'Designer' }),
      domainInterview({ id: 'iv-4', jobId: 'job-c', jobName: null }),
      domainInterview({ id: 'iv-5', jobId: null, jobName: 'No job id' }),
    ];
    expect(listJobs(interviews, 10)).toEqual({
      jobs: [
        { id: 'job-b', name: 'Backend Engineer', interviews: 2 },
        { id: 'job-a', name: 'Designer', interviews: 1 },
        { id: 'job-c', name: null, interviews: 1 },
      ],
      total: 3,
    });
    expect(listJobs(interviews, 1)).toEqual({ jobs: [{ id: 'job-b', name: 'Backend Engineer', interviews: 2 }], total: 3 });
    expect(listJobs([], 10)).toEqual({ jobs: [], total: 0 });
  });
});
