import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { createZone, directory, expectError, type ZoneFixture } from './helpers.js';

interface RouteRow {
  method: string;
  path: string;
}

/** Every documented route under /v1/zones/{zone_id}, from the app's own OpenAPI document. */
async function zoneRoutes(t: TestWrit): Promise<RouteRow[]> {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const rows: RouteRow[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/zones/{zone_id}')) continue;
    for (const method of Object.keys(methods)) if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) rows.push({ method: method.toUpperCase(), path });
  }
  return rows;
}

/** Fill path parameters: the zone under test, real ids of the victim zone where they exist, else placeholders. */
function fill(path: string, zoneId: string, ids: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'zone_id' ? zoneId : (ids[name] ?? (name === 'version' ? '1' : `${name}_x`))));
}

describe('zone isolation', () => {
  let t: TestWrit;
  let victim: ZoneFixture;
  let attacker: ZoneFixture;
  let ids: Record<string, string>;
  let routes: RouteRow[];
  beforeAll(async () => {
    t = await startTestWrit({ ledger: 'memory' });
    victim = await createZone(t, 'victim');
    attacker = await createZone(t, 'attacker');
    const d = await directory(t, victim);
    ids = { application_id: d.app.application_id, resource_id: d.resource.resource_id, grant_id: d.grant.grant_id, key_id: victim.key_id, request_id: 'req_x', session_id: 'ses_x', issuer_id: 'iss_x' };
    routes = await zoneRoutes(t);
  });
  afterAll(async () => t?.close());

  it('the route table covers every admin area', () => {
    const paths = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const expected of [
      'GET /v1/zones/{zone_id}',
      'POST /v1/zones/{zone_id}/admin-keys',
      'GET /v1/zones/{zone_id}/admin-keys',
      'DELETE /v1/zones/{zone_id}/admin-keys/{key_id}',
      'POST /v1/zones/{zone_id}/issuers',
      'GET /v1/zones/{zone_id}/issuers',
      'GET /v1/zones/{zone_id}/issuers/{issuer_id}',
      'DELETE /v1/zones/{zone_id}/issuers/{issuer_id}',
      'POST /v1/zones/{zone_id}/applications',
      'GET /v1/zones/{zone_id}/applications',
      'GET /v1/zones/{zone_id}/applications/{application_id}',
      'POST /v1/zones/{zone_id}/resources',
      'GET /v1/zones/{zone_id}/resources',
      'GET /v1/zones/{zone_id}/resources/{resource_id}',
      'POST /v1/zones/{zone_id}/grants',
      'GET /v1/zones/{zone_id}/grants',
      'GET /v1/zones/{zone_id}/grants/{grant_id}',
      'DELETE /v1/zones/{zone_id}/grants/{grant_id}',
      'POST /v1/zones/{zone_id}/policy-sets/versions',
      'GET /v1/zones/{zone_id}/policy-sets',
      'POST /v1/zones/{zone_id}/policy-sets/versions/{version}/activate',
      'POST /v1/zones/{zone_id}/policy-sets/versions/{version}/simulate',
      'GET /v1/zones/{zone_id}/sessions',
      'POST /v1/zones/{zone_id}/sessions/{session_id}/revoke',
    ]) {
      expect(paths, expected).toContain(expected);
    }
  });

  it('a zone key gets 403 zone_forbidden on every route of another zone, and the zone is untouched', async () => {
    const head = await t.writ.store.headPosition();
    for (const r of routes) {
      const res = await t.app.inject({ method: r.method as 'GET', url: fill(r.path, victim.zone_id, ids), headers: attacker.key, ...(r.method === 'POST' ? { payload: { name: 'pwn' } } : {}) });
      expectError(res, 403, 'zone_forbidden');
    }
    expect(await t.writ.store.headPosition()).toBe(head);
  });

  it('the same for a zone that does not exist (zone ids cannot be probed)', async () => {
    for (const r of routes) {
      const res = await t.app.inject({ method: r.method as 'GET', url: fill(r.path, 'zone_01nonexistent', ids), headers: attacker.key, ...(r.method === 'POST' ? { payload: {} } : {}) });
      expectError(res, 403, 'zone_forbidden');
    }
  });

  it('without a key every zone route is 401', async () => {
    for (const r of routes) {
      expectError(await t.app.inject({ method: r.method as 'GET', url: fill(r.path, victim.zone_id, ids) }), 401, 'authentication_required');
    }
  });

  it('root may address any zone', async () => {
    for (const r of routes.filter((x) => x.method === 'GET')) {
      const res = await t.app.inject({ method: 'GET', url: fill(r.path, victim.zone_id, ids), headers: t.root });
      expect(res.statusCode, `${r.path}: ${res.body}`).not.toBe(403);
      expect(res.statusCode).toBeLessThan(500);
    }
  });
});
