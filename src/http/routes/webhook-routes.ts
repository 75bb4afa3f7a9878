import { createHmac } from 'node:crypto';
import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Metrics } from '../../metrics.js';
import { RegistryError } from '../../integrations/integration-registry.js';
import type { WebhookIds } from '../../state/webhook-ids.js';
import type { SyncScheduler } from '../../sync/sync-scheduler.js';
import { HttpError } from '../http-error.js';
import { CLOSE, readWebhookBody, WEBHOOK_BODY_TIMEOUT_MS } from '../read-webhook-body.js';
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

/**
 * Largest webhook body read. Kombo's events (data-changed, integration-*, sync-finished) are well under 4 KiB; the
 * largest it documents, an assessment order with a job description, is a few KiB more.
 */
export const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;
/** Webhook bodies read at once; more get 503 (Kombo retries). With the limit above, at most 2 MiB held. */
export const MAX_WEBHOOK_BODIES_READING = 32;
/** Longest webhook id remembered; Kombo's are 24 characters. */
export const MAX_WEBHOOK_ID_LENGTH = 200;

const webhookSchema = z.object({ id: z.string().min(1).max(MAX_WEBHOOK_ID_LENGTH), type: z.string(), data: z.unknown() });

/** Kombo's integration states that stop walks (the feeds keep serving the last snapshot). */
const PAUSING_STATES: ReadonlySet<string> = new Set(['INACTIVE', 'INVALID']);
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
const integrationStateSchema = z.object({
  integration_id: z.string(),
  state: z.string(),
  // When Kombo changed the state: events arrive out of order (a retry of an older one after a newer one).
  updated_at: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)))
    .optional(),
});

/** Kombo's signature: base64url, without padding, of HMAC-SHA256 over the raw body. */
export function signWebhook(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

const TOO_LARGE = `Webhook body is larger than ${WEBHOOK_BODY_LIMIT_BYTES} bytes`;

/**
 * POST /webhooks/kombo: verifies the signature, then acts on the integration the event names: `data-changed` (of a
 * model a feed shows) and `sync-finished` refresh it; `integration-created` (ATS) adds it and walks it at once;
 * `integration-deleted` removes it; `integration-state-changed` pauses it (INACTIVE, INVALID) or resumes it (ACTIVE).
 * A request without a signature is refused before its body is read, a body over the limit as soon as it shows, and
 * an event id already seen does nothing.
 */
export function webhookRoutes(options: {
  secret: string;
  sync: SyncScheduler;
  logger: Logger;
  metrics: Metrics;
  /** The ids seen, from the state bundle (in every process that shares it). */
  ids: WebhookIds;
}): Router {
  const router = Router();
  let reading = 0;

  const refuse = (status: number, message: string, headers: Record<string, string> = {}) => {
    options.metrics.webhooks.inc({ outcome: 'rejected' });
    return new HttpError(status, message, headers);
  };

  router.post('/webhooks/kombo', async (req, res) => {
    const signature = req.headers['x-kombo-signature'];
    if (typeof signature !== 'string' || signature.trim() === '') throw refuse(401, 'Missing or wrong X-Kombo-Signature', CLOSE);
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw refuse(415, 'Webhook bodies are read as sent: no Content-Encoding', CLOSE);
    }
    if (Number(req.headers['content-length'] ?? 0) > WEBHOOK_BODY_LIMIT_BYTES) throw refuse(413, TOO_LARGE, CLOSE);
    if (reading >= MAX_WEBHOOK_BODIES_READING) {
      options.metrics.webhooks.inc({ outcome: 'rejected' });
      res.status(503).set({ ...CLOSE, 'Retry-After': '5' }).json({ error: 'busy', message: 'Too many webhooks at once; try again shortly' });
      return;
    }
    let body: Buffer;
    reading++;
    try {
      body = await readWebhookBody(req, { limit: WEBHOOK_BODY_LIMIT_BYTES, timeoutMs: WEBHOOK_BODY_TIMEOUT_MS, tooLarge: TOO_LARGE });
    } catch (error) {
      options.metrics.webhooks.inc({ outcome: 'rejected' });
      throw error;
    } finally {
      reading--;
    }
    if (!secureEqual(signature.trim(), signWebhook(body, options.secret))) throw refuse(401, 'Missing or wrong X-Kombo-Signature');
    let payload: z.infer<typeof webhookSchema>;
    try {
      payload = webhookSchema.parse(JSON.parse(body.toString('utf8')));
    } catch {
      throw refuse(400, 'Webhook body is not a Kombo event');
    }
    // Only a verified id is remembered: nobody without the secret can fill the memory or mark a real event as seen.
    if (await options.ids.claim(payload.id)) {
      options.metrics.webhooks.inc({ outcome: 'duplicate' });
      res.json({ status: 'duplicate' });
      return;
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

    // Our own failure (a registry that cannot be saved, say) answers 500 and forgets the id: Kombo retries the event.
    const handle = async (): Promise<void> => {
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
          const updatedAtMs = data.data.updated_at === undefined ? undefined : Date.parse(data.data.updated_at);
          const pausing = PAUSING_STATES.has(state);
          if (!pausing && state !== 'ACTIVE') return ignore(`state ${state}`);
          const outcome = pausing ? await options.sync.pause(id, state, updatedAtMs) : await options.sync.resume(id, updatedAtMs);
          if (outcome === 'unknown') return ignore('another integration');
          if (outcome === 'stale') return ignore('a later state change was applied already');
          options.metrics.webhooks.inc({ outcome: pausing ? 'paused' : 'resumed' });
          return void res.json({ status: pausing ? 'paused' : 'resumed', integration: id });
        }
        default:
          return ignore(`event type ${payload.type}`);
      }
    };
    try {
      await handle();
    } catch (error) {
      if (!(error instanceof HttpError) || error.status >= 500) await options.ids.release(payload.id);
      throw error;
    }
  });
  return router;
}
