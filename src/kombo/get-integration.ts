import type { KomboClient } from './create-kombo-client.js';

/** Longest tool or organisation name kept: they end up in calendar names and the admin page. */
export const MAX_INTEGRATION_LABEL_CHARS = 200;

/** What the service keeps of Kombo's description of an integration. */
export interface IntegrationInfo {
  tool: string | null;
  organization: string | null;
}

function label(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.replace(/[\u0000-\u001F\u007F]/g, ' ').trim();
  return trimmed === '' ? null : [...trimmed].slice(0, MAX_INTEGRATION_LABEL_CHARS).join('');
}

/** `GET /integrations/{id}`: the tool's label and the customer's organisation name (either null when not given). */
export async function getIntegration(client: KomboClient, integrationId: string, signal?: AbortSignal): Promise<IntegrationInfo> {
  const { body } = await client.get(`/integrations/${encodeURIComponent(integrationId)}`, {}, signal);
  const data = (body as { data?: { tool?: { label?: unknown }; end_user?: { organization_name?: unknown } } } | null)?.data;
  return { tool: label(data?.tool?.label), organization: label(data?.end_user?.organization_name) };
}
