import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OpaWasmEngine } from '../../src/policy/opa-wasm-engine.js';
import { readOpaBundle } from '../../src/policy/opa-bundle.js';
import {
  CompilerUnavailableError,
  PolicyBundleError,
  PolicyCompileError,
} from '../../src/policy/policy-errors.js';
import { compileRego, findOpaCli } from '../../src/policy/rego-compiler.js';
import { OPA, makeInput } from './helpers.js';

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected the compile to fail');
    },
    (e: unknown) => e as Error,
  );
}

describe('compileRego', () => {
  it('compiles good Rego with data into a bundle writ can run', async () => {
    const compiled = await compileRego(
      {
        modules: {
          'authz.rego': `package writ.authz

import data.writ.helpers.allowed_app

result := {"decision": "allow", "determining_policies": [data.names.policy], "diagnostics": []} if allowed_app

result := {"decision": "deny", "determining_policies": [data.names.policy], "diagnostics": [{"reason": "app_blocked"}]} if not allowed_app
`,
          'helpers.rego': `package writ.helpers

allowed_app if not input.application.id in data.blocked
`,
        },
        data: { names: { policy: 'custom.apps' }, blocked: ['app-bad'] },
      },
      { opaPath: OPA },
    );
    expect(compiled.entrypoints).toEqual(['writ/authz/result']);
    expect(readOpaBundle(compiled.bundle).data).toEqual({ names: { policy: 'custom.apps' }, blocked: ['app-bad'] });
    const p = await new OpaWasmEngine().load({ zoneId: 'z', version: 2, digest: compiled.digest, bundle: compiled.bundle });
    expect(p.evaluate(makeInput())).toMatchObject({ decision: 'allow', determining_policies: ['custom.apps'] });
    expect(p.evaluate(makeInput({ application: { id: 'app-bad', name: 'x' } }))).toMatchObject({
      decision: 'deny',
      diagnostics: [{ reason: 'app_blocked' }],
    });
  });

  it('reports the file and row of a syntax error', async () => {
    const err = await failure(
      compileRego({
        modules: {
          'ok.rego': 'package writ.authz\n\nresult := {"decision": "deny", "determining_policies": [], "diagnostics": []}\n',
          'broken.rego': 'package writ.helpers\n\nx := 1\n\ny := {1,\n\nz := 3\n',
        },
      }),
    );
    expect(err).toBeInstanceOf(PolicyCompileError);
    const errors = (err as PolicyCompileError).errors;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file: 'broken.rego', code: 'rego_parse_error' });
    expect(errors[0]!.row).toBeGreaterThanOrEqual(5);
  });

  it('reports type errors with file, row and column', async () => {
    const err = await failure(
      compileRego({ modules: { 'authz.rego': 'package writ.authz\n\nresult := x if {\n\tx := count(1)\n}\n' } }),
    );
    expect(err).toBeInstanceOf(PolicyCompileError);
    expect((err as PolicyCompileError).errors[0]).toMatchObject({ file: 'authz.rego', row: 4, code: 'rego_type_error' });
  });

  it('refuses time.now_ns with its location (nondeterministic_builtin)', async () => {
    const err = await failure(
      compileRego({
        modules: {
          'authz.rego':
            'package writ.authz\n\n# business hours\nresult := {"decision": "allow", "determining_policies": [], "diagnostics": [], "now": time.now_ns()}\n',
        },
      }),
    );
    expect(err).toBeInstanceOf(PolicyBundleError);
    expect(err).toMatchObject({
      code: 'nondeterministic_builtin',
      details: { builtins: ['time.now_ns'], locations: [{ builtin: 'time.now_ns', file: 'authz.rego', row: 4 }] },
    });
    expect(err.message).toMatch(/input\.context\.time/);
  });

  it('refuses built-ins the wasm runtime lacks, pointing at the calls', async () => {
    const err = await failure(
      compileRego({
        modules: {
          'authz.rego':
            'package writ.authz\n\nresult := {"decision": "allow", "determining_policies": [hex.encode(input.zone_id)], "diagnostics": []}\n',
        },
      }),
    );
    expect(err).toMatchObject({
      code: 'unsupported_builtin',
      details: { builtins: ['hex.encode'], locations: [{ builtin: 'hex.encode', file: 'authz.rego', row: 3 }] },
    });
  });

  it('refuses a policy without writ/authz/result (missing_entrypoint)', async () => {
    const err = await failure(compileRego({ modules: { 'authz.rego': 'package writ.authz\n\nallow := true\n' } }));
    expect(err).toMatchObject({ code: 'missing_entrypoint' });
  });

  it.each(['../evil.rego', 'a/b.rego', 'notrego.txt', '.hidden.rego', 'x\\y.rego', ''])(
    'refuses the module file name %j before touching the disk',
    async (name) => {
      const err = await failure(compileRego({ modules: { [name]: 'package writ.authz' } }, { opaPath: '/nonexistent/opa' }));
      expect(err).toBeInstanceOf(PolicyCompileError);
      expect((err as PolicyCompileError).errors[0]?.file).toBe(name);
    },
  );

  it('refuses an empty submission and non-object data', async () => {
    await expect(compileRego({ modules: {} })).rejects.toBeInstanceOf(PolicyCompileError);
    await expect(
      compileRego({ modules: { 'a.rego': 'package writ.authz' }, data: [1] as unknown as Record<string, unknown> }),
    ).rejects.toBeInstanceOf(PolicyCompileError);
  });

  it('kills opa past the timeout', async () => {
    // A stand-in "opa" that never answers: the compiler must not wait for it.
    const dir = mkdtempSync(join(tmpdir(), 'writ-fake-opa-'));
    const fake = join(dir, 'opa');
    writeFileSync(fake, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(fake, 0o755);
    try {
      const started = Date.now();
      const err = await failure(compileRego({ modules: { 'a.rego': 'package writ.authz' } }, { opaPath: fake, timeoutMs: 300 }));
      expect(err).toBeInstanceOf(PolicyCompileError);
      expect(err.message).toMatch(/did not finish within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('findOpaCli', () => {
  it('prefers WRIT_OPA_PATH, then PATH, then .tools/bin', async () => {
    expect(await findOpaCli({ WRIT_OPA_PATH: OPA, PATH: '' })).toBe(OPA);
    const dir = mkdtempSync(join(tmpdir(), 'writ-path-opa-'));
    try {
      writeFileSync(join(dir, 'opa'), '#!/bin/sh\n');
      chmodSync(join(dir, 'opa'), 0o755);
      expect(await findOpaCli({ PATH: dir })).toBe(join(dir, 'opa'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await findOpaCli({ PATH: '' })).toMatch(/\.tools\/bin\/opa$/);
  });

  it('explains how to install opa when WRIT_OPA_PATH is wrong', async () => {
    const err = await failure(findOpaCli({ WRIT_OPA_PATH: '/nonexistent/opa' }));
    expect(err).toBeInstanceOf(CompilerUnavailableError);
    expect((err as CompilerUnavailableError).hint).toContain('go install github.com/open-policy-agent/opa@v1.22.2');
    const run = await failure(compileRego({ modules: { 'a.rego': 'package writ.authz' } }, { opaPath: '/nonexistent/opa' }));
    expect(run).toBeInstanceOf(CompilerUnavailableError);
  });

  it('refuses a binary named opa that is not the opa CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writ-not-opa-'));
    try {
      writeFileSync(join(dir, 'opa'), '#!/bin/sh\nexit 0\n');
      chmodSync(join(dir, 'opa'), 0o755);
      const err = await failure(compileRego({ modules: { 'a.rego': 'package writ.authz' } }, { opaPath: join(dir, 'opa') }));
      expect(err).toBeInstanceOf(CompilerUnavailableError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
