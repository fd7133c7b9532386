import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startWritProcess, type WritProcess } from '../support/writ-process.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';

/**
 * Scale-out on one machine: two real writ processes share one SQLite ledger file (WAL allows several
 * processes), one signing-keys folder and one Redis, each with its own data dir (projection checkpoints).
 * Writes through either instance become visible on the other; exchanges on both are recorded once each; a
 * revocation on one takes effect on the other within 1 s.
 */

const ISSUER = 'https://idp.two-instances.test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

let redis: RedisHandle;
let shared: string;
let a: WritProcess;
let b: WritProcess;
let signKey: CryptoKey;
let zone: string;
let app: { application_id: string; client_secret: string };

async function call(base: string, method: string, path: string, opts: { auth?: string; json?: unknown; form?: Record<string, string>; requestId?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.auth) headers.authorization = opts.auth;
  if (opts.requestId) headers['x-request-id'] = opts.requestId;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Poll until `fn` returns a value (the other instance's projections catch up from the shared file). */
async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 5000): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return { value: v, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const basic = () => `Basic ${Buffer.from(`${app.application_id}:${app.client_secret}`).toString('base64')}`;
const root = () => `Bearer ${a.adminToken}`;

async function subjectToken(sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(signKey);
}

async function exchange(base: string, requestId: string, sub = 'alice') {
  return call(base, 'POST', '/v1/sts/token', {
    auth: basic(),
    requestId,
    form: { grant_type: TOKEN_EXCHANGE, subject_token: await subjectToken(sub), subject_token_type: JWT_TYPE, resource: 'resource://ledger', scope: 'ledger:read' },
  });
}

beforeAll(async () => {
  redis = await startRedis();
  shared = await mkdtemp(join(tmpdir(), 'writ-shared-'));
  const env = {
    WRIT_EVENTSTORE: `sqlite:${join(shared, 'ledger.db')}`,
    WRIT_KEYS_DIR: join(shared, 'keys'),
    WRIT_REDIS_URL: redis.url,
    WRIT_ADMIN_TOKEN: 'two-instances-root-token-0123456789',
    WRIT_ISSUER: 'http://writ.two-instances.test',
  };
  // A first, so it creates the signing keys that B then loads.
  a = await startWritProcess({ env });
  b = await startWritProcess({ env });

  const pair = await generateKeyPair('ES256');
  signKey = pair.privateKey as CryptoKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };

  zone = (await call(a.url, 'POST', '/v1/zones', { auth: root(), json: { name: 'two' } })).body.zone_id;
  expect((await call(a.url, 'POST', `/v1/zones/${zone}/issuers`, { auth: root(), json: { issuer: ISSUER, jwks: { keys: [jwk] } } })).status).toBe(201);
  app = (await call(a.url, 'POST', `/v1/zones/${zone}/applications`, { auth: root(), json: { name: 'svc' } })).body;
  // The resource and the grant are written through B: writes through either instance count.
  await eventually(async () => ((await call(b.url, 'GET', `/v1/zones/${zone}/applications/${app.application_id}`, { auth: root() })).status === 200 ? true : undefined));
  const res = (await call(b.url, 'POST', `/v1/zones/${zone}/resources`, { auth: root(), json: { identifier: 'resource://ledger', scopes: ['ledger:read', 'ledger:write'] } })).body;
  expect((await call(b.url, 'POST', `/v1/zones/${zone}/grants`, { auth: root(), json: { application_id: app.application_id, resource_id: res.resource_id, scopes: ['ledger:read'] } })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await a?.cleanup();
  await b?.cleanup();
  await redis?.stop();
  if (shared) await rm(shared, { recursive: true, force: true });
});

describe('two writ instances on one ledger file and one Redis', () => {
  it('writes through either instance are visible on the other', async () => {
    const grantsOnA = await eventually(async () => {
      const l = (await call(a.url, 'GET', `/v1/zones/${zone}/grants`, { auth: root() })).body;
      return l.items.length === 1 ? l.items : undefined;
    });
    expect(grantsOnA.value[0].scopes).toEqual(['ledger:read']);
    const zonesOnB = (await call(b.url, 'GET', '/v1/zones', { auth: root() })).body.items.map((z: { zone_id: string }) => z.zone_id);
    expect(zonesOnB).toContain(zone);
  });

  it('exchanges on both instances are recorded once each, and a request id cannot be used on both', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `two-${i}-${Date.now()}`);
    const results = await Promise.all(ids.map((id, i) => exchange(i % 2 === 0 ? a.url : b.url, id)));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 200));
    for (const [i, id] of ids.entries()) {
      const traceA = await eventually(async () => {
        const t = await call(a.url, 'GET', `/v1/zones/${zone}/audit/decisions/${id}`, { auth: root() });
        return t.status === 200 ? t.body : undefined;
      });
      const traceB = (await call(b.url, 'GET', `/v1/zones/${zone}/audit/decisions/${id}`, { auth: root() })).body;
      expect(traceA.value.position).toBe(traceB.position);
      expect(traceA.value.mandate.jti).toBe(JSON.parse(Buffer.from(results[i]!.body.access_token.split('.')[1], 'base64url').toString()).jti);
    }
    const listed = await eventually(async () => {
      const l = (await call(b.url, 'GET', `/v1/zones/${zone}/audit/decisions?limit=1000`, { auth: root() })).body;
      const mine = l.items.filter((d: { request_id: string }) => ids.includes(d.request_id));
      return mine.length === ids.length ? mine : undefined;
    });
    expect(new Set(listed.value.map((d: { request_id: string }) => d.request_id)).size).toBe(ids.length);

    // The same request id sent to both at once: exactly one decision, the other gets 409.
    const dup = `dup-${Date.now()}`;
    const [r1, r2] = await Promise.all([exchange(a.url, dup), exchange(b.url, dup)]);
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    expect((r1.status === 409 ? r1 : r2).body.error).toBe('duplicate_request_id');
  });

  it('a revocation on one instance takes effect on the other within 1 s', async () => {
    const issued = await exchange(a.url, `rev-${Date.now()}`, 'bob');
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    const introspect = (base: string) => call(base, 'POST', '/v1/sts/introspect', { auth: basic(), form: { token } });
    expect((await eventually(async () => ((await introspect(b.url)).body.active === true ? true : undefined))).value).toBe(true);

    // Revoked on B (RFC 7009), checked on A.
    expect((await call(b.url, 'POST', '/v1/sts/revoke', { auth: basic(), form: { token } })).status).toBe(200);
    const seen = await eventually(async () => ((await introspect(a.url)).body.active === false ? true : undefined), 1000);
    expect(seen.ms).toBeLessThanOrEqual(1000);

    // And the session is refused on A for further exchanges (recorded as a deny).
    const again = await call(a.url, 'POST', '/v1/sts/token', {
      auth: basic(),
      form: { grant_type: TOKEN_EXCHANGE, subject_token: await subjectToken('bob'), subject_token_type: JWT_TYPE, resource: 'resource://ledger', scope: 'ledger:read', session_id: issued.body.session_id },
    });
    expect(again.status).toBe(403);
    expect(again.body.details.diagnostics.map((d: { reason: string }) => d.reason)).toContain('session_revoked');
  });
});
