import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { policyInputDigest, buildPolicyInput } from '../../src/decision/policy-input.js';
import { exchangeForm, startStsFixture, type StsFixture } from './sts-fixture.js';
import { failingStore, type FailingStore } from './store-failure.js';

/** A decision is in the ledger before its mandate leaves; a failed append means no mandate at all. */
let f: StsFixture;
let store: FailingStore;
beforeAll(async () => {
  f = await startStsFixture({ wrapStore: (inner) => (store = failingStore(inner)) });
});
afterAll(async () => {
  await f?.close();
});

async function streamEvents(stream: string) {
  const out = [];
  for await (const e of f.store.readStream(stream)) out.push(e);
  return out;
}

describe('record before issue', () => {
  it('records DecisionRecorded (and SessionStarted before it) with the fields the audit needs', async () => {
    const token = await f.idp.sign({ sub: 'alice', email: 'alice@example.test' });
    const positionBefore = f.runner.position;
    const res = await f.exchange(exchangeForm(token, { scope: 'payments:read payments:write' }), { authorization: f.client.basic, 'x-request-id': 'rbi-1' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const claims = decodeJwt(body.access_token);

    const [decision] = await streamEvents('decision-rbi-1');
    const [session] = await streamEvents(`session-${body.session_id}`);
    expect(session!.type).toBe('SessionStarted');
    expect(session!.position).toBeLessThan(decision!.position);
    expect(decision!.type).toBe('DecisionRecorded');
    expect(decision!.data).toMatchObject({
      request_id: 'rbi-1',
      zone_id: f.zoneId,
      application_id: f.client.applicationId,
      subject_id: 'alice',
      subject_type: 'user',
      actor_id: null,
      session_id: body.session_id,
      session_opened: true,
      resource: { id: f.resourceId, identifier: 'resource://payments' },
      requested_scopes: ['payments:read', 'payments:write'],
      granted_scopes: ['payments:read', 'payments:write'],
      decision: 'allow',
      determining_policies: ['writ.default.grants'],
      diagnostics: [],
      policy_set_version: 1,
      mandate: { jti: claims.jti, exp: new Date(claims.exp! * 1000).toISOString() },
    });
    const data = decision!.data as Record<string, any>;
    expect(BigInt(data.ledger_position)).toBeGreaterThanOrEqual(positionBefore);
    expect(data.grant_ids).toHaveLength(1);
    expect(data.policy_set_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(data.input_digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records an input digest that a rebuild from the ledger (claims removed) reproduces', async () => {
    const token = await f.idp.sign({ sub: 'bob', department: 'finance' });
    const res = await f.exchange(exchangeForm(token), { authorization: f.client.basic, 'x-request-id': 'rbi-digest' });
    expect(res.statusCode).toBe(200);
    const [decision] = await streamEvents('decision-rbi-digest');
    const d = decision!.data as Record<string, any>;
    const grant = f.models.grants.get(d.grant_ids[0])!;
    const rebuilt = buildPolicyInput({
      zoneId: d.zone_id,
      requestId: d.request_id,
      application: { id: d.application_id, name: 'billing' },
      subject: { id: d.subject_id, type: d.subject_type },
      actor: null,
      resource: { id: d.resource.id, identifier: d.resource.identifier, scopes: f.models.directory.getResource(d.resource.id)!.scopes },
      requestedScopes: d.requested_scopes,
      grants: [{ grant_id: grant.grant_id, scopes: grant.scopes, user_id: grant.user_id }],
      // The session was opened by this exchange: it did not exist at ledger_position, it started at occurred_at.
      session: { id: d.session_id, status: 'active', started_at: d.occurred_at },
      time: d.occurred_at,
    });
    expect(policyInputDigest(rebuilt)).toBe(d.input_digest);
  });

  it('records denials too, without a session', async () => {
    const res = await f.exchange(exchangeForm(await f.idp.sign(), { scope: 'payments:admin' }), { authorization: f.client.basic, 'x-request-id': 'rbi-deny' });
    expect(res.statusCode).toBe(403);
    const [decision] = await streamEvents('decision-rbi-deny');
    const d = decision!.data as Record<string, any>;
    expect(d).toMatchObject({ decision: 'deny', granted_scopes: [], mandate: null, session_opened: false });
    expect(await streamEvents(`session-${d.session_id}`)).toHaveLength(0);
  });

  it('does not answer before the append resolves', async () => {
    store.holdPrefix = 'decision-';
    try {
      const pending = f.exchange(exchangeForm(await f.idp.sign()), { authorization: f.client.basic, 'x-request-id': 'rbi-held' });
      let settled = false;
      void pending.then(() => (settled = true));
      for (let i = 0; i < 50 && store.held === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(store.held).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBe(false);
      store.release();
      const res = await pending;
      expect(res.statusCode).toBe(200);
      expect(await streamEvents('decision-rbi-held')).toHaveLength(1);
    } finally {
      store.holdPrefix = undefined;
      store.release();
    }
  });

  it('503 and no token when the append fails; nothing recorded, no session opened', async () => {
    const headBefore = await f.store.headPosition();
    store.failPrefix = 'decision-';
    try {
      const res = await f.exchange(exchangeForm(await f.idp.sign()), { authorization: f.client.basic, 'x-request-id': 'rbi-fail' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toBe('temporarily_unavailable');
      expect(res.body).not.toMatch(/eyJ/);
    } finally {
      store.failPrefix = undefined;
    }
    expect(await streamEvents('decision-rbi-fail')).toHaveLength(0);
    // The session append went through (it was handed to the ledger with the decision), but no mandate names it.
    const events = [];
    for await (const e of f.store.readAll({ fromPosition: headBefore })) events.push(e);
    expect(events.filter((e) => e.type === 'DecisionRecorded')).toHaveLength(0);
  });

  it('503 and no token when opening the session fails', async () => {
    store.failPrefix = 'session-';
    try {
      const res = await f.exchange(exchangeForm(await f.idp.sign()), { authorization: f.client.basic, 'x-request-id': 'rbi-fail-session' });
      expect(res.statusCode).toBe(503);
      expect(res.body).not.toMatch(/eyJ/);
    } finally {
      store.failPrefix = undefined;
    }
  });

  it('never writes tokens, secrets or claims to the ledger', async () => {
    const subject = await f.idp.sign({ sub: 'carol', email: 'carol-secret@example.test', groups: ['top-secret-group'] });
    const actor = await f.idp.sign({ sub: 'agent-1', email: 'agent-secret@example.test' });
    const res = await f.exchange(
      exchangeForm(subject, { actor_token: actor, actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' }),
      { authorization: f.client.basic, 'x-request-id': 'rbi-secrets' },
    );
    expect(res.statusCode, res.body).toBe(200);
    const mandate = res.json().access_token as string;
    expect(decodeJwt(mandate).act).toEqual({ sub: 'agent-1' });
    const all = [];
    for await (const e of f.store.readAll()) all.push(JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    const ledger = all.join('\n');
    for (const forbidden of [subject, actor, mandate, f.client.secret, 'carol-secret@example.test', 'top-secret-group', 'agent-secret@example.test', subject.split('.')[2]!, mandate.split('.')[2]!]) {
      expect(ledger).not.toContain(forbidden);
    }
    const [decision] = await streamEvents('decision-rbi-secrets');
    expect(decision!.data).toMatchObject({ subject_id: 'carol', actor_id: 'agent-1' });
  });
});
