import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { subjectTypeOf } from '../../src/sts/subject-token-verifier.js';
import { exchangeForm, newIdentityProvider, startStsFixture, SUBJECT_ISSUER, type StsFixture } from './sts-fixture.js';

/**
 * The classic JWT attacks against the subject token. Each must be refused with 401 invalid_token and the
 * right details.reason, and none may leave a decision in the ledger (a refused token is not a decision).
 */
let f: StsFixture;
beforeAll(async () => {
  f = await startStsFixture();
});
afterAll(async () => {
  await f?.close();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

async function expectRejected(token: string, reason: string, extra: Record<string, string> = {}) {
  const requestId = `attack-${reason}-${Math.random().toString(36).slice(2)}`;
  const res = await f.exchange(exchangeForm(token, extra), { authorization: f.client.basic, 'x-request-id': requestId });
  expect(res.statusCode, res.body).toBe(401);
  const body = res.json();
  expect(body.error).toBe('invalid_token');
  expect(body.details.reason).toBe(reason);
  expect(body.request_id).toBe(requestId);
  expect(body.access_token).toBeUndefined();
  expect(res.headers['www-authenticate']).toMatch(/invalid_token/);
  const recorded = [];
  for await (const e of f.store.readStream(`decision-${requestId}`)) recorded.push(e);
  expect(recorded).toHaveLength(0);
  return body;
}

describe('subject token attacks', () => {
  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: SUBJECT_ISSUER, sub: 'user-1', exp: nowSec() + 300 })}.`;
    await expectRejected(token, 'signature_invalid');
  });

  it('refuses alg none with a kid that names the trusted key', async () => {
    const token = `${b64({ alg: 'none', kid: f.idp.kid })}.${b64({ iss: SUBJECT_ISSUER, sub: 'user-1', exp: nowSec() + 300 })}.`;
    await expectRejected(token, 'signature_invalid');
  });

  it('refuses HS256 keyed with the issuer public JWK (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(f.idp.publicJwk));
    const token = await new SignJWT({ iss: SUBJECT_ISSUER, sub: 'user-1', exp: nowSec() + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: f.idp.kid })
      .sign(secret);
    await expectRejected(token, 'signature_invalid');
  });

  it('refuses HS256 keyed with the raw public key coordinates', async () => {
    const secret = Buffer.from(String(f.idp.publicJwk.x), 'base64url');
    const token = await new SignJWT({ iss: SUBJECT_ISSUER, sub: 'user-1', exp: nowSec() + 300 }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    await expectRejected(token, 'signature_invalid');
  });

  it('refuses an expired token (beyond the 60 s tolerance)', async () => {
    await expectRejected(await f.idp.sign({ iat: nowSec() - 600, exp: nowSec() - 61 }), 'token_expired');
  });

  it('accepts a token expired within the 60 s clock tolerance', async () => {
    const res = await f.exchange(exchangeForm(await f.idp.sign({ iat: nowSec() - 600, exp: nowSec() - 30 })));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('refuses a token that is not yet valid (nbf)', async () => {
    await expectRejected(await f.idp.sign({ nbf: nowSec() + 600 }), 'token_not_yet_valid');
  });

  it('refuses a token issued in the future (iat)', async () => {
    await expectRejected(await f.idp.sign({ iat: nowSec() + 600, exp: nowSec() + 900 }), 'token_not_yet_valid');
  });

  it('refuses an untrusted issuer', async () => {
    const evil = await newIdentityProvider('https://evil.example');
    await expectRejected(await evil.sign(), 'issuer_untrusted');
  });

  it('refuses an issuer trusted by another zone only', async () => {
    const otherZone = await f.addZone('other');
    const otherIdp = await newIdentityProvider('https://other-zone-idp.example');
    await f.addIssuer(otherZone, otherIdp);
    await expectRejected(await otherIdp.sign(), 'issuer_untrusted');
  });

  it('refuses a trusted issuer name signed by a foreign key with the trusted kid', async () => {
    const foreign = await newIdentityProvider(SUBJECT_ISSUER);
    await expectRejected(await foreign.sign({}, { kid: f.idp.kid }), 'signature_invalid');
  });

  it('refuses a trusted issuer name signed by a foreign key without kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ iss: SUBJECT_ISSUER, sub: 'user-1', exp: nowSec() + 300 }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    await expectRejected(token, 'signature_invalid');
  });

  it('refuses an unknown kid', async () => {
    await expectRejected(await f.idp.sign({}, { kid: 'no-such-kid' }), 'unknown_kid');
  });

  it('refuses a tampered payload', async () => {
    const token = await f.idp.sign({ sub: 'user-1' });
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64({ iss: SUBJECT_ISSUER, sub: 'admin', exp: nowSec() + 300 })}.${s}`;
    await expectRejected(forged, 'signature_invalid');
  });

  it('refuses a tampered header (alg swapped to another accepted algorithm)', async () => {
    const token = await f.idp.sign();
    const [, p, s] = token.split('.');
    await expectRejected(`${b64({ alg: 'ES384', kid: f.idp.kid })}.${p}.${s}`, 'unknown_kid');
  });

  it('refuses a token without sub or exp', async () => {
    await expectRejected(await f.idp.sign({ sub: undefined }), 'claim_missing');
    const noExp = await new SignJWT({ iss: SUBJECT_ISSUER, sub: 'user-1' }).setProtectedHeader({ alg: 'ES256', kid: f.idp.kid }).sign(f.idp.privateKey);
    await expectRejected(noExp, 'claim_missing');
  });

  it('refuses garbage', async () => {
    await expectRejected('not-a-jwt', 'malformed');
    await expectRejected('a.b.c', 'malformed');
  });

  it('checks the audience when the issuer is configured with one', async () => {
    const aud = await newIdentityProvider('https://aud-idp.example');
    await f.addIssuer(f.zoneId, aud, 'writ-sts');
    await expectRejected(await aud.sign({ aud: 'someone-else' }), 'audience_mismatch');
    await expectRejected(await aud.sign(), 'claim_missing');
    const ok = await f.exchange(exchangeForm(await aud.sign({ aud: 'writ-sts' })));
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('accepts RS256 tokens from an RSA issuer', async () => {
    const rsa = await newIdentityProvider('https://rsa-idp.example', 'RS256');
    await f.addIssuer(f.zoneId, rsa);
    const res = await f.exchange(exchangeForm(await rsa.sign()));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('applies the same checks to the actor token', async () => {
    const subject = await f.idp.sign();
    const actor = await f.idp.sign({ sub: 'agent-7', exp: nowSec() - 120, iat: nowSec() - 600 });
    const body = await expectRejected(subject, 'token_expired', { actor_token: actor, actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' });
    expect(body.details.token).toBe('actor_token');
  });

  it('never keeps the token itself in the verification cache key', async () => {
    const { VerifiedTokenCache } = await import('../../src/sts/verified-token-cache.js');
    const token = await f.idp.sign();
    const key = VerifiedTokenCache.keyOf(f.zoneId, token);
    expect(key).not.toContain(token.slice(0, 20));
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('stops honouring a cached token once its issuer is no longer trusted', async () => {
    const temp = await newIdentityProvider('https://temporary-idp.example');
    const issuerId = await f.addIssuer(f.zoneId, temp);
    const token = await temp.sign();
    expect((await f.exchange(exchangeForm(token))).statusCode).toBe(200);
    const { makeEvent } = await import('../../src/domain/events.js');
    await f.append(`zone-${f.zoneId}`, [makeEvent('TrustedIssuerRemoved', { zone_id: f.zoneId, issuer_id: issuerId, removed_at: new Date().toISOString() })]);
    await expectRejected(token, 'issuer_untrusted');
  });
});

describe('subject type rule', () => {
  it('is application when client_id or azp equals sub, user otherwise', () => {
    expect(subjectTypeOf({ sub: 'svc-1', client_id: 'svc-1' })).toBe('application');
    expect(subjectTypeOf({ sub: 'svc-1', azp: 'svc-1' })).toBe('application');
    expect(subjectTypeOf({ sub: 'alice', client_id: 'web-app' })).toBe('user');
    expect(subjectTypeOf({ sub: 'alice', azp: 'web-app' })).toBe('user');
    expect(subjectTypeOf({ sub: 'alice', subject_type: 'application' })).toBe('user');
    expect(subjectTypeOf({ sub: 'alice' })).toBe('user');
  });

  it('matches per-user grants only for user subjects', async () => {
    const res2 = await f.addResource(f.zoneId, 'resource://ledger', ['ledger:read']);
    await f.addGrant(f.zoneId, f.client.applicationId, res2, ['ledger:read'], 'alice');
    const form = (t: string) => exchangeForm(t, { resource: 'resource://ledger', scope: 'ledger:read' });
    expect((await f.exchange(form(await f.idp.sign({ sub: 'alice' })))).statusCode).toBe(200);
    expect((await f.exchange(form(await f.idp.sign({ sub: 'bob' })))).statusCode).toBe(403);
    // A workload whose sub happens to be "alice" is an application: per-user grants do not apply to it.
    const app = await f.exchange(form(await f.idp.sign({ sub: 'alice', client_id: 'alice' })));
    expect(app.statusCode).toBe(403);
    expect(app.json().details.diagnostics[0].reason).toBe('resource_not_granted');
  });

  it('records the subject type on the decision and the session', async () => {
    const res = await f.exchange(exchangeForm(await f.idp.sign({ sub: 'svc-9', azp: 'svc-9' })), {
      authorization: f.client.basic,
      'x-request-id': 'subject-type-app',
    });
    // The seeded grant is for any user (user_id null), which an application subject also gets.
    expect(res.statusCode, res.body).toBe(200);
    const decision = [];
    for await (const e of f.store.readStream('decision-subject-type-app')) decision.push(e);
    expect(decision[0]!.data).toMatchObject({ subject_id: 'svc-9', subject_type: 'application' });
    const session = [];
    for await (const e of f.store.readStream(`session-${res.json().session_id}`)) session.push(e);
    expect(session[0]!.data).toMatchObject({ subject_id: 'svc-9', subject_type: 'application' });
  });
});
