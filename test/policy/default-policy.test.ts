import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { sha256Hex } from '../../src/policy/opa-bundle.js';
import { OpaWasmEngine, type OpaWasmPolicy } from '../../src/policy/opa-wasm-engine.js';
import { makeInput } from './helpers.js';

let policy: OpaWasmPolicy;

beforeAll(async () => {
  const bundle = await loadDefaultBundle();
  policy = await new OpaWasmEngine().load({ zoneId: 'z', version: 1, digest: sha256Hex(bundle), bundle });
});

const resource = { id: 'res-1', identifier: 'resource://payments', scopes: ['payments:read', 'payments:write', 'payments:refund'] };
const grant = (id: string, ...scopes: string[]) => ({ grant_id: id, scopes, user_id: null });

describe('default policy', () => {
  it('allows exactly the requested scopes that grants cover and the resource defines', () => {
    const r = policy.evaluate(
      makeInput({
        resource,
        requested_scopes: ['payments:write', 'payments:read'],
        grants: [grant('g1', 'payments:read'), grant('g2', 'payments:write', 'payments:refund')],
      }),
    );
    expect(r).toEqual({
      decision: 'allow',
      scopes: ['payments:read', 'payments:write'],
      determining_policies: ['writ.default.grants'],
      diagnostics: [],
    });
  });

  it('denies a partially granted request with scope_not_granted for the missing scope', () => {
    const r = policy.evaluate(
      makeInput({ resource, requested_scopes: ['payments:read', 'payments:refund'], grants: [grant('g1', 'payments:read')] }),
    );
    expect(r.decision).toBe('deny');
    expect(r.scopes).toEqual([]);
    expect(r.determining_policies).toEqual(['writ.default.grants']);
    expect(r.diagnostics).toEqual([
      { reason: 'scope_not_granted', scope: 'payments:refund', message: 'no active grant covers this scope' },
    ]);
  });

  it('denies a scope the resource does not define with scope_undefined, even when a grant names it', () => {
    const r = policy.evaluate(
      makeInput({ resource, requested_scopes: ['payments:read', 'payments:admin'], grants: [grant('g1', 'payments:read', 'payments:admin')] }),
    );
    expect(r.decision).toBe('deny');
    expect(r.diagnostics.map((d) => [d.reason, d.scope])).toEqual([['scope_undefined', 'payments:admin']]);
  });

  it('denies with resource_not_granted when no grant exists for the resource', () => {
    const r = policy.evaluate(makeInput({ resource, requested_scopes: ['payments:read', 'nope'], grants: [] }));
    expect(r.decision).toBe('deny');
    expect(r.diagnostics.map((d) => [d.reason, d.scope])).toEqual([
      ['resource_not_granted', undefined],
      ['scope_undefined', 'nope'],
    ]);
    expect(r.diagnostics[0]?.message).toContain('resource://payments');
  });

  it('denies an empty request', () => {
    const r = policy.evaluate(makeInput({ resource, requested_scopes: [], grants: [grant('g1', 'payments:read')] }));
    expect(r).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'no_scopes_requested' }] });
  });

  it('denies (policy_input_invalid) an input without grants instead of failing', () => {
    const { grants: _omit, ...rest } = makeInput();
    const r = policy.evaluate(rest as never);
    expect(r).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'policy_input_invalid' }] });
  });

  it('is deterministic and ignores context.time and claims', () => {
    const a = makeInput({ context: { time: '2020-01-01T00:00:00Z' } });
    const b = makeInput({ context: { time: '2099-12-31T23:59:59Z' }, subject: { id: 'u', type: 'user', claims: { admin: true } } });
    expect(policy.evaluate(a)).toEqual(policy.evaluate(b));
    expect(policy.evaluate(a)).toEqual(policy.evaluate(a));
  });

  it('property: allow iff every requested scope is defined and granted; never grants more', () => {
    const pool = ['a:read', 'a:write', 'b:read', 'b:write', 'admin'];
    const scopes = fc.uniqueArray(fc.constantFrom(...pool), { maxLength: pool.length });
    fc.assert(
      fc.property(scopes, scopes, fc.array(scopes, { maxLength: 3 }), (defined, requested, grants) => {
        const input = makeInput({
          resource: { id: 'r', identifier: 'resource://r', scopes: defined },
          requested_scopes: requested,
          grants: grants.map((s, i) => grant(`g${i}`, ...s)),
        });
        const granted = new Set(grants.flat());
        const r = policy.evaluate(input);
        const ok = requested.length > 0 && requested.every((s) => defined.includes(s) && granted.has(s));
        expect(r.decision).toBe(ok ? 'allow' : 'deny');
        if (ok) expect(r.scopes).toEqual([...requested].sort());
        else {
          expect(r.scopes).toEqual([]);
          expect(r.diagnostics.length).toBeGreaterThan(0);
          for (const d of r.diagnostics.filter((x) => x.reason === 'scope_not_granted')) {
            expect(defined.includes(d.scope!) && !granted.has(d.scope!)).toBe(true);
          }
          for (const d of r.diagnostics.filter((x) => x.reason === 'scope_undefined')) {
            expect(defined.includes(d.scope!)).toBe(false);
          }
        }
      }),
      { seed: 20250101, numRuns: 500 },
    );
  });
});
