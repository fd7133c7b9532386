import { z } from 'zod';
import { DiagnosticSchema, type Diagnostic } from '../domain/events.js';

/**
 * The policy port: what the STS, simulate, explain and replay need from a policy engine. Adapters
 * (opa-wasm today) live next to it; nothing outside src/policy imports an adapter's vendor types.
 */

/** The entrypoint every policy-set version must export (Rego `package writ.authz`, rule `result`). */
export const POLICY_ENTRYPOINT = 'writ/authz/result';

/** Reason recorded when a policy produced no usable answer: the decision is then a deny. */
export const POLICY_EVAL_FAILED = 'policy_eval_failed';

/**
 * Names writ adds to `determining_policies` when it, not the policy, shaped the outcome: a failed
 * evaluation, or scopes removed because they exceed what grants and resource allow.
 */
export const WRIT_GRANT_CEILING = 'writ.grant_ceiling';

/**
 * The policy input document, exactly as API.md's "Policy decision contract" defines it. `subject.claims`
 * and `actor.claims` hold claims only during live evaluation; explain and replay pass `{}`.
 */
export interface PolicyInput {
  schema_version: '1';
  zone_id: string;
  request_id: string;
  application: { id: string; name: string };
  subject: { id: string; type: 'user' | 'application'; claims: Record<string, unknown> };
  actor: { id: string; claims: Record<string, unknown> } | null;
  resource: { id: string; identifier: string; scopes: string[] };
  requested_scopes: string[];
  grants: { grant_id: string; scopes: string[]; user_id: string | null }[];
  /** null when the exchange is not tied to a session. */
  session: { id: string; status: 'active' | 'revoked'; started_at: string } | null;
  /** `time` is the decision time (RFC 3339) and the only clock a policy may read. */
  context: { time: string };
}

const Claims = z.record(z.string(), z.unknown());

/**
 * Schema of {@link PolicyInput}, for inputs that arrive from outside (simulate). The hot path builds inputs
 * itself and does not re-validate them.
 */
export const PolicyInputSchema: z.ZodType<PolicyInput> = z.object({
  schema_version: z.literal('1'),
  zone_id: z.string(),
  request_id: z.string(),
  application: z.object({ id: z.string(), name: z.string() }),
  subject: z.object({ id: z.string(), type: z.enum(['user', 'application']), claims: Claims }),
  actor: z.object({ id: z.string(), claims: Claims }).nullable(),
  resource: z.object({ id: z.string(), identifier: z.string(), scopes: z.array(z.string()) }),
  requested_scopes: z.array(z.string()),
  grants: z.array(z.object({ grant_id: z.string(), scopes: z.array(z.string()), user_id: z.string().nullable() })),
  session: z.object({ id: z.string(), status: z.enum(['active', 'revoked']), started_at: z.string() }).nullable(),
  context: z.object({ time: z.string() }),
});

/** One diagnostic of a decision; the same shape `DecisionRecorded` stores. */
export type PolicyDiagnostic = Diagnostic;

/**
 * A decision as writ records it. `scopes` is always present: the granted scopes on allow, `[]` on deny.
 */
export interface PolicyResult {
  decision: 'allow' | 'deny';
  scopes: string[];
  determining_policies: string[];
  diagnostics: PolicyDiagnostic[];
}

/** Identifies one immutable policy-set version and carries its OPA bundle (gzip tarball) bytes. */
export interface PolicyVersionBundle {
  zoneId: string;
  version: number;
  /** sha256 hex of `bundle`; checked on load so a corrupted ledger entry is never evaluated. */
  digest: string;
  bundle: Uint8Array;
}

/** A policy ready to decide. `evaluate` is synchronous and never throws: failures are denies. */
export interface LoadedPolicy {
  readonly digest: string;
  readonly entrypoints: readonly string[];
  evaluate(input: PolicyInput): PolicyResult;
}

/** The port: turns a stored policy-set version into something that decides. */
export interface PolicyEngine {
  load(version: PolicyVersionBundle): Promise<LoadedPolicy>;
}

/**
 * The result document a policy must produce. Limits mirror `DecisionRecorded`, so anything accepted here
 * can be appended to the ledger.
 */
const PolicyOutputSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  scopes: z.array(z.string().max(200)).max(200).optional(),
  determining_policies: z.array(z.string().min(1).max(200)).max(100),
  diagnostics: z.array(DiagnosticSchema).max(200),
});

/** Longest failure message kept: it is recorded and shown to API clients. */
const MAX_FAILURE_MESSAGE = 500;

/** The deny returned whenever a policy gives no usable answer. */
export function evaluationFailed(message: string): PolicyResult {
  return {
    decision: 'deny',
    scopes: [],
    determining_policies: [],
    diagnostics: [{ reason: POLICY_EVAL_FAILED, message: truncate(message, MAX_FAILURE_MESSAGE) }],
  };
}

/**
 * Turn a raw OPA result set (`[{result: <value>}]`, or `[]` when the rule is undefined) into a decision.
 *
 * Whatever the policy says, granted scopes never exceed requested ∩ resource scopes ∩ granted scopes: a
 * buggy or hostile custom policy cannot mint a wider mandate. Scopes removed that way are reported as
 * `scope_exceeds_grants`; an allow left with no scope becomes a deny.
 */
export function interpretResultSet(resultSet: unknown, input: PolicyInput): PolicyResult {
  if (!Array.isArray(resultSet)) return evaluationFailed('policy returned no result set');
  if (resultSet.length === 0) return evaluationFailed(`policy result is undefined (${POLICY_ENTRYPOINT})`);
  if (resultSet.length > 1) return evaluationFailed('policy returned more than one result');
  const first: unknown = resultSet[0];
  const value = typeof first === 'object' && first !== null ? (first as { result?: unknown }).result : undefined;
  return interpretPolicyOutput(value, input);
}

/** Validate one policy output value (the `result` document) and apply the grant ceiling. */
export function interpretPolicyOutput(value: unknown, input: PolicyInput): PolicyResult {
  if (value === undefined) return evaluationFailed(`policy result is undefined (${POLICY_ENTRYPOINT})`);
  const parsed = PolicyOutputSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return evaluationFailed(`policy result does not match the decision contract: ${issues}`);
  }
  const out = parsed.data;
  if (out.decision === 'deny') {
    return { decision: 'deny', scopes: [], determining_policies: out.determining_policies, diagnostics: out.diagnostics };
  }

  const ceiling = grantCeiling(input);
  // A policy that allows without naming scopes allows what was asked, within the ceiling. Sorted because
  // opa-wasm serialises Rego sets in hash order (OPA sorts them): the mandate must not depend on that.
  const proposed = dedupe(out.scopes ?? input.requested_scopes).sort();
  const scopes = proposed.filter((s) => ceiling.has(s));
  const removed = proposed.filter((s) => !ceiling.has(s));
  if (removed.length === 0 && scopes.length > 0) {
    return { decision: 'allow', scopes, determining_policies: out.determining_policies, diagnostics: out.diagnostics };
  }
  const diagnostics: PolicyDiagnostic[] = [
    ...out.diagnostics,
    ...removed.map((scope) => ({
      reason: 'scope_exceeds_grants',
      message: 'the policy allowed a scope that the request, the grants or the resource do not cover',
      scope: truncate(scope, 200),
    })),
  ];
  const determining_policies = [...out.determining_policies, WRIT_GRANT_CEILING];
  if (scopes.length === 0) {
    return {
      decision: 'deny',
      scopes: [],
      determining_policies,
      diagnostics: removed.length > 0 ? diagnostics : [...diagnostics, { reason: 'no_scope_allowed' }],
    };
  }
  return { decision: 'allow', scopes, determining_policies, diagnostics };
}

/** requested ∩ resource-defined ∩ covered by some grant. */
export function grantCeiling(input: PolicyInput): Set<string> {
  const defined = new Set(input.resource.scopes);
  const granted = new Set<string>();
  for (const g of input.grants) for (const s of g.scopes) granted.add(s);
  return new Set(input.requested_scopes.filter((s) => defined.has(s) && granted.has(s)));
}

/** Render whatever a failed evaluation threw (opa-wasm throws strings and plain objects too). */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
