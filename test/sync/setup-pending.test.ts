import { describe, expect, it } from 'vitest';
import { KomboError } from '../../src/kombo/kombo-error.js';
import { isSetupPending, SETUP_PENDING_CODES } from '../../src/sync/setup-pending.js';

describe('isSetupPending', () => {
  it('is Kombo saying the integration is still being set up, and nothing else', () => {
    for (const code of SETUP_PENDING_CODES) expect(isSetupPending(new KomboError('setting up', { kind: 'http', status: 503, code }))).toBe(true);
    expect([...SETUP_PENDING_CODES].sort()).toEqual(['INTEGRATION.SETUP_INCOMPLETE', 'INTEGRATION.SETUP_SYNC_PENDING']);
    expect(isSetupPending(new KomboError('inactive', { kind: 'http', status: 403, code: 'INTEGRATION.INACTIVE' }))).toBe(false);
    expect(isSetupPending(new KomboError('no code', { kind: 'http', status: 503 }))).toBe(false);
    expect(isSetupPending(Object.assign(new Error('lookalike'), { code: 'INTEGRATION.SETUP_SYNC_PENDING' }))).toBe(false);
  });
});
