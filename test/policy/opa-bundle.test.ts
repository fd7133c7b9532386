import { describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES, gunzipBundle, normalisePath, readOpaBundle, readTar, sha256Hex } from '../../src/policy/opa-bundle.js';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { PolicyBundleError } from '../../src/policy/policy-errors.js';
import { validatePolicyBundle } from '../../src/policy/opa-wasm-engine.js';
import { ALLOW_ALL_REGO, gzip, makeTar, opaBuild, paxPath } from './helpers.js';

function bundleError(fn: () => unknown): PolicyBundleError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyBundleError);
    return err as PolicyBundleError;
  }
  throw new Error('expected a PolicyBundleError');
}

describe('readOpaBundle on real opa builds', () => {
  it('reads the committed default bundle', async () => {
    const bytes = await loadDefaultBundle();
    const b = readOpaBundle(bytes);
    expect(b.entrypoints).toEqual(['writ/authz/result']);
    expect(b.digest).toBe(sha256Hex(bytes));
    expect(b.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Array.from(b.wasm.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]); // "\0asm"
    expect(b.data).toEqual({});
    expect(b.manifest?.wasm).toEqual([{ entrypoint: 'writ/authz/result', module: '/policy.wasm' }]);
  });

  it('merges data.json files at their directory paths', async () => {
    const bytes = opaBuild({
      'authz.rego': `package writ.authz\n\nresult := {"decision": "allow", "determining_policies": [data.cfg.name], "diagnostics": []}\n`,
      'data.json': '{"top": 1}',
    });
    // opa build does not nest data by directory when given a flat dir; write a nested one by hand too.
    const b = readOpaBundle(bytes);
    expect(b.data).toEqual({ top: 1 });
    const crafted = gzip(
      makeTar([
        { name: '/policy.wasm', content: b.wasm },
        { name: '/data.json', content: '{"cfg": {"a": 1}}' },
        { name: '/cfg/data.json', content: '{"name": "nested"}' },
        { name: '/x/y/data.json', content: '[1, 2]' },
      ]),
    );
    expect(readOpaBundle(crafted).data).toEqual({ cfg: { a: 1, name: 'nested' }, x: { y: [1, 2] } });
    await expect(validatePolicyBundle(crafted)).resolves.toMatchObject({ entrypoints: ['writ/authz/result'] });
  });

  it('accepts a bundle without a manifest (entrypoint then checked by loading)', async () => {
    const wasm = readOpaBundle(opaBuild({ 'authz.rego': ALLOW_ALL_REGO })).wasm;
    const bare = gzip(makeTar([{ name: 'policy.wasm', content: wasm }]));
    expect(readOpaBundle(bare).entrypoints).toEqual([]);
    await expect(validatePolicyBundle(bare)).resolves.toMatchObject({ entrypoints: ['writ/authz/result'] });
  });

  it('reads PAX long names', () => {
    const long = `/${'d'.repeat(120)}/data.json`;
    const wasm = readOpaBundle(opaBuild({ 'authz.rego': ALLOW_ALL_REGO })).wasm;
    const tar = makeTar([{ name: 'policy.wasm', content: wasm }, paxPath(long), { name: 'truncated', content: '{"v": 1}' }]);
    expect(readTar(tar).map((e) => e.path)).toEqual(['policy.wasm', long.slice(1)]);
    expect(readOpaBundle(gzip(tar)).data).toEqual({ ['d'.repeat(120)]: { v: 1 } });
  });
});

