import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/policy/opa-bundle.js';
import { OpaWasmEngine } from '../../src/policy/opa-wasm-engine.js';
import { makeInput, opaBuild, opaEvalResult } from './helpers.js';

/**
 * Where opa-wasm 1.10 (+ opa v1.22.2's wasm target) and OPA's interpreter disagree, found by the differential
 * test. Recorded here so policy authors can be told, writ's own handling stays covered, and an upgrade that
 * changes any of it is noticed.
 */

async function both(body: string, input: unknown = makeInput()) {
  const modules = { 'authz.rego': `package writ.authz\n\n${body}\n` };
  const bundle = opaBuild(modules);
  const policy = await new OpaWasmEngine().load({ zoneId: 'z', version: 1, digest: sha256Hex(bundle), bundle });
  let wasm: unknown;
  try {
    wasm = (policy.evaluateRaw(input) as { result: unknown }[])[0]?.result;
  } catch (err) {
    wasm = { thrown: String((err as Error).message ?? err) };
  }
  return { wasm, opa: opaEvalResult(modules, input), policy };
}

const MANY = ['payments:write', 'orders:read', 'zeta', 'alpha', 'payments:read', 'billing:export', 'm', 'b', 'k', 'x1', 'x10'];

describe('known opa-wasm divergences', () => {
  it('sets: wasm serialises and iterates them in hash order, OPA sorted; sort() agrees', async () => {
    const { wasm, opa } = await both(
      'result := {"set": {s | some s in input.requested_scopes}, "joined": concat(",", {s | some s in input.requested_scopes}), "sorted": sort({s | some s in input.requested_scopes})}',
      makeInput({ requested_scopes: MANY }),
    );
    const w = wasm as { set: string[]; joined: string; sorted: string[] };
    const o = opa as typeof w;
    expect(o.set).toEqual([...MANY].sort());
    expect(w.set).not.toEqual(o.set);
    expect([...w.set].sort()).toEqual(o.set); // same members
    expect(w.joined).not.toEqual(o.joined); // iteration order leaks into concat, json.marshal, comprehensions
    expect(w.sorted).toEqual(o.sorted);
  });

  it("writ's granted scopes do not depend on that order", async () => {
    const scopes = MANY.filter((s) => s.includes(':'));
    const input = makeInput({
      resource: { id: 'r', identifier: 'resource://r', scopes },
      requested_scopes: scopes,
      grants: [{ grant_id: 'g', scopes, user_id: null }],
    });
    const { policy } = await both(
      'result := {"decision": "allow", "scopes": {s | some s in input.requested_scopes}, "determining_policies": [], "diagnostics": []}',
      input,
    );
    expect(policy.evaluate(input).scopes).toEqual([...scopes].sort());
  });

  it('sprintf is sprintf-js, not Go fmt: %v of composites and %d of non-integers differ, %q throws (deny)', async () => {
    const { wasm, opa } = await both(
      'result := [sprintf("%v", [["a", "b"]]), sprintf("%d", [1.5]), sprintf("%s", [1]), sprintf("%s-%d", ["a", 2])]',
    );
    expect(opa).toEqual(['["a", "b"]', '%!d(float64=1.5)', '%!s(int64=1)', 'a-2']);
    expect(wasm).toEqual(['a,b', '1', '1', 'a-2']);
    const q = await both('result := {"decision": "allow", "determining_policies": [sprintf("%q", ["x"])], "diagnostics": []}');
    expect(q.opa).toMatchObject({ determining_policies: ['"x"'] });
    expect(q.wasm).toEqual({ thrown: '[sprintf] unexpected placeholder' });
    expect(q.policy.evaluate(makeInput())).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'policy_eval_failed' }] });
  });
});
