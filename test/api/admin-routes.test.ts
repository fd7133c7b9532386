import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { createZone, directory, expectError, expectStatus, get, makeIssuer, post, type ZoneFixture } from './helpers.js';

describe.each(['memory', 'sqlite'] as const)('admin routes (%s ledger)', (ledger) => {
  let t: TestWrit;
  let zone: ZoneFixture;
  let base: string;
  beforeAll(async () => {
    t = await startTestWrit({ ledger });
    zone = await createZone(t, 'acme');
    base = `/v1/zones/${zone.zone_id}`;
  });
  afterAll(async () => t?.close());

  describe('zones', () => {
    it('POST creates a zone on policy version 1 and GET sees it at once', async () => {
      const created = expectStatus(await post(t.app, '/v1/zones', t.root, { name: 'fresh' }), 201);
      expect(created).toEqual({ zone_id: expect.stringMatching(/^zone_/), name: 'fresh', created_at: expect.stringMatching(/Z$/), active_policy_version: 1 });
      const one = expectStatus(await get(t.app, `/v1/zones/${created.zone_id}`, t.root), 200);
      expect(one).toEqual(created);
      const list = expectStatus(await get(t.app, '/v1/zones?limit=1000', t.root), 200);
      expect(list.items).toContainEqual(created);
      expect(list.next_cursor).toBeNull();
    });

    it('creating and listing zones is root-only', async () => {
      expectError(await post(t.app, '/v1/zones', zone.key, { name: 'nope' }), 403, 'zone_forbidden');
      expectError(await get(t.app, '/v1/zones', zone.key), 403, 'zone_forbidden');
      expectError(await post(t.app, '/v1/zones', {}, { name: 'nope' }), 401, 'authentication_required');
    });

    it('a zone key reads its own zone', async () => {
      expect(expectStatus(await get(t.app, base, zone.key), 200)).toMatchObject({ zone_id: zone.zone_id, name: 'acme', active_policy_version: 1 });
    });

    it('validates the body', async () => {
      const bad = expectError(await post(t.app, '/v1/zones', t.root, { name: '' }), 400, 'invalid_request');
      expect(bad.details.issues[0]).toMatchObject({ path: expect.stringContaining('name') });
      expectError(await post(t.app, '/v1/zones', t.root, { name: 'x'.repeat(201) }), 400, 'invalid_request');
      expectError(await post(t.app, '/v1/zones', t.root, { name: 'ok', extra: true }), 400, 'invalid_request');
      expectError(await post(t.app, '/v1/zones', t.root), 400, 'invalid_request');
    });

    it('pages with limit and an opaque cursor', async () => {
      for (let i = 0; i < 3; i++) expectStatus(await post(t.app, '/v1/zones', t.root, { name: `page-${i}` }), 201);
      const all = expectStatus(await get(t.app, '/v1/zones?limit=1000', t.root), 200).items.map((z: { zone_id: string }) => z.zone_id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = expectStatus(await get(t.app, `/v1/zones?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, t.root), 200);
        expect(res.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.items.map((z: { zone_id: string }) => z.zone_id));
        cursor = res.next_cursor;
      } while (cursor);
      expect(seen).toEqual(all);
      expectError(await get(t.app, '/v1/zones?limit=1001', t.root), 400, 'invalid_request');
      expectError(await get(t.app, '/v1/zones?limit=0', t.root), 400, 'invalid_request');
      expectError(await get(t.app, '/v1/zones?limit=abc', t.root), 400, 'invalid_request');
      expectError(await get(t.app, '/v1/zones?cursor=garbage!!', t.root), 400, 'invalid_request');
    });

    it('an unknown zone is 404 zone_not_found for root', async () => {
      expectError(await get(t.app, '/v1/zones/zone_missing', t.root), 404, 'zone_not_found');
      expectError(await post(t.app, '/v1/zones/zone_missing/applications', t.root, { name: 'x' }), 404, 'zone_not_found');
    });
  });

  describe('applications', () => {
    it('returns the client secret once; reads never show it', async () => {
      const created = expectStatus(await post(t.app, `${base}/applications`, zone.key, { name: 'billing' }), 201);
      expect(created).toEqual({ application_id: expect.stringMatching(/^app_/), zone_id: zone.zone_id, name: 'billing', client_secret: expect.any(String), registered_at: expect.any(String) });
      expect(created.client_secret.length).toBeGreaterThanOrEqual(32);
      const one = expectStatus(await get(t.app, `${base}/applications/${created.application_id}`, zone.key), 200);
      expect(one).toEqual({ application_id: created.application_id, zone_id: zone.zone_id, name: 'billing', registered_at: created.registered_at });
      const list = expectStatus(await get(t.app, `${base}/applications`, zone.key), 200);
      expect(list.items).toContainEqual(one);
      for (const text of [JSON.stringify(one), JSON.stringify(list)]) {
        expect(text).not.toContain(created.client_secret);
        expect(text).not.toMatch(/secret|salt|hash/);
      }
    });

    it('unknown or foreign application: 404 application_not_found', async () => {
      expectError(await get(t.app, `${base}/applications/app_missing`, zone.key), 404, 'application_not_found');
      const other = await createZone(t, 'other-apps');
      const foreign = expectStatus(await post(t.app, `/v1/zones/${other.zone_id}/applications`, other.key, { name: 'theirs' }), 201);
      expectError(await get(t.app, `${base}/applications/${foreign.application_id}`, zone.key), 404, 'application_not_found');
    });
  });

  describe('resources', () => {
    it('registers and reads back', async () => {
      const created = expectStatus(await post(t.app, `${base}/resources`, zone.key, { identifier: 'resource://ledger', scopes: ['ledger:read'], upstream_url: 'https://ledger.internal/api' }), 201);
      expect(created).toMatchObject({ resource_id: expect.stringMatching(/^res_/), identifier: 'resource://ledger', scopes: ['ledger:read'], upstream_url: 'https://ledger.internal/api' });
      expect(expectStatus(await get(t.app, `${base}/resources/${created.resource_id}`, zone.key), 200)).toEqual(created);
      expect(expectStatus(await get(t.app, `${base}/resources`, zone.key), 200).items).toContainEqual(created);
    });

    it('refuses bad identifiers, bad scopes and duplicates', async () => {
      expectError(await post(t.app, `${base}/resources`, zone.key, { identifier: 'https://not-a-resource', scopes: ['a:b'] }), 400, 'invalid_resource_identifier');
      expectError(await post(t.app, `${base}/resources`, zone.key, { identifier: 'resource://bad-scope', scopes: ['Has Space'] }), 400, 'invalid_scope');
      expectError(await post(t.app, `${base}/resources`, zone.key, { identifier: 'resource://no-scope', scopes: [] }), 400, 'invalid_scope');
      expectError(await post(t.app, `${base}/resources`, zone.key, { identifier: 'resource://x', scopes: ['a'], upstream_url: 'not a url' }), 400, 'invalid_request');
      expectStatus(await post(t.app, `${base}/resources`, zone.key, { identifier: 'resource://dupe', scopes: ['a'] }), 201);
      expectError(await post(t.app, `${base}/resources`, zone.key, { identifier: 'resource://dupe', scopes: ['a'] }), 409, 'resource_already_exists');
      expectError(await get(t.app, `${base}/resources/res_missing`, zone.key), 404, 'resource_not_found');
    });
  });

  describe('grants', () => {
    it('issues, lists with filters, reads, revokes; revoking twice is 409', async () => {
      const d = await directory(t, zone, { slug: 'grants-a' });
      expect(d.grant).toMatchObject({ grant_id: expect.stringMatching(/^grt_/), status: 'active', application_id: d.app.application_id, resource_id: d.resource.resource_id, user_id: null, revoked_at: null });
      const userGrant = expectStatus(await post(t.app, `${base}/grants`, zone.key, { application_id: d.app.application_id, resource_id: d.resource.resource_id, scopes: ['payments:read'], user_id: 'user-bob' }), 201);
      expect(userGrant.user_id).toBe('user-bob');
      expect(expectStatus(await get(t.app, `${base}/grants/${d.grant.grant_id}`, zone.key), 200)).toEqual(d.grant);
      const byUser = expectStatus(await get(t.app, `${base}/grants?user_id=user-bob`, zone.key), 200);
      expect(byUser.items.map((g: { grant_id: string }) => g.grant_id)).toEqual([userGrant.grant_id]);
      const byApp = expectStatus(await get(t.app, `${base}/grants?application_id=${d.app.application_id}&resource_id=${d.resource.resource_id}`, zone.key), 200);
      expect(byApp.items).toHaveLength(2);

      const revoked = expectStatus(await t.app.inject({ method: 'DELETE', url: `${base}/grants/${d.grant.grant_id}`, headers: zone.key }), 200);
      expect(revoked).toMatchObject({ grant_id: d.grant.grant_id, status: 'revoked', revoked_at: expect.any(String) });
      expect(expectStatus(await get(t.app, `${base}/grants/${d.grant.grant_id}`, zone.key), 200).status).toBe('revoked');
      const active = expectStatus(await get(t.app, `${base}/grants?status=active&application_id=${d.app.application_id}`, zone.key), 200);
      expect(active.items.map((g: { grant_id: string }) => g.grant_id)).toEqual([userGrant.grant_id]);
      expectError(await t.app.inject({ method: 'DELETE', url: `${base}/grants/${d.grant.grant_id}`, headers: zone.key }), 409, 'grant_already_revoked');
      expectError(await t.app.inject({ method: 'DELETE', url: `${base}/grants/grt_missing`, headers: zone.key }), 404, 'grant_not_found');
      expectError(await get(t.app, `${base}/grants/grt_missing`, zone.key), 404, 'grant_not_found');
      expectError(await get(t.app, `${base}/grants?status=bogus`, zone.key), 400, 'invalid_request');
    });

    it('refuses unknown application/resource and scopes the resource does not define', async () => {
      const d = await directory(t, zone, { slug: 'grants-b', scopes: ['b:read'] });
      const body = { application_id: d.app.application_id, resource_id: d.resource.resource_id, scopes: ['b:read'] };
      expectError(await post(t.app, `${base}/grants`, zone.key, { ...body, application_id: 'app_missing' }), 404, 'application_not_found');
      expectError(await post(t.app, `${base}/grants`, zone.key, { ...body, resource_id: 'res_missing' }), 404, 'resource_not_found');
      const exceed = expectError(await post(t.app, `${base}/grants`, zone.key, { ...body, scopes: ['b:read', 'b:admin'] }), 400, 'grant_scopes_exceed_resource');
      expect(exceed.details.scopes).toEqual(['b:admin']);
      expectError(await post(t.app, `${base}/grants`, zone.key, { ...body, scopes: [] }), 400, 'invalid_scope');
    });

    it('another zone\'s application or resource is reported as not found', async () => {
      const other = await createZone(t, 'other-grants');
      const theirs = await directory(t, other, { slug: 'theirs' });
      const mine = await directory(t, zone, { slug: 'mine' });
      expectError(await post(t.app, `${base}/grants`, zone.key, { application_id: theirs.app.application_id, resource_id: mine.resource.resource_id, scopes: ['payments:read'] }), 404, 'application_not_found');
      expectError(await post(t.app, `${base}/grants`, zone.key, { application_id: mine.app.application_id, resource_id: theirs.resource.resource_id, scopes: ['payments:read'] }), 404, 'resource_not_found');
      expectError(await get(t.app, `${base}/grants/${theirs.grant.grant_id}`, zone.key), 404, 'grant_not_found');
      expectError(await t.app.inject({ method: 'DELETE', url: `${base}/grants/${theirs.grant.grant_id}`, headers: zone.key }), 404, 'grant_not_found');
    });
  });

  describe('concurrent writes', () => {
    it('two registrations of one identifier at once: one 201, one 409', async () => {
      const body = { identifier: 'resource://racy', scopes: ['r:read'] };
      const results = await Promise.all([post(t.app, `${base}/resources`, zone.key, body), post(t.app, `${base}/resources`, zone.key, body)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
      const list = expectStatus(await get(t.app, `${base}/resources?limit=1000`, zone.key), 200);
      expect(list.items.filter((r: { identifier: string }) => r.identifier === 'resource://racy')).toHaveLength(1);
    });

    it('two revocations of one grant at once: one 200, one 409', async () => {
      const d = await directory(t, zone, { slug: 'racy-grant' });
      const url = `${base}/grants/${d.grant.grant_id}`;
      const results = await Promise.all([t.app.inject({ method: 'DELETE', url, headers: zone.key }), t.app.inject({ method: 'DELETE', url, headers: zone.key })]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    });

    it('many zones and applications at once all land and are listed', async () => {
      const created = await Promise.all(Array.from({ length: 10 }, (_, i) => post(t.app, `${base}/applications`, zone.key, { name: `burst-${i}` })));
      const ids = created.map((r) => expectStatus(r, 201).application_id);
      const listed = expectStatus(await get(t.app, `${base}/applications?limit=1000`, zone.key), 200).items.map((a: { application_id: string }) => a.application_id);
      expect(listed).toEqual(expect.arrayContaining(ids));
    });
  });

  describe('issuers', () => {
    it('adds, lists, reads and removes a trusted issuer', async () => {
      const issuer = await makeIssuer('https://idp.issuers.test');
      const created = expectStatus(await post(t.app, `${base}/issuers`, zone.key, { issuer: issuer.iss, jwks: issuer.jwks, audience: 'writ' }), 201);
      expect(created).toMatchObject({ issuer_id: expect.stringMatching(/^iss_/), issuer: issuer.iss, audience: 'writ', key_count: 1 });
      const one = expectStatus(await get(t.app, `${base}/issuers/${created.issuer_id}`, zone.key), 200);
      expect(one).toMatchObject({ issuer_id: created.issuer_id, issuer: issuer.iss, audience: 'writ', jwks: issuer.jwks });
      expect(expectStatus(await get(t.app, `${base}/issuers`, zone.key), 200).items).toContainEqual(one);
      expectError(await post(t.app, `${base}/issuers`, zone.key, { issuer: issuer.iss, jwks: issuer.jwks }), 409, 'issuer_already_trusted');

      expect(expectStatus(await t.app.inject({ method: 'DELETE', url: `${base}/issuers/${created.issuer_id}`, headers: zone.key }), 200)).toEqual({ issuer_id: created.issuer_id, status: 'removed' });
      expectError(await get(t.app, `${base}/issuers/${created.issuer_id}`, zone.key), 404, 'issuer_not_found');
      expect(expectStatus(await get(t.app, `${base}/issuers`, zone.key), 200).items.map((i: { issuer_id: string }) => i.issuer_id)).not.toContain(created.issuer_id);
      expectError(await t.app.inject({ method: 'DELETE', url: `${base}/issuers/${created.issuer_id}`, headers: zone.key }), 404, 'issuer_not_found');
      // Removed, it can be trusted again (new keys).
      expectStatus(await post(t.app, `${base}/issuers`, zone.key, { issuer: issuer.iss, jwks: issuer.jwks }), 201);
    });

    it('refuses private, symmetric and malformed keys', async () => {
      const issuer = await makeIssuer('https://idp.private.test');
      const { exportJWK } = await import('jose');
      const priv = { ...(await exportJWK(issuer.privateKey)), alg: 'ES256' };
      expectError(await post(t.app, `${base}/issuers`, zone.key, { issuer: 'https://a.test', jwks: { keys: [priv] } }), 400, 'invalid_jwks');
      expectError(await post(t.app, `${base}/issuers`, zone.key, { issuer: 'https://b.test', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), 400, 'invalid_jwks');
      expectError(await post(t.app, `${base}/issuers`, zone.key, { issuer: 'https://c.test', jwks: { keys: [{ kty: 'RSA', n: 'x' }] } }), 400, 'invalid_jwks');
      expectError(await post(t.app, `${base}/issuers`, zone.key, { issuer: 'https://d.test', jwks: { keys: [] } }), 400, 'invalid_request');
      expectError(await post(t.app, `${base}/issuers`, zone.key, { issuer: 'https://e.test' }), 400, 'invalid_request');
    });
  });

  describe('sessions', () => {
    it('an unknown session: list is empty, revoke is 404', async () => {
      const list = expectStatus(await get(t.app, `${base}/sessions?status=active`, zone.key), 200);
      expect(list).toEqual({ items: [], next_cursor: null });
      expectError(await post(t.app, `${base}/sessions/ses_missing/revoke`, zone.key, { reason: 'x' }), 404, 'session_not_found');
      expectError(await post(t.app, `${base}/sessions/ses_missing/revoke`, zone.key), 404, 'session_not_found');
      expectError(await get(t.app, `${base}/sessions?status=sideways`, zone.key), 400, 'invalid_request');
    });
  });
});
