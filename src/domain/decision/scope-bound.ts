import type { GrantInInput } from './commands.js';

/**
 * The most a decision may grant: requested ∩ (union of the grants' scopes) ∩ resource scopes, in requested
 * order, without repeats. Whatever a policy answers, the STS intersects it with this, and RecordDecision
 * refuses anything beyond it.
 */
export function grantableScopes(
  requested: readonly string[],
  grants: readonly GrantInInput[],
  resourceScopes: readonly string[],
): string[] {
  const granted = new Set(grants.flatMap((g) => g.scopes));
  const defined = new Set(resourceScopes);
  return [...new Set(requested.filter((s) => granted.has(s) && defined.has(s)))];
}
