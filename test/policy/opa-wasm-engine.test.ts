import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/policy/opa-bundle.js';
import {
  NONDETERMINISTIC_BUILTINS,
  OpaWasmEngine,
  SDK_BUILTINS,
  isNondeterministicBuiltin,
  validatePolicyBundle,
} from '../../src/policy/opa-wasm-engine.js';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { PolicyBundleError } from '../../src/policy/policy-errors.js';
import { ALLOW_ALL_REGO, makeInput, opaBuild } from './helpers.js';

const rego = (body: string) => `package writ.authz\n\n${body}\n`;

async function load(bundle: Uint8Array, zoneId = 'z1', version = 1) {
  return new OpaWasmEngine().load({ zoneId, version, digest: sha256Hex(bundle), bundle });
}

describe('built-in checks at load time', () => {
  it('SDK_BUILTINS is exactly what the installed opa-wasm SDK implements', () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@open-policy-agent/opa-wasm');
    const sdk = require(join(dirname(entry), 'builtins', 'index.js')) as Record<string, unknown>;
    expect([...SDK_BUILTINS].sort()).toEqual(Object.keys(sdk).sort());
  });

  it.each([
    ['time.now_ns', 'result := {"decision": "allow", "determining_policies": [], "diagnostics": [], "t": time.now_ns()}'],
    ['rand.intn', 'result := {"decision": "allow", "determining_policies": [], "diagnostics": [], "r": rand.intn("k", 10)}'],
    ['uuid.rfc4122', 'result := {"decision": "allow", "determining_policies": [], "diagnostics": [], "u": uuid.rfc4122("k")}'],
    ['http.send', 'result := {"decision": "allow", "determining_policies": [], "diagnostics": [], "h": http.send({"method": "get", "url": "http://x"})}'],
    ['opa.runtime', 'result := {"decision": "allow", "determining_policies": [], "diagnostics": [], "o": opa.runtime()}'],
  ])('refuses a bundle calling %s (built by opa directly) as nondeterministic_builtin', async (name, body) => {
    const bundle = opaBuild({ 'authz.rego': rego(body) });
    const err = await validatePolicyBundle(bundle).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyBundleError);
    expect((err as PolicyBundleError).code).toBe('nondeterministic_builtin');
    expect((err as PolicyBundleError).details.builtins).toEqual([name]);
  });

  it('refuses built-ins the wasm leaves to a host that opa-wasm does not implement', async () => {
    const bundle = opaBuild({
      'authz.rego': rego(
        'result := {"decision": "allow", "determining_policies": [crypto.sha256("x")], "diagnostics": [], "t": time.parse_rfc3339_ns(input.context.time)}',
      ),
    });
    await expect(validatePolicyBundle(bundle)).rejects.toMatchObject({
      code: 'unsupported_builtin',
      details: { builtins: ['crypto.sha256', 'time.parse_rfc3339_ns'] },
    });
  });

  it('accepts host built-ins the SDK implements and reports them', async () => {
    const bundle = opaBuild({
      'authz.rego': rego('result := {"decision": "allow", "determining_policies": [sprintf("p-%s", [input.zone_id])], "diagnostics": []}'),
    });
    const v = await validatePolicyBundle(bundle);
    expect(v.builtins).toEqual(['sprintf']);
    expect(v.abiVersion).toBe('1.3');
    expect(v.digest).toBe(sha256Hex(bundle));
  });

  it('classifies rand.* and the listed built-ins as non-deterministic', () => {
    expect(isNondeterministicBuiltin('rand.anything')).toBe(true);
    for (const b of NONDETERMINISTIC_BUILTINS) expect(isNondeterministicBuiltin(b)).toBe(true);
    expect(isNondeterministicBuiltin('time.parse_rfc3339_ns')).toBe(false);
  });
});

