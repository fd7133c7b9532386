import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type KeyObject } from 'jose';
import type { FastifyInstance } from 'fastify';
import type { TestWrit } from '../support/harness.js';

/**
 * A zone set up through the admin API, with a trusted issuer whose subject tokens the tests sign, and
 * helpers for the calls the audit tests make. Everything goes through `app.inject`, as clients would.
 */
export interface AuditZone {
  zoneId: string;
  issuer: string;
  headers: { authorization: string };
  /** Talk to another instance from now on (same ledger, e.g. after a restart). */
  use(t: TestWrit): void;
  app(name?: string): Promise<{ application_id: string; client_secret: string }>;
  resource(slug: string, scopes: string[]): Promise<{ resource_id: string; identifier: string }>;
  grant(applicationId: string, resourceId: string, scopes: string[], userId?: string): Promise<string>;
  revokeGrant(grantId: string): Promise<void>;
  revokeSession(sessionId: string): Promise<void>;
  token(sub: string, extra?: Record<string, unknown>): Promise<string>;
  exchange(opts: {
    client: { application_id: string; client_secret: string };
    sub: string;
    resource: string;
    scope: string;
    sessionId?: string;
    requestId?: string;
    claims?: Record<string, unknown>;
  }): Promise<{ status: number; body: Record<string, unknown>; requestId: string }>;
}

let counter = 0;

export async function setUpZone(t: TestWrit, name = 'audit'): Promise<AuditZone> {
  let app: FastifyInstance = t.app;
  const root = t.root;
  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, expected = [200, 201]) => {
    const res = await app.inject({ method, url, headers: { ...root, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
    if (!expected.includes(res.statusCode)) throw new Error(`${method} ${url} -> ${res.statusCode} ${res.body}`);
    return res.json() as Record<string, unknown>;
  };
  const zone = await call('POST', '/v1/zones', { name: `${name}-${++counter}` });
  const zoneId = zone.zone_id as string;
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const issuer = `https://idp-${counter}.test`;
  await call('POST', `/v1/zones/${zoneId}/issuers`, { issuer, jwks: { keys: [jwk] } });
  const key: CryptoKey | KeyObject = privateKey;

  const token = (sub: string, extra: Record<string, unknown> = {}) =>
    new SignJWT({ ...extra })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);

  return {
    zoneId,
    issuer,
    headers: root,
    use(next) {
      app = next.app;
    },
    async app(appName = 'app') {
      const a = await call('POST', `/v1/zones/${zoneId}/applications`, { name: appName });
      return { application_id: a.application_id as string, client_secret: a.client_secret as string };
    },
    async resource(slug, scopes) {
      const r = await call('POST', `/v1/zones/${zoneId}/resources`, { identifier: `resource://${slug}`, scopes });
      return { resource_id: r.resource_id as string, identifier: r.identifier as string };
    },
    async grant(applicationId, resourceId, scopes, userId) {
      const g = await call('POST', `/v1/zones/${zoneId}/grants`, { application_id: applicationId, resource_id: resourceId, scopes, ...(userId ? { user_id: userId } : {}) });
      return g.grant_id as string;
    },
    async revokeGrant(grantId) {
      await call('DELETE', `/v1/zones/${zoneId}/grants/${grantId}`);
    },
    async revokeSession(sessionId) {
      await call('POST', `/v1/zones/${zoneId}/sessions/${sessionId}/revoke`, {});
    },
    token,
    async exchange({ client, sub, resource, scope, sessionId, requestId, claims }) {
      const form = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        client_id: client.application_id,
        client_secret: client.client_secret,
        subject_token: await token(sub, claims),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        resource,
        scope,
        ...(sessionId ? { session_id: sessionId } : {}),
      });
      const rid = requestId ?? `req-audit-${++counter}-${Math.random().toString(36).slice(2, 10)}`;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/sts/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': rid },
        payload: form.toString(),
      });
      return { status: res.statusCode, body: res.json() as Record<string, unknown>, requestId: rid };
    },
  };
}
