/**
 * Domain errors: an invariant a command broke. The code is a closed union so callers (the API error
 * handler, the CLI) can map each one to a status and a stable public code without parsing messages.
 */
export type DomainErrorCode =
  | 'invalid_request'
  | 'zone_not_found'
  | 'zone_already_exists'
  | 'admin_key_not_found'
  | 'admin_key_already_exists'
  | 'admin_key_already_revoked'
  | 'issuer_already_trusted'
  | 'issuer_not_found'
  | 'issuer_already_exists'
  | 'application_not_found'
  | 'application_already_exists'
  | 'resource_not_found'
  | 'resource_already_exists'
  | 'invalid_resource_identifier'
  | 'invalid_scope'
  | 'grant_not_found'
  | 'grant_already_exists'
  | 'grant_already_revoked'
  | 'grant_scopes_exceed_resource'
  | 'zone_mismatch'
  | 'policy_version_not_found'
  | 'policy_version_exists'
  | 'policy_version_already_active'
  | 'policy_set_not_initialized'
  | 'policy_set_already_initialized'
  | 'session_not_found'
  | 'session_revoked'
  | 'session_mismatch'
  | 'session_already_exists'
  | 'duplicate_request_id';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Exhaustiveness guard for `switch` statements over closed unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