describe('readOpaBundle refuses', () => {
  const wasm = () => readOpaBundle(opaBuild({ 'authz.rego': ALLOW_ALL_REGO })).wasm;

  it('garbage, non-gzip and gzip of non-tar', () => {
    expect(bundleError(() => readOpaBundle(new TextEncoder().encode('hello, not a bundle'))).code).toBe('invalid_bundle');
    expect(bundleError(() => readOpaBundle(new Uint8Array([0x1f, 0x8b, ...new Array(40).fill(7)]))).message).toMatch(/gzip/);
    expect(bundleError(() => readOpaBundle(gzip(new Uint8Array(2000).fill(65)))).message).toMatch(/tar header at offset 0/);
  });

  it('a truncated archive', () => {
    const tar = makeTar([{ name: 'policy.wasm', content: wasm() }], { end: false });
    expect(bundleError(() => readOpaBundle(gzip(tar.subarray(0, tar.byteLength - 512)))).code).toBe('invalid_bundle');
  });

  it('a rego-target bundle (no /policy.wasm)', () => {
    const rego = opaBuild({ 'authz.rego': ALLOW_ALL_REGO }, []);
    const err = bundleError(() => readOpaBundle(rego));
    expect(err.code).toBe('invalid_bundle');
    expect(err.message).toMatch(/policy\.wasm/);
  });

  it('a bundle whose manifest lacks writ/authz/result', () => {
    const other = opaBuild({ 'authz.rego': 'package writ.authz\n\nallow := true\n' }, ['-t', 'wasm', '-e', 'writ/authz/allow']);
    const err = bundleError(() => readOpaBundle(other));
    expect(err.code).toBe('missing_entrypoint');
    expect(err.details.entrypoints).toEqual(['writ/authz/allow']);
  });

  it('a wasm without the entrypoint even when the manifest is absent', async () => {
    const other = opaBuild({ 'authz.rego': 'package writ.authz\n\nallow := true\n' }, ['-t', 'wasm', '-e', 'writ/authz/allow']);
    const bare = gzip(makeTar([{ name: 'policy.wasm', content: wasmOf(other) }]));
    await expect(validatePolicyBundle(bare)).rejects.toMatchObject({ code: 'missing_entrypoint' });
  });

  it.each([
    ['../evil.rego'],
    ['/../../etc/passwd'],
    ['a/../../b'],
    ['..\\windows'],
    ['C:/x'],
  ])('path traversal %s', (name) => {
    const tar = makeTar([{ name: 'policy.wasm', content: wasm() }, { name, content: 'x' }]);
    const err = bundleError(() => readOpaBundle(gzip(tar)));
    expect(err.code).toBe('invalid_bundle');
    expect(err.message).toMatch(/escapes the bundle root/);
  });

  it('traversal hidden in a PAX path', () => {
    const tar = makeTar([{ name: 'policy.wasm', content: wasm() }, paxPath('../../x'), { name: 'innocent', content: 'x' }]);
    expect(bundleError(() => readOpaBundle(gzip(tar))).message).toMatch(/escapes/);
  });

  it('symlinks and hard links', () => {
    for (const type of ['1', '2']) {
      const tar = makeTar([{ name: 'policy.wasm', content: wasm() }, { name: 'link', type, linkname: '/etc/passwd' }]);
      expect(bundleError(() => readOpaBundle(gzip(tar))).message).toMatch(/link/);
    }
  });

  it('duplicate members, several wasm modules, non-wasm policy.wasm', async () => {
    const w = wasm();
    expect(bundleError(() => readOpaBundle(gzip(makeTar([{ name: 'policy.wasm', content: w }, { name: '/policy.wasm', content: w }])))).message).toMatch(/twice/);
    expect(bundleError(() => readOpaBundle(gzip(makeTar([{ name: 'policy.wasm', content: w }, { name: 'x/other.wasm', content: w }])))).message).toMatch(/more than one/);
    const notWasm = gzip(makeTar([{ name: 'policy.wasm', content: 'not wasm' }]));
    await expect(validatePolicyBundle(notWasm)).rejects.toMatchObject({ code: 'invalid_bundle' });
  });

  it('bad manifest and bad data', () => {
    const w = wasm();
    expect(bundleError(() => readOpaBundle(gzip(makeTar([{ name: 'policy.wasm', content: w }, { name: '.manifest', content: '{' }])))).message).toMatch(/manifest/);
    expect(bundleError(() => readOpaBundle(gzip(makeTar([{ name: 'policy.wasm', content: w }, { name: 'data.json', content: '[1]' }])))).message).toMatch(/object/);
    expect(bundleError(() => readOpaBundle(gzip(makeTar([{ name: 'policy.wasm', content: w }, { name: 'data.yaml', content: 'a: 1' }])))).message).toMatch(/YAML/);
    const conflict = makeTar([
      { name: 'policy.wasm', content: w },
      { name: 'data.json', content: '{"a": 1}' },
      { name: 'a/data.json', content: '{"b": 2}' },
    ]);
    expect(bundleError(() => readOpaBundle(gzip(conflict))).message).toMatch(/conflicts/);
  });

  it('oversized bundles and gzip bombs', () => {
    expect(bundleError(() => readOpaBundle(new Uint8Array(MAX_BUNDLE_BYTES + 1))).message).toMatch(/larger than/);
    const bomb = gzip(new Uint8Array(70 * 1024 * 1024)); // ~70 KB compressed
    expect(bomb.byteLength).toBeLessThan(MAX_BUNDLE_BYTES);
    expect(bundleError(() => readOpaBundle(bomb)).message).toMatch(/decompresses to more than/);
  });
});

describe('normalisePath', () => {
  it('treats a leading slash as the bundle root and collapses dot segments', () => {
    expect(normalisePath('/policy.wasm')).toBe('policy.wasm');
    expect(normalisePath('./a//b/./data.json')).toBe('a/b/data.json');
    expect(normalisePath('a/../b')).toBeNull();
  });
});

/** The wasm member, read without readOpaBundle's manifest checks. */
function wasmOf(bundle: Uint8Array): Uint8Array {
  const entry = readTar(gunzipBundle(bundle)).find((e) => e.path === 'policy.wasm');
  if (!entry) throw new Error('no policy.wasm');
  return entry.content;
}
