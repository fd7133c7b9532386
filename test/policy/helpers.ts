import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { PolicyInput } from '../../src/policy/policy-engine.js';

/** The opa CLI the suite uses (setup.sh installs the pinned one into .tools/bin). */
export const OPA = process.env.WRIT_OPA_PATH ?? new URL('../../.tools/bin/opa', import.meta.url).pathname;

/** A valid, allow-shaped input; override fields per test. */
export function makeInput(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    schema_version: '1',
    zone_id: 'zone-1',
    request_id: 'req-1',
    application: { id: 'app-1', name: 'billing' },
    subject: { id: 'user-1', type: 'user', claims: {} },
    actor: null,
    resource: { id: 'res-1', identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] },
    requested_scopes: ['payments:read'],
    grants: [{ grant_id: 'grant-1', scopes: ['payments:read'], user_id: null }],
    session: { id: 'sess-1', status: 'active', started_at: '2025-01-01T00:00:00Z' },
    context: { time: '2025-01-01T12:00:00Z' },
    ...overrides,
  };
}

/**
 * Run `opa build` directly (no writ checks, no capability restriction), the way a user builds a bundle to
 * upload. Returns the bundle bytes.
 */
export function opaBuild(modules: Record<string, string>, args: string[] = ['-t', 'wasm', '-e', 'writ/authz/result']): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'writ-test-build-'));
  try {
    for (const [name, text] of Object.entries(modules)) writeFileSync(join(dir, name), text);
    execFileSync(OPA, ['build', ...args, '-o', join(dir, 'out.tar.gz'), '.'], { cwd: dir, stdio: 'pipe' });
    return new Uint8Array(readFileSync(join(dir, 'out.tar.gz')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One tar member for {@link makeTar}. */
export interface TarMember {
  name: string;
  content?: Uint8Array | string;
  /** ustar type flag: '0' file, '2' symlink, '5' directory, 'x' PAX header. */
  type?: string;
  linkname?: string;
}

/** Write a ustar archive by hand, to craft what `opa build` never writes (traversal, links). */
export function makeTar(members: TarMember[], { end = true }: { end?: boolean } = {}): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const m of members) {
    const content = typeof m.content === 'string' ? new TextEncoder().encode(m.content) : (m.content ?? new Uint8Array());
    const h = new Uint8Array(512);
    const put = (s: string, off: number, len: number) => h.set(new TextEncoder().encode(s).subarray(0, len), off);
    put(m.name, 0, 100);
    put('0000644\0', 100, 8);
    put('0000000\0', 108, 8);
    put('0000000\0', 116, 8);
    put(content.byteLength.toString(8).padStart(11, '0') + '\0', 124, 12);
    put('00000000000\0', 136, 12);
    put(m.type ?? '0', 156, 1);
    if (m.linkname) put(m.linkname, 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    blocks.push(h);
    const padded = new Uint8Array(Math.ceil(content.byteLength / 512) * 512);
    padded.set(content);
    blocks.push(padded);
  }
  if (end) blocks.push(new Uint8Array(1024));
  return concat(blocks);
}

/** A PAX extended header member carrying `path`. */
export function paxPath(path: string): TarMember {
  const body = (len: number) => `${len} path=${path}\n`;
  let len = body(0).length;
  while (body(len).length !== len) len = body(len).length;
  return { name: 'PaxHeader', type: 'x', content: body(len) };
}

export function gzip(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes));
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** A minimal valid Rego module for package writ.authz with a constant result. */
export const ALLOW_ALL_REGO = `package writ.authz

result := {"decision": "allow", "determining_policies": ["test.allow_all"], "diagnostics": []}
`;

/** Evaluate `data.writ.authz.result` with the reference interpreter (`opa eval`) for one input. */
export function opaEvalResult(modules: Record<string, string>, input: unknown): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'writ-test-eval-'));
  try {
    const args = ['eval', '--format', 'json'];
    for (const [name, text] of Object.entries(modules)) {
      writeFileSync(join(dir, name), text);
      args.push('-d', join(dir, name));
    }
    writeFileSync(join(dir, 'input.json'), JSON.stringify(input));
    args.push('-i', join(dir, 'input.json'), 'data.writ.authz.result');
    const out = JSON.parse(execFileSync(OPA, args, { encoding: 'utf8' })) as { result?: { expressions: { value: unknown }[] }[] };
    return out.result?.[0]?.expressions[0]?.value;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
