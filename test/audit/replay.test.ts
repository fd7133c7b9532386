import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { setUpZone, type AuditZone } from './audit-fixture.js';
import { compileRego } from '../../src/policy/rego-compiler.js';
import type { ReplayProgress } from '../../src/audit/replay.js';

/** A candidate that allows read scopes only. */
const READ_ONLY = `package writ.authz

default result := {"decision": "deny", "determining_policies": ["candidate.read_only"], "diagnostics": [{"reason": "write_forbidden"}]}

result := {"decision": "allow", "determining_policies": ["candidate.read_only"], "diagnostics": []} if {
	every s in input.requested_scopes {
		endswith(s, ":read")
	}
}
`;

describe('replay', () => {
  let t: TestWrit;
  let z: AuditZone;
  const ids: Record<string, string> = {};
  let candidate: number;
  let grantId: string;

  beforeAll(async () => {
    t = await startTestWrit();
    z = await setUpZone(t);
    const client = await z.app('replay-app');
    const res = await z.resource('payments', ['p:read', 'p:write']);
    grantId = await z.grant(client.application_id, res.resource_id, ['p:read', 'p:write']);
    for (const [name, scope] of [['read', 'p:read'], ['write', 'p:write'], ['both', 'p:read p:write'], ['undefined', 'p:admin']] as const) {
      const r = await z.exchange({ client, sub: 'alice', resource: res.identifier, scope });
      ids[name] = r.requestId;
    }
    const bundle = (await compileRego({ modules: { 'authz.rego': READ_ONLY } })).bundle;
    const created = await t.app.inject({
      method: 'POST',
      url: `/v1/zones/${z.zoneId}/policy-sets/versions`,
      headers: { ...t.root, 'content-type': 'application/gzip' },
      payload: Buffer.from(bundle),
    });
    expect(created.statusCode, created.body).toBe(201);
    candidate = created.json().version as number;
  });
  afterAll(async () => {
    await t?.close();
  });

  const replay = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/zones/${z.zoneId}/audit/replay`, headers: { ...t.root, 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it('with the recorded versions, every decision matches its record', async () => {
    expect(await replay({})).toMatchObject({ candidate_version: null, evaluated: 4, matches_recorded: 4, mismatches: 0, items: [] });
  });

  it('with a candidate version, counts and lists the decisions that would flip', async () => {
    const r = await replay({ candidate_version: candidate });
    expect(r).toMatchObject({ candidate_version: candidate, evaluated: 4, matches_recorded: 2, mismatches: 2, flipped_to_allow: 0, flipped_to_deny: 2 });
    expect(r.items.map((i: { request_id: string }) => i.request_id).sort()).toEqual([ids.write, ids.both].sort());
    expect(r.items[0]).toMatchObject({ kind: 'flipped_to_deny', recorded: { decision: 'allow', policy_set_version: 1 }, replayed: { decision: 'deny', policy_set_version: candidate } });
  });

  it('narrows to a time range and reports progress', async () => {
    expect(await replay({ since: '2999-01-01T00:00:00Z' })).toMatchObject({ evaluated: 0 });
    expect(await replay({ until: '2000-01-01T00:00:00Z' })).toMatchObject({ evaluated: 0 });
    const seen: ReplayProgress[] = [];
    const r = await t.writ.audit.replay(z.zoneId, { candidate_version: candidate, onProgress: (p) => seen.push(p), progressEvery: 1 });
    expect(r.evaluated).toBe(4);
    expect(seen.map((p) => p.evaluated)).toEqual([1, 2, 3, 4, 4]);
    expect(seen.at(-1)!.mismatches).toBe(2);
  });

  it('raises the integrity alarm when the ledger was altered behind writ\'s back', async () => {
    // Edit the ledger file directly, as an attacker with disk access would: widen a grant, and turn a recorded deny into an allow.
    const db = new Database(join(t.dataDir, 'ledger.db'));
    try {
      const grant = db.prepare("SELECT position, data FROM events WHERE stream_id = ? AND type = 'GrantIssued'").get(`grant-${grantId}`) as { position: number; data: string };
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify({ ...JSON.parse(grant.data), scopes: ['p:read', 'p:write', 'p:admin'] }), grant.position);
      const decision = db.prepare("SELECT position, data FROM events WHERE stream_id = ? AND type = 'DecisionRecorded'").get(`decision-${ids.undefined}`) as { position: number; data: string };
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify({ ...JSON.parse(decision.data), decision: 'allow', granted_scopes: ['p:admin'] }), decision.position);
    } finally {
      db.close();
    }
    const r = await replay({});
    expect(r.mismatches).toBe(4);
    expect(r.matches_recorded).toBe(0);
    const kinds = Object.fromEntries(r.items.map((i: { request_id: string; kind: string }) => [i.request_id, i.kind]));
    expect(kinds[ids.read!]).toBe('input_digest_mismatch');
    expect(kinds[ids.undefined!]).toBe('flipped_to_deny');
    const explained = (await t.app.inject({ method: 'GET', url: `/v1/zones/${z.zoneId}/audit/decisions/${ids.read!}/explain`, headers: t.root })).json();
    expect(explained).toMatchObject({ input_digest_matches: false, reevaluation: { matches_recorded: true } });
  });
});
