import { gzipSync } from 'node:zlib';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { gunzipBundle, readTar } from '../../src/policy/opa-bundle.js';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import type { TestWrit } from '../support/harness.js';

/** Headers for an admin key. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** JSON body of a response, asserting the status first (with the body in the failure message). */
export function expectStatus(res: LightMyRequestResponse, status: number): any {
  expect(res.statusCode, `${res.statusCode} ${res.body.slice(0, 500)}`).toBe(status);
  return res.body === '' ? undefined : res.headers['content-type']?.toString().includes('json') ? res.json() : res.body;
}

/** Assert writ's error shape and code. */
export function expectError(res: LightMyRequestResponse, status: number, code: string): any {
  const body = expectStatus(res, status);
  expect(body).toMatchObject({ error: code, error_description: expect.any(String), request_id: expect.any(String), details: expect.any(Object) });
  expect(res.headers['x-request-id']).toBe(body.request_id);
  return body;
}

export interface ZoneFixture {
  zone_id: string;
  /** Authorization header of a zone admin key. */
  key: { authorization: string };
  key_id: string;
}

/** A zone (created with root) and an admin key for it. */
export async function createZone(t: TestWrit, name = 'zone'): Promise<ZoneFixture> {
  const zone = expectStatus(await t.app.inject({ method: 'POST', url: '/v1/zones', headers: t.root, payload: { name } }), 201);
  const key = expectStatus(await t.app.inject({ method: 'POST', url: `/v1/zones/${zone.zone_id}/admin-keys`, headers: t.root, payload: { name: 'ops' } }), 201);
  return { zone_id: zone.zone_id, key: bearer(key.token), key_id: key.key_id };
}

export async function post(app: FastifyInstance, url: string, headers: Record<string, string>, payload?: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

export async function get(app: FastifyInstance, url: string, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers });
}

/** Application + resource + grant in a zone. */
export async function directory(t: TestWrit, zone: ZoneFixture, opts: { scopes?: string[]; slug?: string } = {}) {
  const scopes = opts.scopes ?? ['payments:read', 'payments:write'];
  const base = `/v1/zones/${zone.zone_id}`;
  const app = expectStatus(await post(t.app, `${base}/applications`, zone.key, { name: 'billing' }), 201);
  const resource = expectStatus(await post(t.app, `${base}/resources`, zone.key, { identifier: `resource://${opts.slug ?? 'payments'}`, scopes }), 201);
  const grant = expectStatus(await post(t.app, `${base}/grants`, zone.key, { application_id: app.application_id, resource_id: resource.resource_id, scopes }), 201);
  return { app, resource, grant };
}

/** A subject-token issuer: a key pair whose public JWKS a zone can trust. */
export interface TestIssuer {
  iss: string;
  jwks: { keys: Record<string, unknown>[] };
  privateKey: CryptoKey;
  sign(claims: Record<string, unknown>): Promise<string>;
}

export async function makeIssuer(iss = 'https://idp.example.test'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  return {
    iss,
    jwks: { keys: [jwk] },
    privateKey,
    sign: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
        .setIssuer(iss)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey),
  };
}

/**
 * A full zone set up for token exchange (issuer, application, resource, grant) and one allowed exchange,
 * which records a decision and opens a session. Depends on the STS routes.
 */
export async function exchangeFixture(t: TestWrit, zone: ZoneFixture) {
  const issuer = await makeIssuer();
  expectStatus(await post(t.app, `/v1/zones/${zone.zone_id}/issuers`, zone.key, { issuer: issuer.iss, jwks: issuer.jwks }), 201);
  const d = await directory(t, zone);
  const subjectToken = await issuer.sign({ sub: 'user-alice' });
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/sts/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: d.app.application_id,
      client_secret: d.app.client_secret,
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      resource: d.resource.identifier,
      scope: 'payments:read',
    }).toString(),
  });
  const token = expectStatus(res, 200);
  return { ...d, issuer, token, session_id: token.session_id as string, request_id: token.request_id as string };
}

/**
 * A valid bundle with a digest of its own: the default bundle with another manifest revision (same wasm), so
 * tests can upload "new" bundles without the opa CLI.
 */
export async function bundleWithRevision(revision: string): Promise<Buffer> {
  const entries = readTar(gunzipBundle(await loadDefaultBundle()));
  const files = entries.map((e) => {
    if (e.path !== '.manifest') return e;
    const manifest = JSON.parse(Buffer.from(e.content).toString('utf8'));
    return { path: e.path, content: new Uint8Array(Buffer.from(JSON.stringify({ ...manifest, revision }))) };
  });
  return gzipSync(writeTar(files));
}

/** A minimal ustar writer (regular files only). */
export function writeTar(files: { path: string; content: Uint8Array }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const header = Buffer.alloc(512, 0);
    header.write(`/${f.path}`, 0, 100, 'utf8');
    header.write('0000600\0', 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(f.content.byteLength.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
    header.write('00000000000\0', 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    blocks.push(header, Buffer.from(f.content), Buffer.alloc((512 - (f.content.byteLength % 512)) % 512, 0));
  }
  blocks.push(Buffer.alloc(1024, 0));
  return Buffer.concat(blocks);
}

/** A policy input document for simulate. */
export function policyInput(zoneId: string, opts: { granted?: string[]; requested?: string[] } = {}) {
  return {
    schema_version: '1',
    zone_id: zoneId,
    request_id: 'req_sim',
    application: { id: 'app_1', name: 'billing' },
    subject: { id: 'user-alice', type: 'user', claims: {} },
    actor: null,
    resource: { id: 'res_1', identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] },
    requested_scopes: opts.requested ?? ['payments:read'],
    grants: [{ grant_id: 'grt_1', scopes: opts.granted ?? ['payments:read'], user_id: null }],
    session: { id: 'ses_1', status: 'active', started_at: '2025-01-01T00:00:00.000Z' },
    context: { time: '2025-01-01T00:00:00.000Z' },
  };
}
