import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { sha256Hex } from '../../src/crypto/secret-hash.js';
import { makeEvent } from '../../src/domain/events.js';
import { POLICY_ENTRYPOINT, type PolicyInput, type PolicyResult } from '../../src/policy/policy-engine.js';
import { clampScopes, GRANT_CEILING_POLICY } from '../../src/sts/scope-clamp.js';
import type { StsPolicies } from '../../src/sts/sts-ports.js';
import { OPA, opaBuild } from '../policy/helpers.js';
import { exchangeForm, startStsFixture, type StsFixture } from './sts-fixture.js';

/** Granted scopes never exceed requested ∩ grants ∩ resource, whatever a policy says. */

describe('clampScopes', () => {
  const base = {
    decision: 'allow' as const,
    requested: ['a', 'b'],
    grants: [{ grant_id: 'g1', scopes: ['a', 'b', 'c'] }],
    resourceScopes: ['a', 'b', 'c'],
    determiningPolicies: ['p'],
    diagnostics: [],
  };

  it('allows exactly the requested scopes when all are covered', () => {
    expect(clampScopes({ ...base, policyScopes: ['a', 'b', 'c', 'z'] })).toEqual({ decision: 'allow', scopes: ['a', 'b'], determiningPolicies: ['p'], diagnostics: [] });
  });

  it('denies when any requested scope is not granted (all or nothing), naming why', () => {
    const out = clampScopes({ ...base, requested: ['a', 'd', 'c'], grants: [{ grant_id: 'g1', scopes: ['a'] }], resourceScopes: ['a', 'c'], policyScopes: ['a', 'c', 'd'] });
    expect(out.decision).toBe('deny');
    expect(out.scopes).toEqual([]);
    expect(out.determiningPolicies).toEqual(['p', GRANT_CEILING_POLICY]);
    expect(out.diagnostics).toEqual([
      expect.objectContaining({ reason: 'scope_undefined', scope: 'd' }),
      expect.objectContaining({ reason: 'scope_not_granted', scope: 'c' }),
    ]);
  });

  it('denies when the policy withheld a requested scope', () => {
    const out = clampScopes({ ...base, policyScopes: ['a'] });
    expect(out.decision).toBe('deny');
    expect(out.diagnostics).toEqual([expect.objectContaining({ reason: 'scope_not_allowed', scope: 'b' })]);
  });

  it('keeps a policy deny a deny', () => {
    expect(clampScopes({ ...base, decision: 'deny', policyScopes: ['a', 'b'] }).scopes).toEqual([]);
  });

  it('never grants outside requested ∩ policy ∩ grants ∩ resource (property)', () => {
    const scope: fc.Arbitrary<string> = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    fc.assert(
      fc.property(
        fc.array(scope, { maxLength: 6 }),
        fc.array(scope, { maxLength: 6 }),
        fc.array(fc.array(scope, { maxLength: 4 }), { maxLength: 3 }),
        fc.array(scope, { maxLength: 6 }),
        fc.constantFrom('allow' as const, 'deny' as const),
        (requested, policyScopes, grantScopes, resourceScopes, decision) => {
          const grants = grantScopes.map((scopes, i) => ({ grant_id: `g${i}`, scopes }));
          const out = clampScopes({ decision, policyScopes, requested, grants, resourceScopes, determiningPolicies: [], diagnostics: [] });
          const union = new Set(grants.flatMap((g) => g.scopes));
          for (const s of out.scopes) {
            expect(requested).toContain(s);
            expect(policyScopes).toContain(s);
            expect(union.has(s)).toBe(true);
            expect(resourceScopes).toContain(s);
          }
          if (out.decision === 'allow') expect(new Set(out.scopes)).toEqual(new Set(requested));
          else expect(out.scopes).toEqual([]);
        },
      ),
    );
  });
});

describe('a policy that returns more than the grants allow', () => {
  let f: StsFixture;
  let lastInput: PolicyInput | undefined;
  // A deliberately hostile policy port: allows every scope it can think of, bypassing the policy layer's own ceiling.
  const greedy: StsPolicies = {
    async evaluate(_zone, _version, input): Promise<PolicyResult> {
      lastInput = input;
      return { decision: 'allow', scopes: [...input.requested_scopes, 'payments:admin', 'root:all'], determining_policies: ['greedy'], diagnostics: [] };
    },
  };
  beforeAll(async () => {
    f = await startStsFixture({ policies: greedy });
  });
  afterAll(async () => {
    await f?.close();
  });

  it('issues only the requested, granted scopes', async () => {
    const res = await f.exchange(exchangeForm(await f.idp.sign(), { scope: 'payments:read' }));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().scope).toBe('payments:read');
    expect(decodeJwt(res.json().access_token).scope).toBe('payments:read');
    expect(lastInput!.context.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('denies a request for a scope the policy allows but no grant covers', async () => {
    const res = await f.exchange(exchangeForm(await f.idp.sign(), { scope: 'payments:read payments:admin' }), { authorization: f.client.basic, 'x-request-id': 'greedy-deny' });
    expect(res.statusCode).toBe(403);
    expect(res.json().details.diagnostics).toEqual([expect.objectContaining({ reason: 'scope_not_granted', scope: 'payments:admin' })]);
    expect(res.json().details.determining_policies).toEqual(['greedy', GRANT_CEILING_POLICY]);
    const events = [];
    for await (const e of f.store.readStream('decision-greedy-deny')) events.push(e);
    expect(events[0]!.data).toMatchObject({ decision: 'deny', granted_scopes: [] });
  });
});

describe.runIf(existsSync(OPA))('a real custom Rego policy returning extra scopes', () => {
  let f: StsFixture;
  beforeAll(async () => {
    f = await startStsFixture();
    const bundle = opaBuild({
      'greedy.rego': `package writ.authz
result := {"decision": "allow", "scopes": array.concat(input.requested_scopes, ["payments:admin", "root:all"]), "determining_policies": ["custom.greedy"], "diagnostics": []}
`,
    });
    const now = new Date().toISOString();
    await f.append(`policyset-${f.zoneId}`, [
      makeEvent('PolicyVersionCreated', {
        zone_id: f.zoneId,
        version: 2,
        digest: sha256Hex(bundle),
        bundle_base64: Buffer.from(bundle).toString('base64'),
        entrypoints: [POLICY_ENTRYPOINT],
        origin: 'rego',
        created_at: now,
      }),
      makeEvent('PolicyVersionActivated', { zone_id: f.zoneId, version: 2, previous_version: 1, activated_at: now }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await f?.close();
  });

  it('never widens the mandate', async () => {
    const ok = await f.exchange(exchangeForm(await f.idp.sign(), { scope: 'payments:read payments:write' }));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(decodeJwt(ok.json().access_token)).toMatchObject({ scope: 'payments:read payments:write', policy_version: 2 });
    const denied = await f.exchange(exchangeForm(await f.idp.sign(), { scope: 'payments:admin' }));
    expect(denied.statusCode).toBe(403);
  });
});
