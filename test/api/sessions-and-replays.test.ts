import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { createZone, exchangeFixture, expectError, expectStatus, get, post, type ZoneFixture } from './helpers.js';

/** Admin routes that need a real token exchange first: sessions and simulate-by-request-id. */
describe('sessions and simulate by request id', () => {
  let t: TestWrit;
  let zone: ZoneFixture;
  let base: string;
  let fx: Awaited<ReturnType<typeof exchangeFixture>>;
  beforeAll(async () => {
    t = await startTestWrit({ ledger: 'memory' });
    zone = await createZone(t);
    base = `/v1/zones/${zone.zone_id}`;
    fx = await exchangeFixture(t, zone);
  });
  afterAll(async () => t?.close());

  it('lists the session the exchange opened, with filters', async () => {
    const list = expectStatus(await get(t.app, `${base}/sessions`, zone.key), 200);
    expect(list.items).toEqual([
      {
        session_id: fx.session_id,
        zone_id: zone.zone_id,
        application_id: fx.app.application_id,
        subject: 'user-alice',
        subject_type: 'user',
        status: 'active',
        started_at: expect.any(String),
        revoked_at: null,
        reason: null,
      },
    ]);
    expect(expectStatus(await get(t.app, `${base}/sessions?subject=user-alice&application_id=${fx.app.application_id}&status=active`, zone.key), 200).items).toHaveLength(1);
    expect(expectStatus(await get(t.app, `${base}/sessions?subject=user-bob`, zone.key), 200).items).toHaveLength(0);
    expect(expectStatus(await get(t.app, `${base}/sessions?status=revoked`, zone.key), 200).items).toHaveLength(0);
    expect(expectStatus(await get(t.app, `${base}/sessions/${fx.session_id}`, zone.key), 200).session_id).toBe(fx.session_id);
  });

  it('simulates with the recorded input of a decision', async () => {
    const res = expectStatus(await post(t.app, `${base}/policy-sets/versions/1/simulate`, zone.key, { request_id: fx.request_id }), 200);
    expect(res).toMatchObject({ version: 1, decision: 'allow', scopes: ['payments:read'] });
    // Another zone cannot simulate with this zone's decision.
    const other = await createZone(t, 'other');
    expectError(await post(t.app, `/v1/zones/${other.zone_id}/policy-sets/versions/1/simulate`, other.key, { request_id: fx.request_id }), 404, 'request_not_found');
  });

  it('revokes the session (idempotently) and the list shows it', async () => {
    expect(expectStatus(await post(t.app, `${base}/sessions/${fx.session_id}/revoke`, zone.key, { reason: 'laptop stolen' }), 200)).toEqual({ session_id: fx.session_id, status: 'revoked' });
    const list = expectStatus(await get(t.app, `${base}/sessions?status=revoked`, zone.key), 200);
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ session_id: fx.session_id, status: 'revoked', reason: 'laptop stolen', revoked_at: expect.any(String) });
    expect(expectStatus(await post(t.app, `${base}/sessions/${fx.session_id}/revoke`, zone.key), 200)).toEqual({ session_id: fx.session_id, status: 'revoked' });
    // The first revocation's reason stays the recorded one.
    expect(expectStatus(await get(t.app, `${base}/sessions/${fx.session_id}`, zone.key), 200).reason).toBe('laptop stolen');
  });

  it('another zone cannot see or revoke the session', async () => {
    const other = await createZone(t, 'other-2');
    expectError(await post(t.app, `/v1/zones/${other.zone_id}/sessions/${fx.session_id}/revoke`, other.key, {}), 404, 'session_not_found');
    expectError(await get(t.app, `/v1/zones/${other.zone_id}/sessions/${fx.session_id}`, other.key), 404, 'session_not_found');
    expectError(await post(t.app, `${base}/sessions/${fx.session_id}/revoke`, other.key, {}), 403, 'zone_forbidden');
    expectError(await post(t.app, `${base}/sessions/${fx.session_id}/revoke`, zone.key, { reason: 'x'.repeat(501) }), 400, 'invalid_request');
  });
});
