import { describe, expect, it } from 'vitest';
import { compileDefaultPolicy } from '../../scripts/build-default-policy.js';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { gunzipBundle, readTar, type TarEntry } from '../../src/policy/opa-bundle.js';
import { validatePolicyBundle } from '../../src/policy/opa-wasm-engine.js';

/**
 * The committed default bundle must be what policy/default/*.rego compiles to. Compared member by member
 * (wasm, manifest, data, rego stubs) rather than as gzip bytes, so a different gzip encoder cannot make it
 * flap; opa v1.22.2 writes fixed (epoch) mtimes, and two builds are checked to agree first.
 */
function members(bundle: Uint8Array): Map<string, string> {
  const entries: TarEntry[] = readTar(gunzipBundle(bundle));
  return new Map(entries.map((e) => [e.path, Buffer.from(e.content).toString('base64')]));
}

describe('committed default policy bundle', () => {
  it('is valid and matches a fresh build of policy/default (run `npm run policy:build-default` if not)', async () => {
    const committed = await loadDefaultBundle();
    await expect(validatePolicyBundle(committed)).resolves.toMatchObject({ entrypoints: ['writ/authz/result'], builtins: [] });

    const [first, second] = [await compileDefaultPolicy(), await compileDefaultPolicy()];
    // If opa itself were not reproducible this comparison would be meaningless; say so instead of flapping.
    expect(members(second.bundle), 'opa build is not reproducible; compare semantically').toEqual(members(first.bundle));

    const fresh = members(first.bundle);
    const stored = members(committed);
    expect([...stored.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, content] of fresh) {
      expect(stored.get(path), `${path} differs: the committed bundle is stale (npm run policy:build-default)`).toBe(content);
    }
  });
});
