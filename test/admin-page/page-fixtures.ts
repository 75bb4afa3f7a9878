import request from 'supertest';
import { expect } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { interviewRecord, komboUser } from '../helpers/factories.js';
import { ADMIN_TOKEN } from '../helpers/test-service.js';

/** An interviewer's name that would run script if a page printed it as HTML. */
export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
/** A job's name that would end a script element and start another one. */
export const HOSTILE_JOB = '</script><script>alert(2)</script>';

/** Records with two ordinary interviewers, a hostile one, and a job with a hostile name. */
export function pageRecords(): Record<string, unknown>[] {
  return [
    interviewRecord({ id: 'iv-1', users: [komboUser('ada@example.com', 'Ada', 'Lovelace'), komboUser('grace@example.com', 'Grace', 'Hopper')] }),
    interviewRecord({ id: 'iv-2', title: 'Grace alone', starting_at: '2026-12-02T10:00:00.000Z', ending_at: '2026-12-02T11:00:00.000Z', users: [komboUser('grace@example.com', 'Grace', 'Hopper')] }),
    interviewRecord({
      id: 'iv-3',
      title: 'Hostile',
      users: [komboUser('mallory@example.com', HOSTILE_NAME, null)],
      application: {
        id: 'app-3',
        remote_id: '3',
        outcome: 'PENDING',
        rejection_reason_name: null,
        candidate: { id: 'cand-3', remote_id: '3', first_name: 'Eve', last_name: 'Evil', email_addresses: [] },
        job: { id: 'job-evil', remote_id: '3', name: HOSTILE_JOB },
      },
    }),
  ];
}

/** The CSRF token a signed-in page carries in its forms. */
export function csrfIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  expect(match, 'a form with a CSRF token').not.toBeNull();
  return match![1]!;
}

/** Signs in through the form; the session cookie (name=value) and the session's CSRF token. */
export async function signIn(service: Pick<Service, 'app'>): Promise<{ cookie: string; csrf: string }> {
  const res = await request(service.app).post('/admin/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(303);
  expect(res.headers.location).toBe('/admin');
  const setCookie = (res.headers['set-cookie'] as unknown as string[])[0]!;
  const cookie = setCookie.split(';')[0]!;
  const page = await request(service.app).get('/admin').set('Cookie', cookie).expect(200);
  return { cookie, csrf: csrfIn(page.text) };
}
