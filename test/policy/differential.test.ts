import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpaWasmEngine } from '../../src/policy/opa-wasm-engine.js';
import type { PolicyInput } from '../../src/policy/policy-engine.js';
import { compileRego } from '../../src/policy/rego-compiler.js';
import { OPA } from './helpers.js';

/**
 * Differential test: the same Rego, evaluated by opa-wasm in-process (what writ runs) and by the reference
 * interpreter (`opa eval`), must give the same result document for every generated input. All inputs go
 * into one data document and one `opa eval` per policy evaluates them with `with input as`, so the
 * reference side costs one process per policy instead of one per input.
 */

const SEED = 0x5eed_2025;
const INPUTS = 1_000;

const execFileP = promisify(execFile);
const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const SCOPES = ['payments:read', 'payments:write', 'payments:refund', 'orders:read', 'orders:write', 'billing:export', 'admin'];
const TIMES = ['2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z', '2025-01-01T12:00:00Z', '2025-06-30T08:15:00Z'];

const scopeSet = (min = 0) => fc.uniqueArray(fc.constantFrom(...SCOPES), { minLength: min, maxLength: 4 });

/** Inputs shaped like the decision contract, with enough collisions (few ids, scopes, times) to hit every branch. */
const inputArb: fc.Arbitrary<PolicyInput> = fc
  .record({
    subjectId: fc.constantFrom('user-1', 'user-2', 'svc-batch'),
    subjectType: fc.constantFrom('user' as const, 'application' as const),
    claims: fc.record(
      {
        dept: fc.constantFrom('payments', 'orders', ' Payments ', 'Ωmega', ''),
        groups: fc.oneof(fc.uniqueArray(fc.constantFrom('admin-ops', 'admin-', 'dev', 'ops', 'Admin-x'), { maxLength: 3 }), fc.constant('admin-ops')),
        roles: fc.uniqueArray(fc.constantFrom<unknown>('reader', 'writer', 'auditor', 'root', 'root', 'lead', 'lead', 42, null), { minLength: 1, maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    actor: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      { arbitrary: fc.record({ id: fc.constantFrom('svc-batch', 'svc-UP', 'bob', 'svc-a-1'), claims: fc.constant({}) }), weight: 2 },
    ),
    appName: fc.constantFrom('Billing', 'ORDERS', 'café', 'x', '李雷应用'),
    resourceScopes: scopeSet(1),
    requested: fc.oneof(scopeSet(), fc.constant<string[]>(['payments:read']), fc.constant<string[]>(['bogus:scope', 'payments:read'])),
    grants: fc.array(
      fc.record({
        grant_id: fc.constantFrom('g-1', 'g-2', 'g-4', 'g-5', 'g-3-revoked'),
        scopes: scopeSet(1),
        user_id: fc.constantFrom<string | null>(null, null, 'user-1', 'user-2'),
      }),
      { maxLength: 3 },
    ),
    sessionStatus: fc.constantFrom('active', 'active', 'active', 'active', 'active', 'revoked', 'none'),
    // Mostly sessions that started before the decision time, sometimes after (a clock-skew denial).
    startedAt: fc.constantFrom(TIMES[0]!, TIMES[0]!, TIMES[1]!, TIMES[3]!),
    now: fc.constantFrom(TIMES[0]!, TIMES[1]!, TIMES[2]!, TIMES[2]!, TIMES[3]!),
    // Correlate request, resource and grants often enough that allows are common, not a fluke.
    aligned: fc.constantFrom(true, true, false),
    mode: fc.constantFrom('from-grants', 'from-grants', 'as-generated'),
    mask: fc.integer({ min: 1, max: 15 }),
  })
  .map((g) => {
    const granted = [...new Set(g.grants.flatMap((x) => x.scopes))].sort();
    const resourceScopes = g.aligned ? [...new Set([...g.resourceScopes, ...granted])] : g.resourceScopes;
    const picked = granted.filter((_s, i) => i < 4 && (g.mask >> i) & 1);
    const requested = g.mode === 'from-grants' && picked.length > 0 ? picked : g.requested;
    return { ...g, resourceScopes, requested };
  })
  .map(
    (g, i = 0): PolicyInput => ({
      schema_version: '1',
      zone_id: 'zone-diff',
      request_id: `req-${i}`,
      application: { id: 'app-1', name: g.appName },
      subject: { id: g.subjectId, type: g.subjectType, claims: g.claims as Record<string, unknown> },
      actor: g.actor,
      resource: { id: 'res-1', identifier: 'resource://payments', scopes: g.resourceScopes },
      requested_scopes: g.requested,
      grants: g.grants,
      session: g.sessionStatus === 'none' ? null : { id: 'sess-1', status: g.sessionStatus, started_at: g.startedAt },
      context: { time: g.now },
    }),
  );

interface PolicyCase {
  name: string;
  modules: Record<string, string>;
  data?: Record<string, unknown>;
}

async function cases(): Promise<PolicyCase[]> {
  return [
    { name: 'default', modules: { 'authz.rego': await readFile(new URL('../../policy/default/authz.rego', import.meta.url), 'utf8') } },
    { name: 'dept', modules: { 'authz.rego': await fixture('dept-policy.rego') } },
    {
      name: 'roles',
      modules: { 'authz.rego': await fixture('roles-policy.rego') },
      data: JSON.parse(await fixture('roles-data.json')) as Record<string, unknown>,
    },
  ];
}

/** Result sets from the reference interpreter: one `[value]` or `[]` (undefined) per input. */
async function opaEvalAll(policy: PolicyCase, inputs: PolicyInput[]): Promise<unknown[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'writ-diff-'));
  try {
    const args = ['eval', '--format', 'json', '--fail-defined=false'];
    for (const [name, text] of Object.entries(policy.modules)) {
      await writeFile(join(dir, name), text);
      args.push('-d', join(dir, name));
    }
    if (policy.data) {
      await writeFile(join(dir, 'data.json'), JSON.stringify(policy.data));
      args.push('-d', join(dir, 'data.json'));
    }
    await writeFile(join(dir, 'inputs.json'), JSON.stringify({ writ_difftest: { inputs } }));
    args.push('-d', join(dir, 'inputs.json'));
    args.push('[[r | r := data.writ.authz.result with input as x] | some x in data.writ_difftest.inputs]');
    const { stdout } = await execFileP(OPA, args.filter((a) => a !== '--fail-defined=false'), {
      maxBuffer: 256 * 1024 * 1024,
      timeout: 120_000,
    });
    const out = JSON.parse(stdout) as { result?: { expressions: { value: unknown[][] }[] }[] };
    const value = out.result?.[0]?.expressions[0]?.value;
    if (!Array.isArray(value)) throw new Error(`unexpected opa eval output: ${stdout.slice(0, 500)}`);
    return value;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Canonical JSON (sorted keys) so key order never counts as a difference. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

describe('differential: opa-wasm vs opa eval', () => {
  const inputs = fc.sample(inputArb, { seed: SEED, numRuns: INPUTS }).map((input, i) => ({ ...input, request_id: `req-${i}` }));

  it(`generates ${INPUTS} distinct inputs`, () => {
    expect(inputs).toHaveLength(INPUTS);
    expect(new Set(inputs.map((i) => canonical({ ...i, request_id: '' }))).size).toBeGreaterThan(INPUTS * 0.95);
  });

  it.each(['default', 'dept', 'roles'])('%s policy: identical results for every input', { timeout: 120_000 }, async (name) => {
    const policy = (await cases()).find((c) => c.name === name)!;
    const compiled = await compileRego({ modules: policy.modules, ...(policy.data ? { data: policy.data } : {}) }, { opaPath: OPA });
    const wasm = await new OpaWasmEngine().load({ zoneId: 'zone-diff', version: 1, digest: compiled.digest, bundle: compiled.bundle });
    const reference = await opaEvalAll(policy, inputs);
    expect(reference).toHaveLength(inputs.length);

    const mismatches: { index: number; input: PolicyInput; wasm: unknown; opa: unknown }[] = [];
    const decisions = { allow: 0, deny: 0, undefined: 0 };
    const reasons: Record<string, number> = {};
    inputs.forEach((input, index) => {
      let got: unknown;
      try {
        const rs = wasm.evaluateRaw(input) as { result: unknown }[];
        got = rs.map((r) => r.result);
      } catch (err) {
        got = { thrown: String((err as { message?: string }).message ?? err) };
      }
      const want = reference[index];
      if (canonical(got) !== canonical(want)) mismatches.push({ index, input, wasm: got, opa: want });
      const first = Array.isArray(want) ? (want[0] as { decision?: string; diagnostics?: { reason: string }[] } | undefined) : undefined;
      decisions[(first?.decision ?? 'undefined') as keyof typeof decisions]++;
      for (const r of new Set(first?.diagnostics?.map((x) => x.reason))) reasons[r] = (reasons[r] ?? 0) + 1;
    });

    expect(mismatches.slice(0, 3), `${mismatches.length} of ${inputs.length} inputs differ`).toEqual([]);
    // The generator must exercise both outcomes, or agreement would prove little.
    expect(decisions.allow, JSON.stringify(decisions)).toBeGreaterThan(INPUTS * 0.03);
    expect(decisions.deny, JSON.stringify(decisions)).toBeGreaterThan(INPUTS * 0.03);
    expect(decisions.undefined).toBe(0);
    console.log(`differential ${name}: ${inputs.length} inputs, 0 mismatches, ${JSON.stringify(decisions)}, reasons ${JSON.stringify(reasons)}`);
  });
});
