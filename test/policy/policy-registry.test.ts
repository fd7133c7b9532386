import { describe, expect, it } from 'vitest';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { sha256Hex } from '../../src/policy/opa-bundle.js';
import { OpaWasmEngine } from '../../src/policy/opa-wasm-engine.js';
import { PolicyRegistry, type StoredPolicyVersion } from '../../src/policy/policy-registry.js';
import { ALLOW_ALL_REGO, makeInput, opaBuild } from './helpers.js';

async function fixture() {
  const defaultBundle = await loadDefaultBundle();
  const custom = opaBuild({ 'authz.rego': ALLOW_ALL_REGO });
  const versions = new Map<string, StoredPolicyVersion>([
    ['zone-a:1', { digest: sha256Hex(defaultBundle), bundle: defaultBundle }],
    ['zone-b:1', { digest: sha256Hex(defaultBundle), bundle: defaultBundle }],
    ['zone-a:2', { digest: sha256Hex(custom), bundle: custom }],
    ['zone-a:3', { digest: sha256Hex(new Uint8Array([1, 2, 3])), bundle: new Uint8Array([1, 2, 3]) }],
  ]);
  const calls: string[] = [];
  const engine = new OpaWasmEngine();
  const registry = new PolicyRegistry(engine, async (zoneId, version) => {
    calls.push(`${zoneId}:${version}`);
    const v = versions.get(`${zoneId}:${version}`);
    if (!v) throw new Error(`no version ${version} in ${zoneId}`);
    return v;
  });
  return { registry, calls, engine };
}

describe('PolicyRegistry', () => {
  it('loads lazily through the loader once per (zone, version), then reuses', async () => {
    const { registry, calls, engine } = await fixture();
    const input = makeInput({ grants: [] });
    const results = await Promise.all([
      registry.evaluate('zone-a', 1, input),
      registry.evaluate('zone-a', 1, input),
      registry.evaluate('zone-a', 2, input),
      registry.evaluate('zone-b', 1, input),
    ]);
    await registry.evaluate('zone-a', 1, input);
    expect(calls.sort()).toEqual(['zone-a:1', 'zone-a:2', 'zone-b:1']);
    expect(results[0]).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'resource_not_granted' }] });
    // the custom allow-all policy still cannot grant without grants (ceiling)
    expect(results[2]).toMatchObject({ decision: 'deny', determining_policies: ['test.allow_all', 'writ.grant_ceiling'] });
    expect(registry.size).toBe(3);
    expect(engine.size).toBe(2); // zones on the same default bundle share one instance
  });

  it('rejects when the loader fails and retries next time', async () => {
    const { registry, calls } = await fixture();
    await expect(registry.evaluate('zone-a', 9, makeInput())).rejects.toThrow(/no version 9/);
    await expect(registry.evaluate('zone-a', 9, makeInput())).rejects.toThrow(/no version 9/);
    expect(calls).toEqual(['zone-a:9', 'zone-a:9']);
    expect(registry.size).toBe(0);
  });

  it('answers deny (policy_eval_failed) for a stored bundle that cannot be loaded', async () => {
    const { registry } = await fixture();
    const r = await registry.evaluate('zone-a', 3, makeInput());
    expect(r).toMatchObject({ decision: 'deny', diagnostics: [{ reason: 'policy_eval_failed' }] });
    expect(r.diagnostics[0]?.message).toMatch(/version 3 cannot be loaded/);
  });

  it('evicts one version or a whole zone (zone ids may contain ":")', async () => {
    const { registry, calls } = await fixture();
    await registry.get('zone-a', 1);
    await registry.get('zone-a', 2);
    await registry.get('zone-b', 1);
    registry.evict('zone-a', 2);
    expect(registry.size).toBe(2);
    registry.evict('zone');
    expect(registry.size).toBe(2);
    registry.evict('zone-a');
    expect(registry.size).toBe(1);
    await registry.get('zone-a', 1);
    expect(calls.filter((c) => c === 'zone-a:1')).toHaveLength(2);
  });

  it('bounds the number of entries', async () => {
    const defaultBundle = await loadDefaultBundle();
    const registry = new PolicyRegistry(
      new OpaWasmEngine(),
      async () => ({ digest: sha256Hex(defaultBundle), bundle: defaultBundle }),
      { maxEntries: 2 },
    );
    for (const v of [1, 2, 3]) await registry.get('z', v);
    expect(registry.size).toBe(2);
  });
});
