import type { Diagnostic } from '../domain/events.js';
import type { PolicyInput } from '../decision/policy-input.js';
import type { AuditContext } from './audit-ports.js';
import { AuditError } from './audit-errors.js';
import { readDecision, type RecordedDecision } from './decision-record.js';
import { policyInputAsOf, type InputAsOf, type MissingFact } from './input-as-of.js';
import { timeOfPosition } from './ledger-time.js';
import { decideExchange } from '../decision/decide-exchange.js';

/** Re-evaluation of a rebuilt input with the recorded policy-set version. */
export interface Reevaluation {
  /** Null when the input could not be rebuilt or the version could not be loaded (diagnostic `policy_unavailable`). */
  decision: 'allow' | 'deny' | null;
  scopes: string[];
  determining_policies: string[];
  diagnostics: Diagnostic[];
  /** Same decision and same granted scopes as recorded; null when nothing could be evaluated. */
  matches_recorded: boolean | null;
}

/** One denial of the decision, with the input it was decided on. */
export interface Denial {
  policy_input: PolicyInput | null;
  determining_policies: string[];
  diagnostics: Diagnostic[];
}

/** The explanation of a decision (API.md, Audit: `.../explain`). */
export interface Explanation {
  request_id: string;
  final_decision: 'allow' | 'deny';
  occurred_at: string;
  /** Where the read models stood when the decision was taken, and when the ledger recorded that position. */
  as_of: { position: string; time: string | null };
  policy_set_version: number | null;
  policy_set_digest: string | null;
  /** The policy input rebuilt from the ledger as of `as_of` (claims `{}`: they are never recorded). */
  policy_input: PolicyInput | null;
  /** The rebuilt input hashes to the recorded `input_digest`. */
  input_digest_matches: boolean;
  recorded_input_digest: string | null;
  rebuilt_input_digest: string | null;
  reevaluation: Reevaluation;
  /** The recorded denial (empty for an allow). */
  denied: Denial[];
  requested_scopes: string[];
  granted_scopes: string[];
  /** Facts the input needs that the ledger did not hold as of `as_of`. */
  missing_facts: MissingFact[];
  /** The streams read to rebuild the input, each up to `as_of.position`. */
  streams_read: string[];
}

/** Same members, any order, no repeats counted. */
export function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size !== sb.size) return false;
  for (const s of sa) if (!sb.has(s)) return false;
  return true;
}

/**
 * Decide a rebuilt input again with a policy-set version (the recorded one for explain), the way the STS
 * decides; `matches_recorded` compares decision and granted scopes with the record.
 */
export async function reevaluate(
  ctx: Pick<AuditContext, 'policies'>,
  rec: RecordedDecision,
  input: PolicyInput | null,
  version: number | null,
): Promise<Reevaluation> {
  if (input === null) {
    return { decision: null, scopes: [], determining_policies: [], diagnostics: [], matches_recorded: null };
  }
  let outcome;
  try {
    outcome = await decideExchange(ctx.policies, rec.data.zone_id, version, input);
  } catch (err) {
    // The recorded version cannot be consulted at all (not in the ledger any more): that itself is a finding.
    const message = err instanceof Error ? err.message : String(err);
    return { decision: null, scopes: [], determining_policies: [], diagnostics: [{ reason: 'policy_unavailable', message: message.slice(0, 500) }], matches_recorded: false };
  }
  return {
    ...outcome,
    matches_recorded: outcome.decision === rec.data.decision && sameScopes(outcome.scopes, rec.data.granted_scopes),
  };
}

/** Assemble the explanation from a rebuilt input and its re-evaluation. */
export function explanationOf(rec: RecordedDecision, rebuilt: InputAsOf, asOfTime: string | null, reevaluation: Reevaluation): Explanation {
  const d = rec.data;
  return {
    request_id: d.request_id,
    final_decision: d.decision,
    occurred_at: d.occurred_at,
    as_of: { position: rebuilt.position.toString(), time: asOfTime },
    policy_set_version: d.policy_set_version,
    policy_set_digest: d.policy_set_digest,
    policy_input: rebuilt.input,
    input_digest_matches: d.input_digest !== null && rebuilt.digest === d.input_digest,
    recorded_input_digest: d.input_digest,
    rebuilt_input_digest: rebuilt.digest,
    reevaluation,
    denied: d.decision === 'deny' ? [{ policy_input: rebuilt.input, determining_policies: d.determining_policies, diagnostics: d.diagnostics }] : [],
    requested_scopes: d.requested_scopes,
    granted_scopes: d.granted_scopes,
    missing_facts: rebuilt.missing,
    streams_read: rebuilt.streams,
  };
}

/**
 * Explain a decision as things stood when it was taken: rebuild its policy input from the streams that fed
 * it, up to its `ledger_position` (never a replay of the whole log), compare the digest with the recorded one,
 * and re-evaluate with the recorded policy-set version.
 */
export async function explainDecision(ctx: AuditContext, zoneId: string, requestId: string): Promise<Explanation> {
  const rec = await readDecision(ctx.store, zoneId, requestId);
  const rebuilt = await policyInputAsOf(ctx.store, ctx.models, rec);
  const [time, reevaluation] = await Promise.all([
    timeOfPosition(ctx.store, rebuilt.position),
    reevaluate(ctx, rec, rebuilt.input, rec.data.policy_set_version),
  ]);
  return explanationOf(rec, rebuilt, time, reevaluation);
}

/**
 * The policy input of a recorded decision, rebuilt as of its position: what `simulate` with `{request_id}`
 * evaluates against another version. 404 `request_not_found`; 422 `input_not_reconstructible` when the
 * ledger did not hold the application or resource at that position (e.g. a request for an unknown resource).
 */
export async function reconstructInput(ctx: Pick<AuditContext, 'store' | 'models'>, zoneId: string, requestId: string): Promise<PolicyInput> {
  const rec = await readDecision(ctx.store, zoneId, requestId);
  const rebuilt = await policyInputAsOf(ctx.store, ctx.models, rec);
  if (!rebuilt.input) {
    throw new AuditError('input_not_reconstructible', 'the policy input of this decision cannot be rebuilt from the ledger', {
      request_id: requestId,
      missing: rebuilt.missing,
    });
  }
  return rebuilt.input;
}
