import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { rotateSigningKeys, SigningKeys } from '../../src/sts/signing-keys.js';
import { exchangeForm, ISSUER, startStsFixture, type StsFixture } from './sts-fixture.js';

let f: StsFixture;
beforeAll(async () => {
  f = await startStsFixture();
});
afterAll(async () => {
  await f?.close();
});

describe('mandate', () => {
  it('is an at+jwt signed with the published key, with the documented claims', async () => {
    const subject = await f.idp.sign({ sub: 'user-1' });
    const actor = await f.idp.sign({ sub: 'agent-42' });
    const res = await f.exchange(
      exchangeForm(subject, { scope: 'payments:read payments:write', actor_token: actor, actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' }),
      { authorization: f.client.basic, 'x-request-id': 'mandate-claims' },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_token_type', 'request_id', 'scope', 'session_id', 'token_type']);
    expect(body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'payments:read payments:write',
      request_id: 'mandate-claims',
    });

    const header = decodeProtectedHeader(body.access_token);
    expect(header).toEqual({ alg: 'ES256', kid: f.keys.signingKey().kid, typ: 'at+jwt' });
    const jwks = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: 'resource://payments', typ: 'at+jwt' });
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: 'user-1',
      aud: 'resource://payments',
      client_id: f.client.applicationId,
      scope: 'payments:read payments:write',
      sid: body.session_id,
      zone_id: f.zoneId,
      policy_version: 1,
      request_id: 'mandate-claims',
      act: { sub: 'agent-42' },
    });
    expect(payload.jti).toMatch(/^jti_/);
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(900);
  });

  it('has no act claim without an actor token', async () => {
    const res = await f.exchange(exchangeForm(await f.idp.sign()));
    const payload = JSON.parse(Buffer.from(res.json().access_token.split('.')[1], 'base64url').toString());
    expect(payload.act).toBeUndefined();
  });
});

describe('well-known documents', () => {
  it('publishes the JWKS: public EC keys only', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const { keys } = res.json();
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) {
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(k.d).toBeUndefined();
    }
    expect(keys[0].kid).toBe(f.keys.signingKey().kid);
  });

  it('serves RFC 8414 metadata', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/v1/sts/token`,
      introspection_endpoint: `${ISSUER}/v1/sts/introspect`,
      revocation_endpoint: `${ISSUER}/v1/sts/revoke`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
  });
});

describe('signing keys', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'writ-keys-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a private key directory and files on first start, and keeps them across restarts', async () => {
    const dir = join(dataDir, 'keys');
    const first = await SigningKeys.open(dir, { watch: false });
    const kid = first.signingKey().kid;
    await first.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = (await readdir(dir)).filter((n) => n.endsWith('.jwk.json'));
    expect(files).toEqual([`${kid}.jwk.json`]);
    expect((await stat(join(dir, files[0]!))).mode & 0o777).toBe(0o600);
    const again = await SigningKeys.open(dir, { watch: false });
    expect(again.signingKey().kid).toBe(kid);
    await again.close();
  });

  it('rotates: a new active key, the old public key still published, its private half erased', async () => {
    const dir = join(dataDir, 'keys');
    const keys = await SigningKeys.open(dir, { watch: false });
    const oldKid = keys.signingKey().kid;
    const newKid = await keys.rotate();
    expect(newKid).not.toBe(oldKid);
    expect(keys.signingKey().kid).toBe(newKid);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    const oldFile = JSON.parse(await readFile(join(dir, `${oldKid}.jwk.json`), 'utf8'));
    expect(oldFile.private_jwk).toBeUndefined();
    expect(oldFile.retired_at).toEqual(expect.any(String));
    await keys.close();
  });

  it('prunes retired keys once every mandate they signed has expired', async () => {
    const dir = join(dataDir, 'prune', 'keys');
    let now = new Date('2030-01-01T00:00:00Z');
    const keys = await SigningKeys.open(dir, { watch: false, now: () => now });
    const oldKid = keys.signingKey().kid;
    await keys.rotate();
    now = new Date(now.getTime() + 900_000); // 15 min: a 900 s mandate may still be alive (skew)
    await keys.reload();
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(oldKid);
    now = new Date(now.getTime() + 61_000);
    await keys.reload();
    expect(keys.jwks().keys.map((k) => k.kid)).not.toContain(oldKid);
    expect((await readdir(dir)).filter((n) => n.startsWith(oldKid))).toEqual([]);
    await keys.close();
  });

  it('rotateSigningKeys (the CLI) rotates a directory a running instance picks up', async () => {
    const keys = await SigningKeys.open(join(dataDir, 'cli', 'keys'));
    const before = keys.signingKey().kid;
    const result = await rotateSigningKeys(join(dataDir, 'cli'));
    expect(result.active_kid).not.toBe(before);
    expect(result.published_kids).toEqual(expect.arrayContaining([before, result.active_kid]));
    // The running instance watches the directory; reload() is what the watcher calls.
    for (let i = 0; i < 100 && keys.signingKey().kid !== result.active_kid; i++) await new Promise((r) => setTimeout(r, 20));
    if (keys.signingKey().kid !== result.active_kid) await keys.reload();
    expect(keys.signingKey().kid).toBe(result.active_kid);
    await keys.close();
  });

  it('mandates signed before a rotation stay valid; new ones use the new key', async () => {
    const before = (await f.exchange(exchangeForm(await f.idp.sign()))).json().access_token;
    const oldKid = f.keys.signingKey().kid;
    await f.keys.rotate();
    const after = (await f.exchange(exchangeForm(await f.idp.sign()))).json().access_token;
    expect(decodeProtectedHeader(after).kid).not.toBe(oldKid);
    for (const token of [before, after]) {
      const res = await f.post('/v1/sts/introspect', { token }, { authorization: f.client.basic });
      expect(res.json().active).toBe(true);
    }
  });
});
