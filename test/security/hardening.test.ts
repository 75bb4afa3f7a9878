/**
 * Attacks that worked against the service once, one block each (the hardening issue's list), so none comes back.
 */
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startFakeKombo, type FakeKombo } from '../helpers/fake-kombo.js';
import { oidcEnv, signInThroughProvider, startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';
import { buildTestService, PUBLIC_URL, testEnv } from '../helpers/test-service.js';
import { pageRecords } from '../admin-page/page-fixtures.js';

const KELVIN = '\u212A'; // KELVIN SIGN: lower-cased by toLowerCase() into an ASCII 'k'

describe('OIDC_ADMIN_EMAILS goes through the one email normalisation (no Unicode folding)', () => {
  let idp: IdentityProvider;
  let fake: FakeKombo;
  beforeAll(async () => {
    idp = await startIdentityProvider([`${PUBLIC_URL}/auth/callback`]);
  });
  afterAll(async () => {
    await idp.close();
  });
  beforeEach(async () => {
    fake = await startFakeKombo();
    fake.setRecords(pageRecords());
    return () => fake.close();
  });

  it('keeps an entry written with a Kelvin sign apart from the plain-ASCII address', () => {
    const config = loadConfig(testEnv(fake, oidcEnv(idp, ` ${KELVIN}ate@Example.com , Grace@Example.com`)));
    expect(config.oidc?.adminEmails).toEqual([`${KELVIN}ate@example.com`, 'grace@example.com']);
  });

  it('does not let the plain-ASCII kate@ into the admin page when the entry names the Kelvin-sign address', async () => {
    const s = buildTestService(fake, { env: oidcEnv(idp, `${KELVIN}ate@example.com`) });
    await s.sync.refresh();
    const kate = await signInThroughProvider(s.app, idp, 'kate@example.com', '/auth/login?next=admin');
    expect(kate.res.text).toContain('content="0;url=/me"');
    await request(s.app).get(`/admin/i/${fake.integrationId}`).set('Cookie', kate.cookie).expect(303).expect('Location', '/admin');
  });
});
