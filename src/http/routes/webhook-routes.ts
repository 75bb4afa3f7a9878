import { createHmac } from 'node:crypto';
import express, { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Metrics } from '../../metrics.js';
import type { SyncEngine } from '../../sync/sync-engine.js';
import { HttpError } from '../http-error.js';
import { secureEqual } from '../secure-equal.js';

/** Models whose changes can change a feed: interviews, who sits on them, applications (candidate, job), users. */
export const RELEVANT_MODELS: ReadonlySet<string> = new Set([
  'ats_interviews',
  'ats_join_interviews_users',
  'ats_applications',
  'ats_users',
]);

const webhookSchema = z.object({ id: z.string(), type: z.string(), data: z.unknown() });
const dataChangedSchema = z.object({
  integration_id: z.string(),
  changed_models: z.array(z.object({ name: z.string() })),
});

/** Kombo's signature: base64url, without padding, of HMAC-SHA256 over the raw body. */
export function signWebhook(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

/** POST /webhooks/kombo: verifies the signature, then starts a refresh for a relevant `data-changed` event. */
export function webhookRoutes(options: {
  secret: string;
  integrationId: string;
  sync: SyncEngine;
  logger: Logger;
  metrics: Metrics;
}): Router {
  const router = Router();
  router.post('/webhooks/kombo', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.headers['x-kombo-signature'];
    if (typeof signature !== 'string' || !secureEqual(signature.trim(), signWebhook(body, options.secret))) {
      options.metrics.webhooks.inc({ outcome: 'rejected' });
      throw new HttpError(401, 'Missing or wrong X-Kombo-Signature');
    }
    let payload: z.infer<typeof webhookSchema>;
    try {
      payload = webhookSchema.parse(JSON.parse(body.toString('utf8')));
    } catch {
      options.metrics.webhooks.inc({ outcome: 'rejected' });
      throw new HttpError(400, 'Webhook body is not a Kombo event');
    }
    if (payload.type !== 'data-changed') {
      options.metrics.webhooks.inc({ outcome: 'ignored' });
      res.json({ status: 'ignored', reason: `event type ${payload.type}` });
      return;
    }
    const data = dataChangedSchema.safeParse(payload.data);
    if (!data.success) {
      options.metrics.webhooks.inc({ outcome: 'rejected' });
      throw new HttpError(400, 'data-changed event without integration_id and changed_models');
    }
    if (data.data.integration_id !== options.integrationId) {
      options.metrics.webhooks.inc({ outcome: 'ignored' });
      res.json({ status: 'ignored', reason: 'another integration' });
      return;
    }
    const models = data.data.changed_models.map((model) => model.name).filter((name) => RELEVANT_MODELS.has(name));
    if (models.length === 0) {
      options.metrics.webhooks.inc({ outcome: 'ignored' });
      res.json({ status: 'ignored', reason: 'no model a feed shows' });
      return;
    }
    options.logger.info({ webhookId: payload.id, models }, 'Kombo says interviews changed; refreshing');
    options.sync.requestRefresh();
    options.metrics.webhooks.inc({ outcome: 'refresh' });
    res.json({ status: 'refresh-started', models });
  });
  return router;
}
