import { createHmac } from 'node:crypto';
import request from 'supertest';
import { expect } from 'vitest';
import type { Service } from '../../src/create-service.js';
import { ADMIN_TOKEN, WEBHOOK_SECRET } from './test-service.js';

/** Kombo's signature, computed here independently of the code under test. */
export const signKombo = (body: string, secret = WEBHOOK_SECRET) => createHmac('sha256', secret).update(body, 'utf8').digest('base64url');

/** Posts a Kombo webhook event of `type` with `data`, signed as Kombo signs it. */
export function postWebhook(service: Pick<Service, 'app'>, type: string, data: unknown) {
  const body = JSON.stringify({ id: `wh-${type}-${Math.random().toString(36).slice(2)}`, type, data });
  return request(service.app).post('/webhooks/kombo').set('Content-Type', 'application/json').set('X-Kombo-Signature', signKombo(body)).send(body);
}

/** An admin API request with the admin token. */
export function admin(service: Pick<Service, 'app'>, method: 'get' | 'post' | 'delete', path: string) {
  return request(service.app)[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
}

/** Polls `condition` for at most about ten seconds (a bound for a loaded machine, not a speed requirement). */
export async function until(condition: () => boolean | Promise<boolean>, what = 'condition', timeoutMs?: number): Promise<void> {
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  for (let n = 0; deadline === undefined ? n < 1_000 : Date.now() < deadline; n++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(await condition(), what).toBe(true);
}

/** The raw bytes of a GET, whatever its status. */
export async function rawGet(service: Pick<Service, 'app'>, path: string) {
  const res = await request(service.app)
    .get(path)
    .buffer(true)
    .parse((response, callback) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => callback(null, Buffer.concat(chunks)));
    });
  return { status: res.status, body: res.body as Buffer, headers: res.headers };
}
