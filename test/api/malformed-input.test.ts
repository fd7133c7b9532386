import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { createZone, directory, expectError, type ZoneFixture } from './helpers.js';

/** Junk thrown at every POST route under /v1/zones (admin and audit): nothing may answer 5xx, and the documented 4xx codes hold. */
describe('malformed input on every POST route', () => {
  let t: TestWrit;
  let zone: ZoneFixture;
  let postRoutes: string[];
  beforeAll(async () => {
    t = await startTestWrit({ ledger: 'memory' });
    zone = await createZone(t);
    const d = await directory(t, zone);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    postRoutes = Object.entries(doc.paths)
      .filter(([path, methods]) => (path === '/v1/zones' || path.startsWith('/v1/zones/{zone_id}')) && 'post' in methods)
      .map(([path]) =>
        path.replace(/\{(\w+)\}/g, (_m, name: string) =>
          name === 'zone_id' ? zone.zone_id : name === 'version' ? '1' : name === 'application_id' ? d.app.application_id : `${name}_x`,
        ),
      );
    expect(postRoutes.length).toBeGreaterThanOrEqual(10);
  });
  afterAll(async () => t?.close());

  const junk: [string, unknown][] = [
    ['an array', [1, 2, 3]],
    ['a string', 'hello'],
    ['a number', 42],
    ['null', null],
    ['wrong field types', { name: 123, identifier: ['x'], scopes: 'a b', application_id: {}, resource_id: 7, issuer: false, jwks: 'k', modules: [], input: 'x', request_id: 5, reason: 9 }],
    ['huge strings', { name: 'x'.repeat(2_000_000), identifier: `resource://${'a'.repeat(100_000)}`, scopes: ['s'.repeat(100_000)], issuer: 'i'.repeat(100_000), request_id: 'r'.repeat(100_000), reason: 'r'.repeat(100_000) }],
    ['many elements', { scopes: Array.from({ length: 100_000 }, (_, i) => `s${i}`), application_id: 'a', resource_id: 'r' }],
    ['deep nesting', JSON.parse('{"input":'.repeat(2000) + '{}' + '}'.repeat(2000))],
    ['unicode and control characters', { name: '\u0000\u202e\ud83d\ude00', identifier: 'resource://\u0000', scopes: ['\u0000'] }],
  ];

  it.each(junk)('%s: 4xx, never 5xx', async (_name, payload) => {
    for (const url of postRoutes) {
      const res = await t.app.inject({ method: 'POST', url, headers: { ...t.root, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
      // Audit POST routes take an all-optional body (null is "no filters"); every admin route needs a real one.
      if (url.includes('/audit/')) continue;
      expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      expect(res.json()).toMatchObject({ error: expect.any(String), request_id: expect.any(String) });
    }
  });

  it('invalid JSON: 400 invalid_request', async () => {
    for (const url of postRoutes) {
      for (const body of ['{"name":', '{name: "x"}', '\u0000', '{"a":1}}']) {
        expectError(await t.app.inject({ method: 'POST', url, headers: { ...t.root, 'content-type': 'application/json' }, payload: body }), 400, 'invalid_request');
      }
    }
  });

  it('prototype pollution attempts are refused', async () => {
    for (const url of postRoutes) {
      const res = await t.app.inject({ method: 'POST', url, headers: { ...t.root, 'content-type': 'application/json' }, payload: '{"__proto__":{"polluted":true},"name":"x"}' });
      expectError(res, 400, 'invalid_request');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a wrong content type: 415 unsupported_media_type', async () => {
    for (const url of postRoutes) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
        expectError(await t.app.inject({ method: 'POST', url, headers: { ...t.root, 'content-type': type }, payload: 'name=x' }), 415, 'unsupported_media_type');
      }
      if (!url.endsWith('/policy-sets/versions')) {
        expectError(await t.app.inject({ method: 'POST', url, headers: { ...t.root, 'content-type': 'application/gzip' }, payload: Buffer.from([0x1f, 0x8b, 0, 0]) }), 415, 'unsupported_media_type');
      }
    }
  });

  it('a body over 10 MB: 413 payload_too_large', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(10 * 1024 * 1024 + 10) });
    for (const url of postRoutes) {
      expectError(await t.app.inject({ method: 'POST', url, headers: { ...t.root, 'content-type': 'application/json' }, payload: big }), 413, 'payload_too_large');
    }
    const gz = Buffer.alloc(10 * 1024 * 1024 + 10, 1);
    const res = await t.app.inject({ method: 'POST', url: `/v1/zones/${zone.zone_id}/policy-sets/versions`, headers: { ...t.root, 'content-type': 'application/gzip' }, payload: gz });
    expectError(res, 413, 'payload_too_large');
  });

  it('malformed path and query parameters: 4xx, never 5xx', async () => {
    const urls = [
      `/v1/zones/${'z'.repeat(5000)}/applications`,
      `/v1/zones/${zone.zone_id}/applications/${encodeURIComponent('../../etc/passwd')}`,
      `/v1/zones/${zone.zone_id}/applications/%00`,
      `/v1/zones/${zone.zone_id}/grants?limit=-1`,
      `/v1/zones/${zone.zone_id}/grants?limit=1e9`,
      `/v1/zones/${zone.zone_id}/grants?limit=2.5`,
      `/v1/zones/${zone.zone_id}/grants?status=active&status=revoked`,
      `/v1/zones/${zone.zone_id}/grants?limit=1&limit=2`,
      `/v1/zones/${zone.zone_id}/grants?application_id=${'a'.repeat(1000)}`,
      `/v1/zones/${zone.zone_id}/grants?cursor=${'%FF'.repeat(10)}`,
      `/v1/zones/${zone.zone_id}/sessions?subject=${'s'.repeat(10_000)}`,
      `/v1/zones/${zone.zone_id}/grants/${'g'.repeat(200)}`,
    ];
    for (const url of urls) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.root });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    for (const version of ['-1', '0', 'abc', '1.5', '99999999999999999999']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/zones/${zone.zone_id}/policy-sets/versions/${version}/activate`, headers: t.root });
      expectError(res, 400, 'invalid_request');
    }
  });
});
