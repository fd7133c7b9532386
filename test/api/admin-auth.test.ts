import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { bearer, createZone, expectError, expectStatus, get, type ZoneFixture } from './helpers.js';

describe('admin authentication', () => {
  let t: TestWrit;
  let zone: ZoneFixture;
  beforeAll(async () => {
    t = await startTestWrit({ ledger: 'memory' });
    zone = await createZone(t);
  });
  afterAll(async () => t?.close());

  it('whoami answers for the root key', async () => {
    expect(expectStatus(await get(t.app, '/v1/auth/whoami', t.root), 200)).toEqual({ key_id: 'root', kind: 'root' });
  });

  it('whoami answers for a zone key', async () => {
    expect(expectStatus(await get(t.app, '/v1/auth/whoami', zone.key), 200)).toEqual({ key_id: zone.key_id, kind: 'zone', zone_id: zone.zone_id });
  });

  it('no Authorization header: 401 authentication_required with WWW-Authenticate', async () => {
    const res = await get(t.app, '/v1/auth/whoami', {});
    expectError(res, 401, 'authentication_required');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it.each([
    ['an unknown token', 'Bearer nope-nope-nope-nope'],
    ['a wrong scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['an empty bearer', 'Bearer '],
    ['a key id with a wrong secret', 'Bearer key_0000.wrong'],
    ['the root token with a suffix', 'Bearer test-root-token-0123456789abcdefX'],
  ])('%s: 401 invalid_token', async (_name, authorization) => {
    expectError(await get(t.app, '/v1/auth/whoami', { authorization }), 401, 'invalid_token');
  });

  it('a zone key with a tampered secret is refused', async () => {
    const tampered = zone.key.authorization.slice(0, -2) + (zone.key.authorization.endsWith('AA') ? 'BB' : 'AA');
    expectError(await get(t.app, '/v1/auth/whoami', { authorization: tampered }), 401, 'invalid_token');
  });

  it('a revoked zone key stops working at once; revoking twice is 409', async () => {
    const key = expectStatus(await t.app.inject({ method: 'POST', url: `/v1/zones/${zone.zone_id}/admin-keys`, headers: t.root, payload: { name: 'temp' } }), 201);
    expect(key.token).toMatch(new RegExp(`^${key.key_id}\\.`));
    expectStatus(await get(t.app, '/v1/auth/whoami', bearer(key.token)), 200);
    const revoked = expectStatus(await t.app.inject({ method: 'DELETE', url: `/v1/zones/${zone.zone_id}/admin-keys/${key.key_id}`, headers: zone.key }), 200);
    expect(revoked).toMatchObject({ key_id: key.key_id, status: 'revoked' });
    expectError(await get(t.app, '/v1/auth/whoami', bearer(key.token)), 401, 'invalid_token');
    expectError(await t.app.inject({ method: 'DELETE', url: `/v1/zones/${zone.zone_id}/admin-keys/${key.key_id}`, headers: zone.key }), 409, 'admin_key_already_revoked');
    expectError(await t.app.inject({ method: 'DELETE', url: `/v1/zones/${zone.zone_id}/admin-keys/key_unknown`, headers: zone.key }), 404, 'admin_key_not_found');
  });

  it('admin key list never shows secrets, salts or hashes', async () => {
    const list = expectStatus(await get(t.app, `/v1/zones/${zone.zone_id}/admin-keys`, zone.key), 200);
    expect(list.items.length).toBeGreaterThanOrEqual(1);
    const text = JSON.stringify(list);
    expect(text).not.toMatch(/secret|salt|hash|token/);
    expect(text).not.toContain(zone.key.authorization.split('.')[1]);
  });

  it('another zone\'s key cannot use this zone\'s routes, even for a zone that does not exist', async () => {
    const other = await createZone(t, 'other');
    expectError(await get(t.app, `/v1/zones/${zone.zone_id}/applications`, other.key), 403, 'zone_forbidden');
    expectError(await get(t.app, '/v1/zones/zone_does_not_exist/applications', other.key), 403, 'zone_forbidden');
    // Root sees the difference between an existing and a missing zone.
    expectError(await get(t.app, '/v1/zones/zone_does_not_exist/applications', t.root), 404, 'zone_not_found');
  });

  it('authentication comes before body validation (no body is read for a stranger)', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/zones/${zone.zone_id}/applications`, payload: '{not json', headers: { 'content-type': 'application/json' } });
    expectError(res, 401, 'authentication_required');
  });
});
