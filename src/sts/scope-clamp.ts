import type { Diagnostic } from '../domain/events.js';
import { grantableScopes } from '../domain/decision/scope-bound.js';

/**
 * The STS's last word on scopes, applied after the policy whatever it answered:
 *
 *   granted = policy scopes ∩ requested ∩ (union of grant scopes) ∩ resource scopes
 *
 * and a mandate is all-or-nothing: when any requested scope is not in `granted`, the exchange is denied
 * (a client asking for `a b` must not silently receive a token for `a` only). A custom policy that returns
 * extra scopes, or allows scopes no grant covers, can therefore never widen a mandate.
 */

/** Added to `determining_policies` when the clamp, not the policy, decided the outcome. */
export const GRANT_CEILING_POLICY = 'writ.grant_ceiling';

export interface ClampInput {
  decision: 'allow' | 'deny';
  policyScopes: readonly string[];
  requested: readonly string[];
  grants: ReadonlyArray<{ grant_id: string; scopes: readonly string[] }>;
  resourceScopes: readonly string[];
  determiningPolicies: readonly string[];
  diagnostics: readonly Diagnostic[];
}

export interface ClampedOutcome {
  decision: 'allow' | 'deny';
  /** Empty on deny. */
  scopes: string[];
  determiningPolicies: string[];
  diagnostics: Diagnostic[];
}

export function clampScopes(input: ClampInput): ClampedOutcome {
  const determiningPolicies = [...input.determiningPolicies];
  const diagnostics = [...input.diagnostics];
  if (input.decision === 'deny') return { decision: 'deny', scopes: [], determiningPolicies, diagnostics };

  const ceiling = new Set(grantableScopes(input.requested, input.grants, input.resourceScopes));
  const allowedByPolicy = new Set(input.policyScopes);
  const requested = [...new Set(input.requested)];
  const granted = requested.filter((s) => ceiling.has(s) && allowedByPolicy.has(s));
  const missing = requested.filter((s) => !ceiling.has(s) || !allowedByPolicy.has(s));

  if (missing.length === 0 && granted.length > 0) {
    return { decision: 'allow', scopes: granted, determiningPolicies, diagnostics };
  }

  const defined = new Set(input.resourceScopes);
  const covered = new Set(input.grants.flatMap((g) => g.scopes));
  for (const scope of missing) {
    if (diagnostics.some((d) => d.scope === scope)) continue;
    if (!defined.has(scope)) diagnostics.push({ reason: 'scope_undefined', scope, message: 'the resource does not define this scope' });
    else if (!covered.has(scope)) diagnostics.push({ reason: 'scope_not_granted', scope, message: 'no active grant covers this scope' });
    else diagnostics.push({ reason: 'scope_not_allowed', scope, message: 'the policy did not allow this scope' });
  }
  if (granted.length === 0 && missing.length === 0) diagnostics.push({ reason: 'no_scopes_requested', message: 'the request names no scope' });
  if (!determiningPolicies.includes(GRANT_CEILING_POLICY)) determiningPolicies.push(GRANT_CEILING_POLICY);
  return { decision: 'deny', scopes: [], determiningPolicies, diagnostics };
}
