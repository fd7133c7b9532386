import { ApiError } from '../api/api-error.js';
import type { Diagnostic } from '../domain/events.js';

/**
 * The OAuth errors the STS answers with, as ApiErrors in writ's common shape
 * `{error, error_description, request_id, details}`. Descriptions are public and deliberately generic where
 * precision would help an attacker (client authentication never says whether the client exists).
 */

/** Why a subject or actor token was refused (`details.reason` of 401 `invalid_token`). A closed union. */
export type TokenRejectionReason =
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'signature_invalid'
  | 'issuer_untrusted'
  | 'unknown_kid'
  | 'malformed'
  | 'audience_mismatch'
  | 'claim_missing';

/** Which token of the request was refused. */
export type TokenRole = 'subject_token' | 'actor_token';

export function invalidRequest(description: string, details: Record<string, unknown> = {}): ApiError {
  return new ApiError(400, 'invalid_request', description, details);
}

export function unsupportedGrantType(): ApiError {
  return new ApiError(400, 'unsupported_grant_type', 'grant_type must be urn:ietf:params:oauth:grant-type:token-exchange');
}

/** Same answer for an unknown client, a wrong secret and a malformed credential: nothing to enumerate. */
export function invalidClient(logDetail?: string): ApiError {
  return new ApiError(401, 'invalid_client', 'client authentication failed', {}, logDetail, {
    'www-authenticate': 'Basic realm="writ"',
  });
}

export function invalidToken(reason: TokenRejectionReason, role: TokenRole, logDetail?: string): ApiError {
  return new ApiError(401, 'invalid_token', `the ${role.replace('_', ' ')} was rejected: ${reason}`, { reason, token: role }, logDetail, {
    'www-authenticate': `Bearer error="invalid_token"`,
  });
}

export function invalidTarget(description: string): ApiError {
  return new ApiError(400, 'invalid_target', description);
}

export function invalidScope(description: string, scopes: string[] = []): ApiError {
  return new ApiError(400, 'invalid_scope', description, scopes.length > 0 ? { scopes } : {});
}

/** A recorded denial. `request_id` is also in the body (the error handler adds it), so callers can trace it. */
export function accessDenied(diagnostics: Diagnostic[], determiningPolicies: string[]): ApiError {
  return new ApiError(403, 'access_denied', 'the exchange was denied', {
    diagnostics,
    determining_policies: determiningPolicies,
  });
}

export function duplicateRequestId(requestId: string): ApiError {
  return new ApiError(409, 'duplicate_request_id', 'this request id already has a decision; use a new X-Request-ID', {
    request_id: requestId,
  });
}

export function rateLimited(retryAfterSeconds: number): ApiError {
  const retry = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ApiError(
    429,
    'rate_limited',
    'too many token requests for this client; retry later',
    { category: 'token_endpoint', retry_after_seconds: retry },
    undefined,
    { 'retry-after': String(retry) },
  );
}

/** The ledger did not take the decision: no mandate may leave. Public text only; the cause goes to the log. */
export function temporarilyUnavailable(logDetail: string): ApiError {
  return new ApiError(503, 'temporarily_unavailable', 'the token service is temporarily unavailable; retry later', {}, logDetail, {
    'retry-after': '1',
  });
}
