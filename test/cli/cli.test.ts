import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { freePort } from '../support/redis-server.js';
import { REPO_ROOT, startWritProcess, type WritProcess } from '../support/writ-process.js';

/**
 * The real `writ` binary (bin/writ.js, as a child process) against a real server (a child process too):
 * one server per file, the steps below share its state and run in order.
 */

const BIN = join(REPO_ROOT, 'bin', 'writ.js');
const ISSUER = 'https://idp.cli.test';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: WritProcess;
let tmp: string;

/** Run `node bin/writ.js <args>` with WRIT_URL and WRIT_ADMIN_TOKEN of the test server (override or unset via env). */
function writ(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WRIT_')) childEnv[k] = v;
  Object.assign(childEnv, { WRIT_URL: server.url, WRIT_ADMIN_TOKEN: server.adminToken });
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run with --json, expect exit 0 and return the parsed stdout. */
async function writJson<T = Record<string, unknown>>(args: string[], env: Record<string, string | undefined> = {}): Promise<T> {
  const r = await writ([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`writ ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`writ ${args.join(' ')} --json printed no JSON:\n${r.stdout}`);
  }
}

/** The last line of stderr as JSON (errors with --json). */
function stderrJson(r: Run): Record<string, unknown> {
  const line = r.stderr.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

const POLICY = `package writ.authz

# Allow exactly the requested scopes that a grant covers and the resource defines; deny naming the others.
granted contains s if {
	some g in input.grants
	some s in g.scopes
}

missing contains s if {
	some s in input.requested_scopes
	not s in granted
}

undefined contains s if {
	some s in input.requested_scopes
	not s in input.resource.scopes
}

default result := {"decision": "deny", "scopes": [], "determining_policies": ["cli_test.empty"], "diagnostics": [{"reason": "no_scopes_requested"}]}

result := {
	"decision": "allow",
	"scopes": input.requested_scopes,
	"determining_policies": ["cli_test.grants"],
	"diagnostics": [],
} if {
	count(input.requested_scopes) > 0
	count(missing) == 0
	count(undefined) == 0
}

result := {
	"decision": "deny",
	"scopes": [],
	"determining_policies": ["cli_test.grants"],
	"diagnostics": array.concat(
		[{"reason": "scope_not_granted", "scope": s} | some s in missing],
		[{"reason": "scope_undefined", "scope": s} | some s in undefined],
	),
} if {
	count(missing) + count(undefined) > 0
}
`;

/** What the command run by `writ run` prints: whether it got a mandate, its JWT typ, and no stronger secret. */
const PROBE = `
const t = process.env.WRIT_MANDATE;
const h = t ? JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString('utf8')) : null;
console.log(JSON.stringify({
  mandate_set: Boolean(t),
  typ: h ? h.typ : null,
  request_id: process.env.WRIT_REQUEST_ID ?? null,
  admin_token_visible: 'WRIT_ADMIN_TOKEN' in process.env,
  client_secret_visible: 'WRIT_CLIENT_SECRET' in process.env,
}));
`;

// State shared by the steps.
const s = {
  zone: '',
  app: '',
  secret: '',
  resource: '',
  grant: '',
  subjectToken: '',
  allowedRequest: '',
  deniedRequest: '',
  exportFile: '',
};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'writ-cli-'));
  server = await startWritProcess();
});

afterAll(async () => {
  await server?.stop();
  await server?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('writ CLI against a running server', () => {
  it('status --ready --json reports a ready server', async () => {
    const r = await writ(['status', '--ready', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.ready).toBe(true);
    expect(out.url).toBe(server.url);
    expect(out.checks).toBeTypeOf('object');
  });

  it('zone create / list (JSON and table)', async () => {
    const z = await writJson(['zone', 'create', '--name', 'acme']);
    expect(z).toMatchObject({ name: 'acme', active_policy_version: 1 });
    expect(z.zone_id).toBeTypeOf('string');
    s.zone = z.zone_id as string;

    const list = await writJson<Array<Record<string, unknown>>>(['zone', 'list']);
    expect(list.map((x) => x.zone_id)).toContain(s.zone);

    const human = await writ(['zone', 'list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ZONE_ID\s+NAME/m);
    expect(human.stdout).toContain(s.zone);
  });

  it('app create / list', async () => {
    const a = await writJson(['app', 'create', '--zone', s.zone, '--name', 'billing']);
    expect(a.application_id).toBeTypeOf('string');
    expect(a.client_secret).toBeTypeOf('string');
    s.app = a.application_id as string;
    s.secret = a.client_secret as string;
    const list = await writJson<Array<Record<string, unknown>>>(['app', 'list', '--zone', s.zone]);
    expect(list).toEqual([expect.objectContaining({ application_id: s.app, name: 'billing' })]);
    expect(JSON.stringify(list)).not.toContain(s.secret);
  });

  it('resource create / list', async () => {
    const r = await writJson(['resource', 'create', '--zone', s.zone, '--identifier', 'resource://payments', '--scopes', 'payments:read,payments:write']);
    expect(r).toMatchObject({ identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] });
    s.resource = r.resource_id as string;
    const list = await writJson<Array<Record<string, unknown>>>(['resource', 'list', '--zone', s.zone]);
    expect(list.map((x) => x.resource_id)).toEqual([s.resource]);
  });

  it('issuer add with a public ES256 JWKS from a file', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'cli-test-1', alg: 'ES256', use: 'sig' };
    const jwksFile = join(tmp, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    const r = await writJson(['issuer', 'add', '--zone', s.zone, '--issuer', ISSUER, '--jwks', jwksFile]);
    expect(r).toMatchObject({ issuer: ISSUER });
    const list = await writJson<Array<Record<string, unknown>>>(['issuer', 'list', '--zone', s.zone]);
    expect(list.map((x) => x.issuer)).toEqual([ISSUER]);
    s.subjectToken = await new SignJWT({ email: 'alice@example.test' })
      .setProtectedHeader({ alg: 'ES256', kid: 'cli-test-1', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);

    const missing = await writ(['issuer', 'add', '--zone', s.zone, '--issuer', ISSUER, '--jwks', join(tmp, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json');
  });

  it('grant create / list / get', async () => {
    const g = await writJson(['grant', 'create', '--zone', s.zone, '--app', s.app, '--resource', s.resource, '--scopes', 'payments:read']);
    expect(g).toMatchObject({ status: 'active' });
    s.grant = g.grant_id as string;
    const list = await writJson<Array<Record<string, unknown>>>(['grant', 'list', '--zone', s.zone, '--app', s.app]);
    expect(list.map((x) => x.grant_id)).toEqual([s.grant]);
    const one = await writJson(['grant', 'get', s.grant, '--zone', s.zone]);
    expect(one).toMatchObject({ grant_id: s.grant, status: 'active', scopes: ['payments:read'] });

    const human = await writ(['grant', 'list', '--zone', s.zone]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^GRANT_ID\s+STATUS/m);
    expect(human.stdout).toContain(s.grant);
  });

  it('grant create beyond the resource scopes is refused with its code (exit 1)', async () => {
    const r = await writ(['grant', 'create', '--zone', s.zone, '--app', s.app, '--resource', s.resource, '--scopes', 'payments:admin', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(stderrJson(r)).toMatchObject({ error: 'grant_scopes_exceed_resource' });
  });

  it('policy-set create --rego <dir> / list / activate / simulate --input', async () => {
    const dir = join(tmp, 'policy');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'authz.rego'), POLICY);
    await writeFile(join(dir, 'README.md'), 'not a module');
    const v = await writJson(['policy-set', 'create', '--zone', s.zone, '--rego', dir]);
    expect(v).toMatchObject({ version: 2 });
    expect(v.digest).toBeTypeOf('string');

    const list = await writJson<{ active_version: number; versions: Array<Record<string, unknown>> }>(['policy-set', 'list', '--zone', s.zone]);
    expect(list.active_version).toBe(1);
    expect(list.versions.map((x) => x.version)).toEqual(expect.arrayContaining([1, 2]));

    const act = await writJson(['policy-set', 'activate', '2', '--zone', s.zone]);
    expect(act).toMatchObject({ active_version: 2, previous_version: 1 });

    const input = {
      schema_version: '1',
      zone_id: s.zone,
      request_id: 'sim-1',
      application: { id: s.app, name: 'billing' },
      subject: { id: 'alice', type: 'user', claims: {} },
      actor: null,
      resource: { id: s.resource, identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] },
      requested_scopes: ['payments:read'],
      grants: [{ grant_id: s.grant, scopes: ['payments:read'], user_id: null }],
      session: { id: 'ses_sim', status: 'active', started_at: new Date().toISOString() },
      context: { time: new Date().toISOString() },
    };
    const allowFile = join(tmp, 'input-allow.json');
    await writeFile(allowFile, JSON.stringify(input));
    const allow = await writJson(['policy-set', 'simulate', '2', '--zone', s.zone, '--input', allowFile]);
    expect(allow).toMatchObject({ version: 2, decision: 'allow', determining_policies: ['cli_test.grants'] });

    const denyFile = join(tmp, 'input-deny.json');
    await writeFile(denyFile, JSON.stringify({ ...input, requested_scopes: ['payments:write'] }));
    const deny = await writJson(['policy-set', 'simulate', '2', '--zone', s.zone, '--input', denyFile]);
    expect(deny).toMatchObject({ decision: 'deny', diagnostics: [expect.objectContaining({ reason: 'scope_not_granted', scope: 'payments:write' })] });

    const bad = await writ(['policy-set', 'simulate', '2', '--zone', s.zone, '--input', join(tmp, 'missing.json')]);
    expect(bad.code).toBe(2);
  });

  it('policy-set create with invalid Rego is refused with the compiler messages (exit 1)', async () => {
    const dir = join(tmp, 'bad-policy');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'broken.rego'), 'package writ.authz\n\nresult := {"decision": \n');
    const r = await writ(['policy-set', 'create', '--zone', s.zone, '--rego', dir, '--json']);
    expect(r.code).toBe(1);
    const err = stderrJson(r);
    expect(err.error).toBe('invalid_policy');
    expect(JSON.stringify(err.details)).toContain('broken.rego');
  });

  it('run exchanges a token and runs the command with WRIT_MANDATE (and nothing stronger)', async () => {
    const env = { WRIT_CLIENT_ID: s.app, WRIT_CLIENT_SECRET: s.secret, WRIT_SUBJECT_TOKEN: s.subjectToken };
    const r = await writ(['run', '--json', '--resource', 'resource://payments', '--scope', 'payments:read', '--', process.execPath, '-e', PROBE], env);
    expect(r.code, r.stderr).toBe(0);
    const probe = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(probe).toMatchObject({ mandate_set: true, typ: 'at+jwt', admin_token_visible: false, client_secret_visible: false });
    const info = JSON.parse(r.stderr.trim().split('\n')[0]!) as Record<string, unknown>;
    expect(info.access_token).toBeUndefined();
    expect(info).toMatchObject({ scope: 'payments:read' });
    expect(info.request_id).toBe(probe.request_id);
    s.allowedRequest = info.request_id as string;

    // The command's exit code is writ's.
    const seven = await writ(['run', '--resource', 'resource://payments', '--scope', 'payments:read', '--', process.execPath, '-e', 'process.exit(7)'], env);
    expect(seven.code).toBe(7);
  });

  it('run with a scope the grant does not cover: access_denied on stderr, exit 1, command not run', async () => {
    const env = { WRIT_CLIENT_ID: s.app, WRIT_CLIENT_SECRET: s.secret, WRIT_SUBJECT_TOKEN: s.subjectToken };
    const r = await writ(['run', '--json', '--resource', 'resource://payments', '--scope', 'payments:write', '--', process.execPath, '-e', 'console.log("RAN")'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('RAN');
    const err = stderrJson(r);
    expect(err.error).toBe('access_denied');
    expect(err.request_id).toBeTypeOf('string');
    s.deniedRequest = err.request_id as string;

    const human = await writ(['run', '--resource', 'resource://payments', '--scope', 'payments:write', '--', process.execPath, '-e', '0'], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^writ: access_denied: .*\(request_id \S+\)/m);

    const noCreds = await writ(['run', '--resource', 'resource://payments', '--scope', 'payments:read', '--', process.execPath, '-e', '0']);
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('WRIT_CLIENT_ID');
  });

  it('audit tail lists both decisions and filters by decision', async () => {
    const all = await writJson<Array<Record<string, unknown>>>(['audit', 'tail', '--zone', s.zone]);
    const ids = all.map((d) => d.request_id);
    expect(ids).toContain(s.allowedRequest);
    expect(ids).toContain(s.deniedRequest);
    // Oldest first, like `tail`.
    expect(ids.indexOf(s.allowedRequest)).toBeLessThan(ids.indexOf(s.deniedRequest));

    const denied = await writJson<Array<Record<string, unknown>>>(['audit', 'tail', '--zone', s.zone, '--decision', 'deny']);
    expect(denied.every((d) => d.decision === 'deny')).toBe(true);
    expect(denied.map((d) => d.request_id)).toContain(s.deniedRequest);
    expect(denied.map((d) => d.request_id)).not.toContain(s.allowedRequest);

    const human = await writ(['audit', 'tail', '--zone', s.zone, '--limit', '5']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^OCCURRED_AT\s+REQUEST_ID\s+DECISION/m);

    const bad = await writ(['audit', 'tail', '--zone', s.zone, '--decision', 'maybe']);
    expect(bad.code).toBe(2);
  });

  it('audit trace shows what was decided and why', async () => {
    const t = await writJson(['audit', 'trace', s.allowedRequest, '--zone', s.zone]);
    expect(t).toMatchObject({
      request_id: s.allowedRequest,
      decision: 'allow',
      application_id: s.app,
      policy_set_version: 2,
      determining_policies: ['cli_test.grants'],
      granted_scopes: ['payments:read'],
    });
    expect(t.session_id).toBeTypeOf('string');
    const d = await writJson(['audit', 'trace', s.deniedRequest, '--zone', s.zone]);
    expect(d).toMatchObject({ decision: 'deny', requested_scopes: ['payments:write'] });
    expect(d.diagnostics).toEqual([expect.objectContaining({ reason: 'scope_not_granted', scope: 'payments:write' })]);

    const human = await writ(['audit', 'trace', s.deniedRequest, '--zone', s.zone]);
    expect(human.stdout).toMatch(/^decision\s+deny$/m);
  });

  it('audit explain re-evaluates as of decision time; its output feeds simulate', async () => {
    const e = await writJson(['audit', 'explain', s.deniedRequest, '--zone', s.zone]);
    expect(e).toMatchObject({ request_id: s.deniedRequest, final_decision: 'deny', policy_set_version: 2, input_digest_matches: true });
    expect(e.reevaluation).toMatchObject({ decision: 'deny', matches_recorded: true });
    // Claims are never recorded: the reconstructed input has none.
    expect(JSON.stringify(e.policy_input)).not.toContain('alice@example.test');

    const file = join(tmp, 'explain.json');
    await writeFile(file, JSON.stringify(e));
    const sim = await writJson(['policy-set', 'simulate', '2', '--zone', s.zone, '--input', file]);
    expect(sim).toMatchObject({ decision: 'deny' });
    const byId = await writJson(['policy-set', 'simulate', '2', '--zone', s.zone, '--request-id', s.allowedRequest]);
    expect(byId).toMatchObject({ decision: 'allow' });
  });

  it('audit replay finds no mismatches', async () => {
    const r = await writJson(['audit', 'replay', '--zone', s.zone]);
    expect(r).toMatchObject({ mismatches: 0 });
    expect(Number(r.evaluated)).toBeGreaterThanOrEqual(3);
  });

  it('audit export --out writes a chained export that verify accepts', async () => {
    s.exportFile = join(tmp, 'export.ndjson');
    const out = await writJson(['audit', 'export', '--zone', s.zone, '--out', s.exportFile]);
    const lines = (await readFile(s.exportFile, 'utf8')).trim().split('\n');
    expect(out).toMatchObject({ file: s.exportFile, lines: lines.length });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) expect(r).toEqual(expect.objectContaining({ seq: expect.any(Number), prev_hash: expect.any(String), hash: expect.any(String) }));
    expect(records.map((r) => r.request_id)).toEqual(expect.arrayContaining([s.allowedRequest, s.deniedRequest]));

    const v = await writJson(['audit', 'verify', s.exportFile]);
    expect(v).toMatchObject({ ok: true });
    const human = await writ(['audit', 'verify', s.exportFile]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ok\s+true$/m);
  });

  it('audit verify of a tampered copy exits 4 naming the first bad seq', async () => {
    const lines = (await readFile(s.exportFile, 'utf8')).trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const idx = records.findIndex((r) => r.request_id === s.deniedRequest);
    const victim = records[idx]!;
    // Rewrite history: the denied request now looks allowed.
    lines[idx] = JSON.stringify({ ...victim, decision: 'allow' });
    const tampered = join(tmp, 'tampered.ndjson');
    await writeFile(tampered, `${lines.join('\n')}\n`);

    const r = await writ(['audit', 'verify', tampered]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`first bad seq ${String(victim.seq)}`);
    const j = await writ(['audit', 'verify', tampered, '--json']);
    expect(j.code).toBe(4);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, first_bad_seq: victim.seq, reason: 'edited' });
    expect(stderrJson(j)).toMatchObject({ error: 'export_tampered' });

    const missing = await writ(['audit', 'verify', join(tmp, 'no-such-export.ndjson')]);
    expect(missing.code).toBe(2);
  });

  it('grant revoke, then again: grant_already_revoked (exit 1)', async () => {
    const r = await writJson(['grant', 'revoke', s.grant, '--zone', s.zone]);
    expect(r).toMatchObject({ grant_id: s.grant, status: 'revoked' });
    const again = await writ(['grant', 'revoke', s.grant, '--zone', s.zone, '--json']);
    expect(again.code).toBe(1);
    expect(stderrJson(again)).toMatchObject({ error: 'grant_already_revoked' });
  });

  it('a zone admin key implies its zone', async () => {
    const k = await writJson(['zone', 'key', '--zone', s.zone, '--name', 'ops']);
    expect(k.token).toBeTypeOf('string');
    const apps = await writJson<Array<Record<string, unknown>>>(['app', 'list'], { WRIT_ADMIN_TOKEN: k.token as string });
    expect(apps.map((a) => a.application_id)).toEqual([s.app]);
    // The root key has no zone: without --zone that is a usage error.
    const noZone = await writ(['app', 'list']);
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toContain('--zone');
  });

  it('errors: unknown grant -> 1 with the code; no admin key -> 2; unreachable -> 3; bad usage -> 2', async () => {
    const unknown = await writ(['grant', 'get', 'grt_00000000000000000000000000', '--zone', s.zone]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^writ: \w+_not_found: .*\(request_id \S+\)$/m);
    const unknownJson = await writ(['grant', 'get', 'grt_00000000000000000000000000', '--zone', s.zone, '--json']);
    expect(unknownJson.code).toBe(1);
    const err = stderrJson(unknownJson);
    expect(err.error).toMatch(/_not_found$/);
    expect(err.request_id).toBeTypeOf('string');

    const noToken = await writ(['zone', 'list'], { WRIT_ADMIN_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('WRIT_ADMIN_TOKEN');

    const dead = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await writ(['zone', 'list'], { WRIT_URL: dead });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(dead);
    const statusDead = await writ(['status', '--ready', '--json'], { WRIT_URL: dead });
    expect(statusDead.code).toBe(3);

    const usage = await writ(['grant', 'create', '--app', s.app]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--resource');
    const unknownCommand = await writ(['frobnicate']);
    expect(unknownCommand.code).toBe(2);
  });

  it('--help exits 0 and documents exit codes and environment', async () => {
    const r = await writ(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toContain('WRIT_ADMIN_TOKEN');
    const run = await writ(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('WRIT_MANDATE');
  });

  it('offline, on the stopped server data dir: projections rebuild and keys rotate', async () => {
    await server.stop();
    const env = { WRIT_DATA_DIR: server.dataDir, WRIT_URL: undefined, WRIT_ADMIN_TOKEN: undefined };
    const rebuilt = await writJson(['projections', 'rebuild'], env);
    expect(Number(rebuilt.events)).toBeGreaterThan(10);
    expect(BigInt(rebuilt.position as string)).toBeGreaterThan(0n);
    const rotated = await writJson<{ active_kid: string; published_kids: string[] }>(['keys', 'rotate'], env);
    expect(rotated.published_kids).toHaveLength(2);
    expect(rotated.published_kids).toContain(rotated.active_kid);
  });
});

describe('writ command tree', () => {
  const leaves = (cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> =>
    cmd.commands.length === 0 ? [{ path: path.join(' '), cmd }] : cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));

  it('every command has a description and --json (serve only logs JSON lines)', () => {
    const all = leaves(buildProgram());
    expect(all.length).toBeGreaterThan(20);
    for (const { path, cmd } of all) {
      expect(cmd.description(), path).not.toBe('');
      if (path === 'serve') continue;
      expect(cmd.options.map((o) => o.long), path).toContain('--json');
    }
  });

  it('every option is described', () => {
    for (const { path, cmd } of leaves(buildProgram())) {
      for (const o of cmd.options) expect(o.description, `${path} ${o.flags}`).not.toBe('');
    }
  });

  it('the commands of API.md exist', () => {
    const paths = new Set(leaves(buildProgram()).map((l) => l.path));
    for (const p of [
      'serve', 'status', 'zone create', 'zone list', 'app create', 'app list', 'resource create', 'resource list',
      'grant create', 'grant list', 'grant get', 'grant revoke', 'policy-set create', 'policy-set list', 'policy-set activate',
      'policy-set simulate', 'audit tail', 'audit trace', 'audit explain', 'audit replay', 'audit export', 'audit verify',
      'projections rebuild', 'run',
    ]) {
      expect(paths, p).toContain(p);
    }
  });
});
