import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, exchangeForm, JWT_TYPE, startStsFixture, TOKEN_EXCHANGE, type StsFixture } from './sts-fixture.js';
import { failingStore, type FailingStore } from './store-failure.js';

/** Every error code API.md lists for POST /v1/sts/token, in the common error shape. */
let f: StsFixture;
let store: FailingStore;
beforeAll(async () => {
  f = await startStsFixture({ wrapStore: (inner) => (store = failingStore(inner)), rateLimitPerSecond: 1_000 });
});
afterAll(async () => {
  await f?.close();
});

function expectError(res: { statusCode: number; json(): any; body: string }, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(body.error).toBe(code);
  expect(typeof body.error_description).toBe('string');
  expect(typeof body.request_id).toBe('string');
  expect(typeof body.details).toBe('object');
  expect(body.access_token).toBeUndefined();
  return body;
}

describe('POST /v1/sts/token errors', () => {
  it('400 invalid_request: missing parameters, named in details', async () => {
    const res = await f.exchange({ grant_type: TOKEN_EXCHANGE, scope: 'payments:read' });
    const body = expectError(res, 400, 'invalid_request');
    expect(body.details.missing).toEqual(['subject_token', 'subject_token_type', 'resource']);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('400 invalid_request: grant_type missing', async () => {
    expectError(await f.exchange({ subject_token: 'x' }), 400, 'invalid_request');
  });

  it('400 invalid_request: repeated parameter', async () => {
    const token = await f.idp.sign();
    expectError(await f.exchange({ ...exchangeForm(token), scope: ['payments:read', 'payments:write'] }), 400, 'invalid_request');
  });

  it('400 invalid_request: actor_token without actor_token_type, unsupported subject_token_type', async () => {
    const token = await f.idp.sign();
    expectError(await f.exchange(exchangeForm(token, { actor_token: token })), 400, 'invalid_request');
    const res = await f.exchange(exchangeForm(token, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }));
    expect(expectError(res, 400, 'invalid_request').details.parameter).toBe('subject_token_type');
  });

  it('400 invalid_request: both Basic and client_secret_post', async () => {
    const token = await f.idp.sign();
    const res = await f.exchange(exchangeForm(token, { client_id: f.client.applicationId, client_secret: f.client.secret }), { authorization: f.client.basic });
    expectError(res, 400, 'invalid_request');
  });

  it('400 unsupported_grant_type', async () => {
    const res = await f.exchange({ grant_type: 'client_credentials' });
    expectError(res, 400, 'unsupported_grant_type');
  });

  it('checks grant_type before client authentication', async () => {
    const res = await f.exchange({ grant_type: 'password' }, { authorization: basicAuth('nobody', 'nothing') });
    expectError(res, 400, 'unsupported_grant_type');
  });

  it('401 invalid_client: the same answer for an unknown client, a wrong secret and no credentials', async () => {
    const token = await f.idp.sign();
    const unknown = expectError(await f.exchange(exchangeForm(token), { authorization: basicAuth('app_nope', f.client.secret) }), 401, 'invalid_client');
    const wrong = expectError(await f.exchange(exchangeForm(token), { authorization: basicAuth(f.client.applicationId, 'wrong') }), 401, 'invalid_client');
    const none = expectError(await f.exchange(exchangeForm(token), {}), 401, 'invalid_client');
    const malformed = expectError(await f.exchange(exchangeForm(token), { authorization: 'Basic !!!' }), 401, 'invalid_client');
    for (const b of [wrong, none, malformed]) {
      expect(b.error_description).toBe(unknown.error_description);
      expect(b.details).toEqual(unknown.details);
    }
  });

  it('accepts client_secret_post', async () => {
    const token = await f.idp.sign();
    const res = await f.exchange(exchangeForm(token, { client_id: f.client.applicationId, client_secret: f.client.secret }), {});
    expect(res.statusCode, res.body).toBe(200);
  });

  it('decodes Basic credentials as form-urlencoded (RFC 6749 §2.3.1)', async () => {
    const token = await f.idp.sign();
    // A secret with reserved characters, percent-encoded before base64.
    const encoded = `Basic ${Buffer.from(`${encodeURIComponent(f.client.applicationId)}:${encodeURIComponent(f.client.secret)}`).toString('base64')}`;
    expect((await f.exchange(exchangeForm(token), { authorization: encoded })).statusCode).toBe(200);
    const broken = `Basic ${Buffer.from(`${f.client.applicationId}:%E0%A4%A`).toString('base64')}`;
    expectError(await f.exchange(exchangeForm(token), { authorization: broken }), 401, 'invalid_client');
  });

  it('401 invalid_token with details.reason', async () => {
    const res = await f.exchange(exchangeForm('garbage'));
    expect(expectError(res, 401, 'invalid_token').details.reason).toBe('malformed');
  });

  it('400 invalid_target: not a resource:// identifier, unknown, another zone\'s, or several', async () => {
    const token = await f.idp.sign();
    expectError(await f.exchange(exchangeForm(token, { resource: 'https://payments.example' })), 400, 'invalid_target');
    expectError(await f.exchange(exchangeForm(token, { resource: 'resource://nothing-here' })), 400, 'invalid_target');
    const other = await f.addZone('other');
    await f.addResource(other, 'resource://elsewhere', ['x:read']);
    expectError(await f.exchange(exchangeForm(token, { resource: 'resource://elsewhere', scope: 'x:read' })), 400, 'invalid_target');
    expectError(await f.exchange({ ...exchangeForm(token), resource: ['resource://payments', 'resource://payments'] }), 400, 'invalid_target');
    expectError(await f.exchange(exchangeForm(token, { audience: 'resource://other' })), 400, 'invalid_target');
  });

  it('400 invalid_scope: missing, empty, malformed', async () => {
    const token = await f.idp.sign();
    const { scope: _s, ...noScope } = exchangeForm(token);
    expectError(await f.exchange(noScope), 400, 'invalid_scope');
    expectError(await f.exchange(exchangeForm(token, { scope: '   ' })), 400, 'invalid_scope');
    const bad = expectError(await f.exchange(exchangeForm(token, { scope: 'payments:read PAYMENTS:WRITE' })), 400, 'invalid_scope');
    expect(bad.details.scopes).toEqual(['PAYMENTS:WRITE']);
    expectError(await f.exchange(exchangeForm(token, { scope: 'a'.repeat(201) })), 400, 'invalid_scope');
  });

  it('403 access_denied with request_id and details.diagnostics, recorded', async () => {
    const token = await f.idp.sign();
    const res = await f.exchange(exchangeForm(token, { scope: 'payments:read payments:admin' }), { authorization: f.client.basic, 'x-request-id': 'denied-1' });
    const body = expectError(res, 403, 'access_denied');
    expect(body.request_id).toBe('denied-1');
    expect(body.details.diagnostics).toEqual([expect.objectContaining({ reason: 'scope_not_granted', scope: 'payments:admin' })]);
    const events = [];
    for await (const e of f.store.readStream('decision-denied-1')) events.push(e);
    expect(events.map((e) => e.type)).toEqual(['DecisionRecorded']);
    expect(events[0]!.data).toMatchObject({ decision: 'deny', granted_scopes: [], mandate: null });
  });

  it('409 duplicate_request_id: a reused X-Request-ID issues nothing', async () => {
    const token = await f.idp.sign();
    const first = await f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'dup-1' });
    expect(first.statusCode).toBe(200);
    const second = await f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'dup-1' });
    expectError(second, 409, 'duplicate_request_id');
    const events = [];
    for await (const e of f.store.readStream('decision-dup-1')) events.push(e);
    expect(events).toHaveLength(1);
  });

  it('409 duplicate_request_id also when the first attempt was denied', async () => {
    const token = await f.idp.sign();
    expect((await f.exchange(exchangeForm(token, { scope: 'payments:admin' }), { authorization: f.client.basic, 'x-request-id': 'dup-2' })).statusCode).toBe(403);
    expectError(await f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'dup-2' }), 409, 'duplicate_request_id');
  });

  it('409 duplicate_request_id when the ledger already holds the id (another instance recorded it)', async () => {
    const token = await f.idp.sign();
    // Concurrent requests with one id: exactly one decision, one 200, the rest 409.
    const results = await Promise.all(
      Array.from({ length: 5 }, () => f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'dup-3' })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409]);
  });

  it('503 temporarily_unavailable when the decision cannot be recorded: no token, no internals', async () => {
    const token = await f.idp.sign();
    store.failPrefix = 'decision-';
    try {
      const res = await f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'unavailable-1' });
      const body = expectError(res, 503, 'temporarily_unavailable');
      expect(res.body).not.toContain('disk on fire');
      expect(res.body).not.toContain('/var/lib');
      expect(res.body).not.toContain('eyJ');
      expect(res.headers['retry-after']).toBe('1');
      expect(body.details).toEqual({});
    } finally {
      store.failPrefix = undefined;
    }
    // The id was not consumed: the client may retry it.
    const retry = await f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'unavailable-1' });
    expect(retry.statusCode).toBe(200);
  });

  it('415 for a JSON body (OAuth endpoints take forms)', async () => {
    const res = await f.app.inject({
      method: 'POST',
      url: '/v1/sts/token',
      headers: { 'content-type': 'application/json', authorization: f.client.basic },
      payload: JSON.stringify(exchangeForm(await f.idp.sign())),
    });
    expectError(res, 415, 'unsupported_media_type');
  });

  it('rejects an unsupported requested_token_type', async () => {
    const token = await f.idp.sign();
    expectError(await f.exchange(exchangeForm(token, { requested_token_type: 'urn:ietf:params:oauth:token-type:saml2' })), 400, 'invalid_request');
    expect((await f.exchange(exchangeForm(token, { requested_token_type: JWT_TYPE }))).statusCode).toBe(200);
  });
});

describe('rate limiting', () => {
  it('429 rate_limited with Retry-After and details.category, per client', async () => {
    const limited = await startStsFixture({ rateLimitPerSecond: 2 });
    try {
      const token = await limited.idp.sign();
      const codes: number[] = [];
      let last;
      for (let i = 0; i < 6; i++) {
        last = await limited.exchange(exchangeForm(token));
        codes.push(last.statusCode);
      }
      // Burst of 2 x 2/s, then refused.
      expect(codes.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(codes.slice(4)).toEqual([429, 429]);
      const body = expectError(last!, 429, 'rate_limited');
      expect(body.details.category).toBe('token_endpoint');
      expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another client of the zone has its own bucket.
      const other = await limited.addClient(limited.zoneId, 'other');
      const res = await limited.exchange(exchangeForm(token), { authorization: other.basic });
      expect(res.statusCode).not.toBe(429);
    } finally {
      await limited.close();
    }
  });
});
