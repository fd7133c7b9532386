import type { Diagnostic } from '../domain/events.js';
import type { PolicyInput, PolicyResult } from '../policy/policy-engine.js';
import { clampScopes } from '../sts/scope-clamp.js';

/** Recorded as the determining policy when writ itself refused a revoked session. */
export const SESSION_REVOKED_POLICY = 'writ.session_revoked';
/** Recorded when the zone has no active policy-set version: no policy, no allow. */
export const NO_POLICY_SET = 'writ.no_policy_set';

/** Evaluates a zone's policy-set version (the PolicyRegistry). */
export interface DecisionPolicies {
  evaluate(zoneId: string, version: number, input: PolicyInput): Promise<PolicyResult>;
}

/** A decision as the STS records it. */
export interface ExchangeOutcome {
  decision: 'allow' | 'deny';
  /** Granted scopes (empty on deny). */
  scopes: string[];
  determining_policies: string[];
  diagnostics: Diagnostic[];
}

/**
 * The decision step of a token exchange, once its read-model lookups have built the input: a revoked session
 * is a deny decided by writ before any policy runs; no policy-set version is a deny; otherwise the policy
 * answers and the scope clamp has the last word (granted scopes never exceed requested ∩ grants ∩ resource).
 * The STS decides with it live; explain and replay re-decide recorded inputs with it, so "re-evaluates to the
 * record" compares like with like.
 *
 * Rejects when the version cannot be consulted at all (unknown version, ledger unreadable).
 */
export async function decideExchange(policies: DecisionPolicies, zoneId: string, version: number | null, input: PolicyInput): Promise<ExchangeOutcome> {
  if (input.session?.status === 'revoked') {
    return {
      decision: 'deny',
      scopes: [],
      determining_policies: [SESSION_REVOKED_POLICY],
      diagnostics: [{ reason: 'session_revoked', message: 'the session was revoked' }],
    };
  }
  if (version === null) {
    return {
      decision: 'deny',
      scopes: [],
      determining_policies: [NO_POLICY_SET],
      diagnostics: [{ reason: 'policy_eval_failed', message: 'the zone has no active policy-set version' }],
    };
  }
  const result = await policies.evaluate(zoneId, version, input);
  const clamped = clampScopes({
    decision: result.decision,
    policyScopes: result.scopes,
    requested: input.requested_scopes,
    grants: input.grants,
    resourceScopes: input.resource.scopes,
    determiningPolicies: result.determining_policies,
    diagnostics: result.diagnostics,
  });
  return { decision: clamped.decision, scopes: clamped.scopes, determining_policies: clamped.determiningPolicies, diagnostics: clamped.diagnostics };
}
