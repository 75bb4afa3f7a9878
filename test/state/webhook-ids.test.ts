import { describe, expect, it } from 'vitest';
import { createMemoryWebhookIds, RECENT_WEBHOOK_ID_TTL_MS, RECENT_WEBHOOK_IDS } from '../../src/state/webhook-ids.js';

describe('the webhook ids seen, in memory', () => {
  it('answers a second claim of an id as a replay, until the id is released', async () => {
    const ids = createMemoryWebhookIds({ now: () => 0 });
    expect(await ids.claim('evt-1')).toBe(false);
    expect(await ids.claim('evt-1')).toBe(true);
    expect(await ids.claim('evt-2')).toBe(false);
    await ids.release('evt-1'); // its event failed on our side: Kombo's retry must be handled
    expect(await ids.claim('evt-1')).toBe(false);
    expect(await ids.claim('evt-1')).toBe(true);
  });

  it('remembers an id for the replay window, and at most RECENT_WEBHOOK_IDS of them', async () => {
    let now = 0;
    const ids = createMemoryWebhookIds({ now: () => now });
    await ids.claim('evt-old');
    now = RECENT_WEBHOOK_ID_TTL_MS - 1;
    expect(await ids.claim('evt-old')).toBe(true);
    now = 2 * RECENT_WEBHOOK_ID_TTL_MS;
    expect(await ids.claim('evt-old')).toBe(false); // the window passed
    for (let n = 0; n < RECENT_WEBHOOK_IDS; n++) await ids.claim(`evt-${n}`);
    expect(await ids.claim('evt-old')).toBe(false); // pushed out by the bound
    expect(await ids.claim(`evt-${RECENT_WEBHOOK_IDS - 1}`)).toBe(true);
  });

  it('keeps each process its own memory: two sets never share an id', async () => {
    const one = createMemoryWebhookIds({ now: () => 0 });
    const two = createMemoryWebhookIds({ now: () => 0 });
    await one.claim('evt-1');
    expect(await two.claim('evt-1')).toBe(false);
  });
});
