import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { setUpZone, type AuditZone } from './audit-fixture.js';
import { verifyExport } from '../../src/audit/verify.js';
import { parseCsv } from '../../src/audit/csv.js';

describe('audit API', () => {
  let t: TestWrit;
  let z: AuditZone;
  let other: AuditZone;
  let client: { application_id: string; client_secret: string };
  let allowed: { requestId: string; sessionId: string };
  let denied: string;

  beforeAll(async () => {
    t = await startTestWrit();
    z = await setUpZone(t);
    other = await setUpZone(t, 'other');
    client = await z.app('payments-app');
    const res = await z.resource('payments', ['payments:read', 'payments:write']);
    await z.grant(client.application_id, res.resource_id, ['payments:read']);
    const ok = await z.exchange({ client, sub: 'alice', resource: res.identifier, scope: 'payments:read', claims: { email: 'alice@example.com' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    allowed = { requestId: ok.requestId, sessionId: ok.body.session_id as string };
    const no = await z.exchange({ client, sub: 'alice', resource: res.identifier, scope: 'payments:write', sessionId: allowed.sessionId });
    expect(no.status, JSON.stringify(no.body)).toBe(403);
    denied = no.requestId;
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = (url: string, headers: Record<string, string> = t.root) => t.app.inject({ method: 'GET', url, headers });

  it('traces a decision by request ID', async () => {
    const res = await get(`/v1/zones/${z.zoneId}/audit/decisions/${allowed.requestId}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      request_id: allowed.requestId,
      decision: 'allow',
      application_id: client.application_id,
      session_id: allowed.sessionId,
      subject: 'alice',
      resource: 'resource://payments',
      requested_scopes: ['payments:read'],
      granted_scopes: ['payments:read'],
      policy_set_version: 1,
    });
    expect(body.mandate.jti).toMatch(/^jti_/);
    expect(BigInt(body.position)).toBeGreaterThan(BigInt(body.ledger_position));
    expect(JSON.stringify(body)).not.toContain('alice@example.com');
  });

  it('answers 404 request_not_found for an unknown ID and for another zone\'s decision', async () => {
    const unknown = await get(`/v1/zones/${z.zoneId}/audit/decisions/nope-123`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'request_not_found' });
    const foreign = await get(`/v1/zones/${other.zoneId}/audit/decisions/${allowed.requestId}`);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ error: 'request_not_found' });
    const explain = await get(`/v1/zones/${other.zoneId}/audit/decisions/${allowed.requestId}/explain`);
    expect(explain.statusCode).toBe(404);
  });

  it('requires an admin key of the zone', async () => {
    const none = await t.app.inject({ method: 'GET', url: `/v1/zones/${z.zoneId}/audit/decisions` });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'authentication_required' });
    const bad = await get(`/v1/zones/${z.zoneId}/audit/decisions`, { authorization: 'Bearer nope-nope-nope-nope' });
    expect(bad.statusCode).toBe(401);
    const key = await t.app.inject({ method: 'POST', url: `/v1/zones/${other.zoneId}/admin-keys`, headers: { ...t.root, 'content-type': 'application/json' }, payload: { name: 'k' } });
    const otherKey = { authorization: `Bearer ${key.json().token as string}` };
    for (const url of [
      `/v1/zones/${z.zoneId}/audit/decisions`,
      `/v1/zones/${z.zoneId}/audit/decisions/${allowed.requestId}`,
      `/v1/zones/${z.zoneId}/audit/decisions/${allowed.requestId}/explain`,
      `/v1/zones/${z.zoneId}/audit/export`,
      `/v1/zones/${z.zoneId}/state`,
    ]) {
      const res = await get(url, otherKey);
      expect(res.statusCode, url).toBe(403);
      expect(res.json()).toMatchObject({ error: 'zone_forbidden' });
    }
    const own = await get(`/v1/zones/${other.zoneId}/audit/decisions`, otherKey);
    expect(own.statusCode).toBe(200);
  });

  it('explains an allow and a deny as of their ledger position', async () => {
    const res = await get(`/v1/zones/${z.zoneId}/audit/decisions/${denied}/explain`);
    expect(res.statusCode).toBe(200);
    const e = res.json();
    expect(e).toMatchObject({
      request_id: denied,
      final_decision: 'deny',
      policy_set_version: 1,
      input_digest_matches: true,
      reevaluation: { decision: 'deny', matches_recorded: true },
    });
    expect(e.policy_input.subject).toEqual({ id: 'alice', type: 'user', claims: {} });
    expect(e.policy_input.session).toMatchObject({ id: allowed.sessionId, status: 'active' });
    expect(e.denied).toHaveLength(1);
    expect(e.denied[0].diagnostics.map((d: { reason: string }) => d.reason)).toContain('scope_not_granted');
    expect(typeof e.as_of.time).toBe('string');

    const ok = (await get(`/v1/zones/${z.zoneId}/audit/decisions/${allowed.requestId}/explain`)).json();
    expect(ok).toMatchObject({ final_decision: 'allow', input_digest_matches: true, reevaluation: { decision: 'allow', matches_recorded: true }, denied: [] });
    // The session was opened by this exchange: it did not exist at the decision's position, yet was active in the input.
    expect(ok.policy_input.session).toMatchObject({ id: allowed.sessionId, status: 'active', started_at: ok.occurred_at });
  });

  it('lists decisions with filters, cursors, newest first, and as CSV', async () => {
    const all = (await get(`/v1/zones/${z.zoneId}/audit/decisions`)).json();
    expect(all.items.map((i: { request_id: string }) => i.request_id)).toEqual([allowed.requestId, denied]);
    expect(all.next_cursor).toBeNull();
    const deniedOnly = (await get(`/v1/zones/${z.zoneId}/audit/decisions?decision=deny`)).json();
    expect(deniedOnly.items.map((i: { request_id: string }) => i.request_id)).toEqual([denied]);
    const page1 = (await get(`/v1/zones/${z.zoneId}/audit/decisions?limit=1`)).json();
    expect(page1.items).toHaveLength(1);
    const page2 = (await get(`/v1/zones/${z.zoneId}/audit/decisions?limit=1&cursor=${page1.next_cursor as string}`)).json();
    expect(page2.items[0].request_id).toBe(denied);
    const desc = (await get(`/v1/zones/${z.zoneId}/audit/decisions?order=desc&limit=1`)).json();
    expect(desc.items[0].request_id).toBe(denied);
    const desc2 = (await get(`/v1/zones/${z.zoneId}/audit/decisions?order=desc&limit=1&cursor=${desc.next_cursor as string}`)).json();
    expect(desc2.items[0].request_id).toBe(allowed.requestId);
    expect(desc2.next_cursor).toBeNull();
    const bySubject = (await get(`/v1/zones/${z.zoneId}/audit/decisions?subject=bob`)).json();
    expect(bySubject.items).toEqual([]);
    const byResource = (await get(`/v1/zones/${z.zoneId}/audit/decisions?resource=${encodeURIComponent('resource://payments')}`)).json();
    expect(byResource.items).toHaveLength(2);
    const future = (await get(`/v1/zones/${z.zoneId}/audit/decisions?since=2999-01-01T00:00:00Z`)).json();
    expect(future.items).toEqual([]);
    expect((await get(`/v1/zones/${z.zoneId}/audit/decisions?cursor=garbage`)).statusCode).toBe(400);
    expect((await get(`/v1/zones/${z.zoneId}/audit/decisions?limit=1001`)).statusCode).toBe(400);
    expect((await get(`/v1/zones/${z.zoneId}/audit/decisions?since=yesterday`)).statusCode).toBe(400);

    const csv = await get(`/v1/zones/${z.zoneId}/audit/decisions?format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = parseCsv(csv.body);
    expect(rows[0]![0]).toBe('request_id');
    expect(rows.slice(1).map((r) => r[0])).toEqual([allowed.requestId, denied]);
  });

  it('exports a verifiable chain in both formats', async () => {
    for (const format of ['ndjson', 'csv'] as const) {
      const res = await get(`/v1/zones/${z.zoneId}/audit/export?format=${format}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-disposition']).toContain('attachment');
      const v = await verifyExport([res.body]);
      expect(v).toMatchObject({ ok: true, count: 2 });
      expect(res.body).not.toContain('alice@example.com');
    }
    const none = await get(`/v1/zones/${z.zoneId}/audit/export?since=2999-01-01T00:00:00Z`);
    expect(await verifyExport([none.body])).toMatchObject({ ok: true, count: 0 });
    const foreign = await get(`/v1/zones/${other.zoneId}/audit/export`);
    expect(await verifyExport([foreign.body])).toMatchObject({ ok: true, count: 0 });
  });

  it('replays with the recorded versions (no alarm) and reports 404 for an unknown candidate', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/zones/${z.zoneId}/audit/replay`, headers: { ...t.root, 'content-type': 'application/json' }, payload: {} });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ evaluated: 2, matches_recorded: 2, mismatches: 0, flipped_to_allow: 0, flipped_to_deny: 0, items: [] });
    const empty = await t.app.inject({ method: 'POST', url: `/v1/zones/${z.zoneId}/audit/replay`, headers: t.root });
    expect(empty.statusCode, empty.body).toBe(200);
    const bad = await t.app.inject({ method: 'POST', url: `/v1/zones/${z.zoneId}/audit/replay`, headers: { ...t.root, 'content-type': 'application/json' }, payload: { candidate_version: 99 } });
    expect(bad.statusCode).toBe(404);
    expect(bad.json()).toMatchObject({ error: 'policy_version_not_found' });
  });

  it('shows the zone state as of a position and a time', async () => {
    const trace = (await get(`/v1/zones/${z.zoneId}/audit/decisions/${allowed.requestId}`)).json();
    const before = (await get(`/v1/zones/${z.zoneId}/state?as_of=${trace.ledger_position as string}`)).json();
    expect(before.sessions).toEqual([]);
    expect(before.grants).toHaveLength(1);
    expect(before.active_policy_version).toBe(1);
    const now = (await get(`/v1/zones/${z.zoneId}/state`)).json();
    expect(now.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([allowed.sessionId]);
    const past = (await get(`/v1/zones/${z.zoneId}/state?as_of=2000-01-01T00:00:00Z`)).json();
    expect(past).toMatchObject({ zone: null, applications: [], grants: [], active_policy_version: null, as_of: { position: '-1' } });
    const atTime = (await get(`/v1/zones/${z.zoneId}/state?as_of=${encodeURIComponent(trace.recorded_at as string)}`)).json();
    expect(BigInt(atTime.as_of.position)).toBeGreaterThanOrEqual(BigInt(trace.position));
    expect((await get(`/v1/zones/${z.zoneId}/state?as_of=soon`)).statusCode).toBe(400);
  });

  it('documents every audit route in the OpenAPI document', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths as Record<string, unknown>);
    for (const p of [
      '/v1/zones/{zone_id}/audit/decisions',
      '/v1/zones/{zone_id}/audit/decisions/{request_id}',
      '/v1/zones/{zone_id}/audit/decisions/{request_id}/explain',
      '/v1/zones/{zone_id}/audit/replay',
      '/v1/zones/{zone_id}/audit/export',
      '/v1/zones/{zone_id}/state',
    ]) {
      expect(paths).toContain(p);
    }
  });

  it('caps CSV rows with an explicit limit', async () => {
    const csv = await get(`/v1/zones/${z.zoneId}/audit/decisions?format=csv&limit=1`);
    expect(parseCsv(csv.body)).toHaveLength(2);
    expect((await get(`/v1/zones/${z.zoneId}/audit/decisions?format=csv&cursor=garbage`)).statusCode).toBe(400);
  });

  it('simulate by request ID gets the rebuilt input', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/zones/${z.zoneId}/policy-sets/versions/1/simulate`,
      headers: { ...t.root, 'content-type': 'application/json' },
      payload: { request_id: denied },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ decision: 'deny' });
  });
});
