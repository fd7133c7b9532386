import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { createZone, expectError, expectStatus, get } from './helpers.js';

describe('conventions', () => {
  let t: TestWrit;
  beforeAll(async () => {
    t = await startTestWrit({ ledger: 'memory' });
  });
  afterAll(async () => t?.close());

  it('every response carries a generated X-Request-ID', async () => {
    for (const url of ['/v1/health', '/v1/auth/whoami', '/nope']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-z]{26}$/);
    }
  });

  it('an inbound X-Request-ID is honoured when it matches the grammar', async () => {
    for (const id of ['abc', 'trace-1.2:3_4', 'A'.repeat(128)]) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/auth/whoami', headers: { 'x-request-id': id } });
      expect(res.headers['x-request-id']).toBe(id);
      expect(res.json().request_id).toBe(id);
    }
  });

  it('an inbound X-Request-ID outside the grammar is replaced', async () => {
    for (const id of ['has space', 'A'.repeat(129), 'semi;colon', '<script>', 'ü']) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/health', headers: { 'x-request-id': id } });
      expect(res.headers['x-request-id']).toMatch(/^req_/);
    }
  });

  it('errors have the one shape, with the request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/no-such-route', headers: { 'x-request-id': 'probe-1' } });
    expect(expectError(res, 404, 'not_found').request_id).toBe('probe-1');
  });

  it('/openapi.json documents the admin and health paths with their error responses', async () => {
    const doc = expectStatus(await get(t.app, '/openapi.json', {}), 200);
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/auth/whoami',
      '/v1/zones',
      '/v1/zones/{zone_id}/admin-keys',
      '/v1/zones/{zone_id}/issuers',
      '/v1/zones/{zone_id}/applications',
      '/v1/zones/{zone_id}/applications/{application_id}',
      '/v1/zones/{zone_id}/resources',
      '/v1/zones/{zone_id}/resources/{resource_id}',
      '/v1/zones/{zone_id}/grants',
      '/v1/zones/{zone_id}/grants/{grant_id}',
      '/v1/zones/{zone_id}/policy-sets',
      '/v1/zones/{zone_id}/policy-sets/versions',
      '/v1/zones/{zone_id}/policy-sets/versions/{version}/activate',
      '/v1/zones/{zone_id}/policy-sets/versions/{version}/simulate',
      '/v1/zones/{zone_id}/sessions',
      '/v1/zones/{zone_id}/sessions/{session_id}/revoke',
      '/v1/health',
      '/v1/health/ready',
      '/v1/health/detailed',
    ]) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    const createGrant = doc.paths['/v1/zones/{zone_id}/grants'].post;
    expect(Object.keys(createGrant.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404']));
    expect(createGrant.requestBody.content['application/json'].schema.properties).toHaveProperty('application_id');
    const err = createGrant.responses['404'].content['application/json'].schema;
    expect(err.required).toEqual(expect.arrayContaining(['error', 'error_description', 'request_id', 'details']));
    const upload = doc.paths['/v1/zones/{zone_id}/policy-sets/versions'].post;
    expect(Object.keys(upload.responses)).toEqual(expect.arrayContaining(['201', '422', '501']));
    expect(Object.keys(upload.requestBody.content)).toEqual(expect.arrayContaining(['application/json', 'application/gzip']));
    expect(upload.requestBody.content['application/json'].schema.properties).toHaveProperty('modules');
  });

  it('read-your-writes: a GET right after a POST sees the write', async () => {
    const zone = await createZone(t);
    for (let i = 0; i < 20; i++) {
      const app = expectStatus(await t.app.inject({ method: 'POST', url: `/v1/zones/${zone.zone_id}/applications`, headers: zone.key, payload: { name: `app-${i}` } }), 201);
      expectStatus(await get(t.app, `/v1/zones/${zone.zone_id}/applications/${app.application_id}`, zone.key), 200);
    }
    expect(expectStatus(await get(t.app, `/v1/zones/${zone.zone_id}/applications`, zone.key), 200).items).toHaveLength(20);
  });
});
