import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startTestWrit, type TestWrit } from '../support/harness.js';

/**
 * The STS inside the complete runtime (src/main.ts wiring, SQLite ledger, admin API, every plugin) through
 * the lead's harness: seeded over the admin API, exchanged, introspected, revoked, and still working after a
 * restart on the same data directory (keys and ledger kept).
 */
let t: TestWrit;
let dataDir: string;
const seed: { zone: string; app: string; secret: string; sign: (sub: string) => Promise<string> } = { zone: '', app: '', secret: '', sign: async () => '' };

const basic = () => `Basic ${Buffer.from(`${seed.app}:${seed.secret}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const token = (subjectToken: string, extra: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/sts/token',
    headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      resource: 'resource://payments',
      scope: 'payments:read',
      ...extra,
    }),
  });
const oauth = (url: string, fields: Record<string, string>) =>
  t.app.inject({ method: 'POST', url, headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' }, payload: form(fields) });

beforeAll(async () => {
  t = await startTestWrit({ ledger: 'sqlite' });
  dataDir = t.dataDir;
  const admin = async (url: string, payload: unknown) => {
    const res = await t.app.inject({ method: 'POST', url, headers: t.root, payload: payload as object });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' };
  seed.zone = (await admin('/v1/zones', { name: 'runtime' })).zone_id;
  await admin(`/v1/zones/${seed.zone}/issuers`, { issuer: 'https://idp.runtime.test', jwks: { keys: [jwk] } });
  const app = await admin(`/v1/zones/${seed.zone}/applications`, { name: 'billing' });
  seed.app = app.application_id;
  seed.secret = app.client_secret;
  const resource = await admin(`/v1/zones/${seed.zone}/resources`, { identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] });
  await admin(`/v1/zones/${seed.zone}/grants`, { application_id: seed.app, resource_id: resource.resource_id, scopes: ['payments:read'] });
  seed.sign = (sub) =>
    new SignJWT({ iss: 'https://idp.runtime.test', sub, exp: Math.floor(Date.now() / 1000) + 300 }).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).sign(privateKey);
}, 60_000);

afterAll(async () => {
  await t?.close();
  // The restarted instance was given the directory, so its close() leaves it: remove it here.
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('STS in the full runtime', () => {
  it('exchanges, introspects, revokes; the admin session list and the audit trace agree', async () => {
    const res = await token(await seed.sign('alice'), {});
    expect(res.statusCode, res.body).toBe(200);
    const { access_token, session_id, request_id } = res.json();
    expect(res.headers['x-request-id']).toBe(request_id);

    const active = await oauth('/v1/sts/introspect', { token: access_token });
    expect(active.json()).toMatchObject({ active: true, sid: session_id, sub: 'alice' });

    const trace = await t.app.inject({ method: 'GET', url: `/v1/zones/${seed.zone}/audit/decisions/${request_id}`, headers: t.root });
    expect(trace.statusCode, trace.body).toBe(200);
    expect(trace.json()).toMatchObject({ decision: 'allow', session_id, granted_scopes: ['payments:read'] });

    expect((await oauth('/v1/sts/revoke', { token: access_token })).statusCode).toBe(200);
    expect((await oauth('/v1/sts/introspect', { token: access_token })).json()).toEqual({ active: false });
    const sessions = await t.app.inject({ method: 'GET', url: `/v1/zones/${seed.zone}/sessions?status=revoked`, headers: t.root });
    expect(sessions.json().items.map((s: { session_id: string }) => s.session_id)).toContain(session_id);

    const denied = await token(await seed.sign('alice'), { session_id });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().details.diagnostics[0].reason).toBe('session_revoked');
  });

  it('explains a recorded denial with a matching input digest', async () => {
    const res = await token(await seed.sign('bob'), { scope: 'payments:write' });
    expect(res.statusCode).toBe(403);
    const explain = await t.app.inject({ method: 'GET', url: `/v1/zones/${seed.zone}/audit/decisions/${res.json().request_id}/explain`, headers: t.root });
    expect(explain.statusCode, explain.body).toBe(200);
    expect(explain.json()).toMatchObject({ final_decision: 'deny', input_digest_matches: true, reevaluation: { decision: 'deny', matches_recorded: true } });
  });

  it('serves the JWKS and metadata, and keeps its keys across a restart', async () => {
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const meta = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
    expect(meta.token_endpoint).toBe('http://writ.test/v1/sts/token');
    const before = await token(await seed.sign('carol'));
    expect(before.statusCode).toBe(200);

    await t.app.close();
    await t.writ.close();
    t = await startTestWrit({ ledger: 'sqlite', dataDir });
    const after = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    expect(after.keys.map((k: { kid: string }) => k.kid)).toEqual(jwks.keys.map((k: { kid: string }) => k.kid));
    const intro = await oauth('/v1/sts/introspect', { token: before.json().access_token });
    expect(intro.json().active).toBe(true);
  });
});
