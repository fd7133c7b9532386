import { ApiError } from '../api/api-error.js';

/** Codes the audit use cases answer with; each has one HTTP status. */
export type AuditErrorCode = 'request_not_found' | 'invalid_request' | 'policy_version_not_found' | 'input_not_reconstructible';

const STATUS: Record<AuditErrorCode, number> = {
  request_not_found: 404,
  invalid_request: 400,
  policy_version_not_found: 404,
  input_not_reconstructible: 422,
};

/**
 * An audit refusal with a public shape. It is an ApiError so that every caller (audit routes, the admin
 * simulate route that calls `reconstructInput`) gets the right status through the one error handler.
 */
export class AuditError extends ApiError {
  constructor(
    readonly auditCode: AuditErrorCode,
    description: string,
    details: Record<string, unknown> = {},
  ) {
    super(STATUS[auditCode], auditCode, description, details);
  }
}

/** The request ID is unknown, or its decision belongs to another zone (reported the same, so ids cannot be probed). */
export function requestNotFound(requestId: string): AuditError {
  return new AuditError('request_not_found', 'no decision was recorded under this request ID in this zone', { request_id: requestId });
}
