import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { exchangeForm, ISSUER, startStsFixture, type SeededClient, type StsFixture } from './sts-fixture.js';

/** RFC 7662 introspection, RFC 7009 revocation, and what a revoked session does to later exchanges. */
let f: StsFixture;
beforeAll(async () => {
  f = await startStsFixture();
});
afterAll(async () => {
  await f?.close();
});

async function issue(extra: Record<string, string> = {}, sub = 'user-1', client: SeededClient = f.client) {
  const res = await f.exchange(exchangeForm(await f.idp.sign({ sub }), extra), { authorization: client.basic });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { access_token: string; session_id: string; request_id: string; scope: string };
}
const introspect = (token: string, client: SeededClient = f.client) => f.post('/v1/sts/introspect', { token }, { authorization: client.basic });
const revoke = (token: string, client: SeededClient = f.client) => f.post('/v1/sts/revoke', { token }, { authorization: client.basic });

async function streamEvents(stream: string) {
  const out = [];
  for await (const e of f.store.readStream(stream)) out.push(e);
  return out;
}

describe('introspection', () => {
  it('describes an active mandate', async () => {
    const m = await issue();
    const res = await introspect(m.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({
      active: true,
      scope: 'payments:read',
      client_id: f.client.applicationId,
      sub: 'user-1',
      aud: 'resource://payments',
      sid: m.session_id,
      zone_id: f.zoneId,
      token_type: 'Bearer',
    });
    const body = res.json();
    expect(body.exp - body.iat).toBe(300);
    expect(body.jti).toMatch(/^jti_/);
  });

  it('requires client authentication', async () => {
    const m = await issue();
    const none = await f.post('/v1/sts/introspect', { token: m.access_token });
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toBe('invalid_client');
    const bad = await f.post('/v1/sts/introspect', { token: m.access_token }, { authorization: `Basic ${Buffer.from(`${f.client.applicationId}:nope`).toString('base64')}` });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error).toBe('invalid_client');
    const post = await f.post('/v1/sts/introspect', { token: m.access_token, client_id: f.client.applicationId, client_secret: f.client.secret });
    expect(post.json().active).toBe(true);
  });

  it('400 invalid_request without a token', async () => {
    const res = await f.post('/v1/sts/introspect', {}, { authorization: f.client.basic });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_request');
  });

  it('lets another client of the same zone introspect (a resource server), but not another zone\'s client', async () => {
    const m = await issue();
    const sameZone = await f.addClient(f.zoneId, 'resource-server');
    expect((await introspect(m.access_token, sameZone)).json().active).toBe(true);
    const otherZone = await f.addZone('other');
    const stranger = await f.addClient(otherZone, 'stranger');
    expect((await introspect(m.access_token, stranger)).json()).toEqual({ active: false });
  });

  it('is inactive for garbage, tampered, foreign-signed, expired or unrecorded mandates', async () => {
    const m = await issue();
    expect((await introspect('garbage')).json()).toEqual({ active: false });
    const [h, p, s] = m.access_token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, scope: 'payments:admin' })).toString('base64url')}.${s}`;
    expect((await introspect(tampered)).json()).toEqual({ active: false });
    // Signed with a key that is not ours but with our kid.
    const foreign = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: f.keys.signingKey().kid, typ: 'at+jwt' }).sign(f.idp.privateKey);
    expect((await introspect(foreign)).json()).toEqual({ active: false });
    // Validly signed by our key, but no recorded decision issued this jti.
    const now = Math.floor(Date.now() / 1000);
    const unrecorded = await new SignJWT({ ...payload, jti: 'jti_never_recorded' }).setProtectedHeader({ alg: 'ES256', kid: f.keys.signingKey().kid, typ: 'at+jwt' }).sign(f.keys.signingKey().privateKey);
    expect((await introspect(unrecorded)).json()).toEqual({ active: false });
    const expired = await new SignJWT({ ...payload, iat: now - 1000, exp: now - 10 }).setProtectedHeader({ alg: 'ES256', kid: f.keys.signingKey().kid, typ: 'at+jwt' }).sign(f.keys.signingKey().privateKey);
    expect((await introspect(expired)).json()).toEqual({ active: false });
    const wrongTyp = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: f.keys.signingKey().kid, typ: 'JWT' }).sign(f.keys.signingKey().privateKey);
    expect((await introspect(wrongTyp)).json()).toEqual({ active: false });
    const wrongIss = await new SignJWT({ ...payload, iss: 'https://not-writ.example' }).setProtectedHeader({ alg: 'ES256', kid: f.keys.signingKey().kid, typ: 'at+jwt' }).sign(f.keys.signingKey().privateKey);
    expect((await introspect(wrongIss)).json()).toEqual({ active: false });
    expect(payload.iss).toBe(ISSUER);
  });
});

describe('revocation', () => {
  it('revokes the mandate\'s session: introspection inactive, later exchanges in it denied and recorded', async () => {
    const m = await issue();
    const second = await issue({ session_id: m.session_id });
    expect(second.session_id).toBe(m.session_id);
    expect((await introspect(m.access_token)).json().active).toBe(true);

    const res = await revoke(m.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['cache-control']).toBe('no-store');

    // Every mandate of the session is inactive.
    expect((await introspect(m.access_token)).json()).toEqual({ active: false });
    expect((await introspect(second.access_token)).json()).toEqual({ active: false });
    const revoked = await streamEvents(`session-${m.session_id}`);
    expect(revoked.map((e) => e.type)).toEqual(['SessionStarted', 'SessionRevoked']);

    const later = await f.exchange(exchangeForm(await f.idp.sign(), { session_id: m.session_id }), { authorization: f.client.basic, 'x-request-id': 'after-revoke' });
    expect(later.statusCode).toBe(403);
    const body = later.json();
    expect(body.error).toBe('access_denied');
    expect(body.request_id).toBe('after-revoke');
    expect(body.details.diagnostics).toEqual([expect.objectContaining({ reason: 'session_revoked' })]);
    const [decision] = await streamEvents('decision-after-revoke');
    expect(decision!.data).toMatchObject({
      decision: 'deny',
      session_id: m.session_id,
      diagnostics: [expect.objectContaining({ reason: 'session_revoked' })],
      mandate: null,
    });
  });

  it('is idempotent: revoking twice appends one SessionRevoked', async () => {
    const m = await issue();
    expect((await revoke(m.access_token)).statusCode).toBe(200);
    expect((await revoke(m.access_token)).statusCode).toBe(200);
    const events = await streamEvents(`session-${m.session_id}`);
    expect(events.filter((e) => e.type === 'SessionRevoked')).toHaveLength(1);
  });

  it('answers 200 for unknown or invalid tokens and changes nothing', async () => {
    const head = await f.store.headPosition();
    expect((await revoke('not-a-token')).statusCode).toBe(200);
    expect((await revoke(await f.idp.sign())).statusCode).toBe(200);
    expect(await f.store.headPosition()).toBe(head);
  });

  it('requires client authentication and acts only on the client\'s own mandates', async () => {
    const m = await issue();
    const anon = await f.post('/v1/sts/revoke', { token: m.access_token });
    expect(anon.statusCode).toBe(401);
    expect(anon.json().error).toBe('invalid_client');
    const otherApp = await f.addClient(f.zoneId, 'someone-else');
    expect((await revoke(m.access_token, otherApp)).statusCode).toBe(200);
    expect((await introspect(m.access_token)).json().active).toBe(true);
    expect((await f.post('/v1/sts/revoke', {}, { authorization: f.client.basic })).statusCode).toBe(400);
  });

  it('publishes the revocation on the bus', async () => {
    const m = await issue();
    const seen: string[] = [];
    f.revocations.onRevoked((id) => seen.push(id));
    await revoke(m.access_token);
    expect(seen).toContain(m.session_id);
    expect(f.revocations.isRevoked(m.session_id)).toBe(true);
  });
});

describe('sessions', () => {
  it('continues a session of the same client and subject', async () => {
    const m = await issue();
    const next = await issue({ session_id: m.session_id, scope: 'payments:write' });
    expect(next.session_id).toBe(m.session_id);
    const events = await streamEvents(`session-${m.session_id}`);
    expect(events).toHaveLength(1);
  });

  it('refuses a session of another subject, another client, or an unknown one with one answer', async () => {
    const m = await issue({}, 'alice');
    const otherClient = await f.addClient(f.zoneId, 'other');
    await f.addGrant(f.zoneId, otherClient.applicationId, f.resourceId, ['payments:read']);
    const answers = [
      await f.exchange(exchangeForm(await f.idp.sign({ sub: 'mallory' }), { session_id: m.session_id })),
      await f.exchange(exchangeForm(await f.idp.sign({ sub: 'alice' }), { session_id: m.session_id }), { authorization: otherClient.basic }),
      await f.exchange(exchangeForm(await f.idp.sign({ sub: 'alice' }), { session_id: 'ses_does_not_exist' })),
    ];
    for (const a of answers) {
      expect(a.statusCode).toBe(400);
      expect(a.json()).toMatchObject({ error: 'invalid_request', details: { reason: 'session_not_found' } });
    }
    expect(answers[0]!.json().error_description).toBe(answers[2]!.json().error_description);
  });

  it('sees a session revoked by an admin (ledger event) through the read model', async () => {
    const m = await issue();
    const { makeEvent } = await import('../../src/domain/events.js');
    await f.append(`session-${m.session_id}`, [makeEvent('SessionRevoked', { zone_id: f.zoneId, session_id: m.session_id, reason: 'admin', revoked_at: new Date().toISOString() })]);
    expect((await introspect(m.access_token)).json()).toEqual({ active: false });
    const later = await f.exchange(exchangeForm(await f.idp.sign(), { session_id: m.session_id }));
    expect(later.statusCode).toBe(403);
    expect(later.json().details.diagnostics[0].reason).toBe('session_revoked');
  });
});
