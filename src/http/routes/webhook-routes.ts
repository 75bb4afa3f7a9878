import { createHmac } from 'node:crypto';
import express, { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Metrics } from '../../metrics.js';
import { RegistryError } from '../../integrations/integration-registry.js';
import type { SyncScheduler } from '../../sync/sync-scheduler.js';
import { HttpError } from '../http-error.js';
import { secureEqual } from '../secure-equal.js';

/** Models whose changes can change a feed: interviews, who sits on them, users, candidates, applications, jobs. */
export const RELEVANT_MODELS: ReadonlySet<string> = new Set([
  'ats_interviews',
  'ats_join_interviews_users',
  'ats_users',
  'ats_candidates',
  'ats_applications',
  'ats_jobs',
]);

/** Kombo's integration states that stop walks (the feeds keep serving the last snapshot). */
const PAUSING_STATES: ReadonlySet<string> = new Set(['INACTIVE', 'INVALID']);

const webhookSchema = z.object({ id: z.string(), type: z.string(), data: z.unknown() });
const dataChangedSchema = z.object({
  integration_id: z.string(),
  changed_models: z.array(z.object({ name: z.string() })),
});
const syncFinishedSchema = z.object({ integration_id: z.string() });
const integrationCreatedSchema = z.object({
  id: z.string(),
  category: z.string(),
  tool: z.string().nullish(),
  end_user: z.object({ organization_name: z.string().nullish() }).nullish(),
});
const integrationDeletedSchema = z.object({ id: z.string() });
const integrationStateSchema = z.object({ integration_id: z.string(), state: z.string() });

/** Kombo's signature: base64url, without padding, of HMAC-SHA256 over the raw body. */
export function signWebhook(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

/**
 * POST /webhooks/kombo: verifies the signature, then acts on the integration the event names: `data-changed` (of a
 * model a feed shows) and `sync-finished` refresh it; `integration-created` (ATS) adds it and walks it at once;
 * `integration-deleted` removes it; `integration-state-changed` pauses it (INACTIVE, INVALID) or resumes it (ACTIVE).
 */
export function webhookRoutes(options: {
  secret: string;
  sync: SyncScheduler;
  logger: Logger;
  metrics: Metrics;
}): Router {
  const router = Router();
  router.post('/webhooks/kombo', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
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
    const ignore = (reason: string) => {
      options.metrics.webhooks.inc({ outcome: 'ignored' });
      res.json({ status: 'ignored', reason });
    };
    const malformed = (what: string) => {
      options.metrics.webhooks.inc({ outcome: 'rejected' });
      return new HttpError(400, `${payload.type} event without ${what}`);
    };
    const refresh = (integrationId: string, why: Record<string, unknown>) => {
      if (!options.sync.get(integrationId)) return ignore('another integration');
      options.logger.info({ webhookId: payload.id, integration: integrationId, ...why }, 'Kombo says interviews changed; refreshing');
      options.sync.requestRefresh(integrationId);
      options.metrics.webhooks.inc({ outcome: 'refresh' });
      res.json({ status: 'refresh-started', ...why });
    };

    switch (payload.type) {
      case 'data-changed': {
        const data = dataChangedSchema.safeParse(payload.data);
        if (!data.success) throw malformed('integration_id and changed_models');
        const models = data.data.changed_models.map((model) => model.name).filter((name) => RELEVANT_MODELS.has(name));
        if (models.length === 0) return ignore('no model a feed shows');
        return refresh(data.data.integration_id, { models });
      }
      case 'sync-finished': {
        const data = syncFinishedSchema.safeParse(payload.data);
        if (!data.success) throw malformed('integration_id');
        return refresh(data.data.integration_id, { reason: 'sync-finished' });
      }
      case 'integration-created': {
        const data = integrationCreatedSchema.safeParse(payload.data);
        if (!data.success) throw malformed('id and category');
        if (data.data.category !== 'ATS') return ignore(`a ${data.data.category} integration`);
        try {
          const { created } = await options.sync.add(data.data.id, 'webhook', {
            tool: data.data.tool?.slice(0, 200) ?? null,
            organization: data.data.end_user?.organization_name?.slice(0, 200) ?? null,
          });
          options.metrics.webhooks.inc({ outcome: created ? 'added' : 'ignored' });
          return void res.json({ status: created ? 'added' : 'known', integration: data.data.id });
        } catch (error) {
          if (error instanceof RegistryError) throw malformed(`an integration id we can serve (${error.message})`);
          throw error;
        }
      }
      case 'integration-deleted': {
        const data = integrationDeletedSchema.safeParse(payload.data);
        if (!data.success) throw malformed('id');
        const removed = await options.sync.remove(data.data.id);
        if (!removed) return ignore('another integration');
        options.metrics.webhooks.inc({ outcome: 'removed' });
        return void res.json({ status: 'removed', integration: data.data.id });
      }
      case 'integration-state-changed': {
        const data = integrationStateSchema.safeParse(payload.data);
        if (!data.success) throw malformed('integration_id and state');
        const { integration_id: id, state } = data.data;
        const done = PAUSING_STATES.has(state) ? await options.sync.pause(id, state) : state === 'ACTIVE' ? await options.sync.resume(id) : undefined;
        if (done === undefined) return ignore(`state ${state}`);
        if (!done) return ignore('another integration');
        options.metrics.webhooks.inc({ outcome: PAUSING_STATES.has(state) ? 'paused' : 'resumed' });
        return void res.json({ status: PAUSING_STATES.has(state) ? 'paused' : 'resumed', integration: id });
      }
      default:
        return ignore(`event type ${payload.type}`);
    }
  });
  return router;
}
