import type { Diagnostic } from '../domain/events.js';
import type { PolicyInput } from '../decision/policy-input.js';
import type { PolicyInput as EnginePolicyInput } from '../policy/policy-engine.js';
import { clampScopes } from '../sts/scope-clamp.js';
import { NO_POLICY_SET, SESSION_REVOKED_POLICY } from '../sts/grant-types/token-exchange.js';
import type { AuditPolicies } from './audit-ports.js';

/** An outcome as the STS would record it. */
export interface RedecidedOutcome {
  decision: 'allow' | 'deny';
  /** Granted scopes (empty on deny). */
  scopes: string[];
  determining_policies: string[];
  diagnostics: Diagnostic[];
}

/**
 * Decide an input the way the token endpoint does, after its read-model lookups: a revoked session is a deny
 * decided by writ before any policy runs; no policy-set version is a deny; otherwise the policy answers and the
 * STS's scope clamp has the last word. Explain and replay use it so that "re-evaluates to the record" compares
 * like with like: a bare policy evaluation would flag every revoked-session deny as an integrity alarm.
 *
 * Rejects when the version cannot be consulted at all (unknown version, ledger unreadable).
 */
export async function redecide(policies: AuditPolicies, zoneId: string, version: number | null, input: PolicyInput): Promise<RedecidedOutcome> {
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
  const result = await policies.evaluate(zoneId, version, input as EnginePolicyInput);
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