describe('evaluation', () => {
  it('turns an undefined result into a deny (policy_eval_failed)', async () => {
    const p = await load(opaBuild({ 'authz.rego': rego('result := {"decision": "allow"} if input.never') }));
    const r = p.evaluate(makeInput());
    expect(r).toMatchObject({ decision: 'deny', scopes: [], diagnostics: [{ reason: 'policy_eval_failed' }] });
  });

  it('turns a malformed result into a deny (policy_eval_failed)', async () => {
    const p = await load(
      opaBuild({ 'authz.rego': rego('result := {"decision": "maybe", "determining_policies": [], "diagnostics": []}') }),
    );
    const r = p.evaluate(makeInput());
    expect(r.decision).toBe('deny');
    expect(r.diagnostics[0]?.reason).toBe('policy_eval_failed');
    expect(r.diagnostics[0]?.message).toMatch(/decision/);
  });

  it('turns a throwing evaluation into a deny (policy_eval_failed) and keeps working afterwards', async () => {
    // Two complete definitions that disagree: OPA raises a conflict error, opa-wasm aborts.
    const p = await load(
      opaBuild({
        'authz.rego': rego(
          [
            'result := {"decision": "allow", "determining_policies": ["a"], "diagnostics": []} if input.subject.claims.a',
            'result := {"decision": "deny", "determining_policies": ["b"], "diagnostics": []} if input.subject.claims.b',
          ].join('\n'),
        ),
      }),
    );
    const conflict = p.evaluate(makeInput({ subject: { id: 'u', type: 'user', claims: { a: true, b: true } } }));
    expect(conflict).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'policy_eval_failed' }] });
    expect(conflict.diagnostics[0]?.message).toMatch(/conflict/);
    // A throwing host built-in (sprintf-js rejects %q, which Go's fmt accepts).
    const q = await load(
      opaBuild({ 'authz.rego': rego('result := {"decision": "allow", "determining_policies": [sprintf("%q", ["x"])], "diagnostics": []}') }),
    );
    expect(q.evaluate(makeInput())).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'policy_eval_failed' }] });
    expect(p.evaluate(makeInput({ subject: { id: 'u', type: 'user', claims: { a: true } } }))).toMatchObject({
      decision: 'allow',
      scopes: ['payments:read'],
    });
  });

  it('never grants beyond requested ∩ resource ∩ grants, whatever the policy says', async () => {
    const p = await load(
      opaBuild({
        'authz.rego': rego(
          'result := {"decision": "allow", "scopes": ["payments:read", "payments:write", "admin"], "determining_policies": ["greedy"], "diagnostics": []}',
        ),
      }),
    );
    const r = p.evaluate(makeInput({ requested_scopes: ['payments:read', 'payments:write'] }));
    expect(r.decision).toBe('allow');
    expect(r.scopes).toEqual(['payments:read']);
    expect(r.determining_policies).toEqual(['greedy', 'writ.grant_ceiling']);
    expect(r.diagnostics.map((d) => [d.reason, d.scope])).toEqual([
      ['scope_exceeds_grants', 'admin'],
      ['scope_exceeds_grants', 'payments:write'],
    ]);
    const none = p.evaluate(makeInput({ grants: [] }));
    expect(none.decision).toBe('deny');
    expect(none.scopes).toEqual([]);
  });

  it('an allow without scopes allows the requested scopes within the ceiling', async () => {
    const p = await load(opaBuild({ 'authz.rego': ALLOW_ALL_REGO }));
    expect(p.evaluate(makeInput()).scopes).toEqual(['payments:read']);
  });

  it('uses the bundle data', async () => {
    const p = await load(
      opaBuild({
        'authz.rego': rego('result := {"decision": "allow", "determining_policies": [data.cfg.name], "diagnostics": []}'),
        'data.json': '{"cfg": {"name": "from-data"}}',
      }),
    );
    expect(p.evaluate(makeInput()).determining_policies).toEqual(['from-data']);
  });
});

describe('OpaWasmEngine cache', () => {
  it('loads each (zone, version) once and shares an instance per digest', async () => {
    const engine = new OpaWasmEngine();
    const bundle = await loadDefaultBundle();
    const digest = sha256Hex(bundle);
    const [a, b] = await Promise.all([
      engine.load({ zoneId: 'z1', version: 1, digest, bundle }),
      engine.load({ zoneId: 'z1', version: 1, digest, bundle }),
    ]);
    const c = await engine.load({ zoneId: 'z2', version: 1, digest, bundle });
    expect(a).toBe(b);
    expect(a).toBe(c);
    expect(engine.size).toBe(1);
  });

  it('refuses bytes that do not match the digest, and a second digest for one version', async () => {
    const engine = new OpaWasmEngine();
    const bundle = await loadDefaultBundle();
    await expect(engine.load({ zoneId: 'z', version: 1, digest: 'a'.repeat(64), bundle })).rejects.toMatchObject({
      code: 'invalid_bundle',
    });
    await engine.load({ zoneId: 'z', version: 1, digest: sha256Hex(bundle), bundle });
    const other = opaBuild({ 'authz.rego': ALLOW_ALL_REGO });
    await expect(engine.load({ zoneId: 'z', version: 1, digest: sha256Hex(other), bundle: other })).rejects.toThrow(
      /was loaded with digest/,
    );
  });

  it('evicts the least recently used bundle beyond maxPolicies', async () => {
    const engine = new OpaWasmEngine({ maxPolicies: 1 });
    const a = await loadDefaultBundle();
    const b = opaBuild({ 'authz.rego': ALLOW_ALL_REGO });
    await engine.load({ zoneId: 'z', version: 1, digest: sha256Hex(a), bundle: a });
    await engine.load({ zoneId: 'z', version: 2, digest: sha256Hex(b), bundle: b });
    expect(engine.size).toBe(1);
  });
});
