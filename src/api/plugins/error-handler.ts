import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { ApiError } from '../api-error.js';
import { DomainError, type DomainErrorCode } from '../../domain/domain-error.js';
import { ConcurrencyError, StoreUnavailableError } from '../../store/store-errors.js';
import { ProjectionTimeoutError } from '../../projections/projection-runner.js';
import { CompilerUnavailableError, PolicyBundleError, PolicyCompileError } from '../../policy/policy-errors.js';

/** HTTP status of each domain error code. A closed map: adding a code without a status is a type error. */
const DOMAIN_STATUS: Record<DomainErrorCode, number> = {
  invalid_request: 400,
  zone_not_found: 404,
  zone_already_exists: 409,
  admin_key_not_found: 404,
  admin_key_already_exists: 409,
  admin_key_already_revoked: 409,
  issuer_already_trusted: 409,
  issuer_not_found: 404,
  issuer_already_exists: 409,
  application_not_found: 404,
  application_already_exists: 409,
  resource_not_found: 404,
  resource_already_exists: 409,
  invalid_resource_identifier: 400,
  invalid_scope: 400,
  grant_not_found: 404,
  grant_already_exists: 409,
  grant_already_revoked: 409,
  grant_scopes_exceed_resource: 400,
  zone_mismatch: 404,
  policy_version_not_found: 404,
  policy_version_exists: 409,
  policy_version_already_active: 409,
  policy_set_not_initialized: 404,
  policy_set_already_initialized: 409,
  session_not_found: 404,
  session_revoked: 409,
  session_mismatch: 404,
  session_already_exists: 409,
  duplicate_request_id: 409,
};

/** Serialize any error to writ's public error shape. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) {
    return new ApiError(DOMAIN_STATUS[err.code] ?? 400, err.code, err.message, err.details);
  }
  if (err instanceof ZodError) {
    return new ApiError(400, 'invalid_request', 'request validation failed', {
      issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  if (err instanceof PolicyCompileError) {
    return new ApiError(422, 'invalid_policy', err.message, { errors: err.errors.map((e) => ({ file: e.file, row: e.row, ...(e.col === undefined ? {} : { col: e.col }), message: e.message, ...(e.code === undefined ? {} : { code: e.code }) })) });
  }
  if (err instanceof PolicyBundleError) {
    return new ApiError(422, 'invalid_bundle', err.message, { reason: err.code, ...err.details });
  }
  if (err instanceof CompilerUnavailableError) {
    return new ApiError(
      501,
      'compiler_unavailable',
      'this server cannot compile Rego (the opa CLI is not installed); upload a bundle built with `opa build -t wasm -e writ/authz/result` instead',
      {},
      `${err.message}; ${err.hint}`,
    );
  }
  if (err instanceof ProjectionTimeoutError) {
    // The write is in the ledger; only this instance's read models are late. Say so, so a client does not
    // blindly repeat a create.
    return new ApiError(
      503,
      'read_models_lagging',
      'the change was recorded but is not yet visible on this instance; read it again shortly instead of repeating the write',
      {},
      err.message,
      { 'retry-after': '1' },
    );
  }
  if (err instanceof ConcurrencyError) {
    return new ApiError(409, 'concurrent_modification', 'the resource was modified concurrently; retry the request', {}, err.message);
  }
  if (err instanceof StoreUnavailableError) {
    return new ApiError(503, 'ledger_unavailable', 'the ledger is unavailable; retry later', {}, err.message, { 'retry-after': '1' });
  }
  const fe = err as FastifyError;
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    if (fe.validation) {
      return new ApiError(400, 'invalid_request', 'request validation failed', {
        issues: fe.validation.map((v) => ({ path: `${fe.validationContext ?? ''}${v.instancePath}`, message: v.message ?? 'invalid' })),
      });
    }
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return new ApiError(413, 'payload_too_large', 'request body too large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return new ApiError(415, 'unsupported_media_type', 'unsupported content type');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return new ApiError(400, 'invalid_request', 'request body is not valid JSON');
      default:
        return new ApiError(fe.statusCode, fe.statusCode === 404 ? 'not_found' : 'invalid_request', fe.statusCode === 404 ? 'not found' : 'invalid request');
    }
  }
  return new ApiError(500, 'server_error', 'internal error', {}, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

export function sendError(reply: FastifyReply, request: FastifyRequest, err: ApiError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  if (err.statusCode === 401 && !reply.getHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer');
  return reply.status(err.statusCode).type('application/json').send({
    error: err.code,
    error_description: err.description,
    request_id: request.id,
    details: err.details,
  });
}

/** One error handler for the whole app: stable codes, request_id, nothing internal on 5xx. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.statusCode >= 500) {
      request.log.error({ err_code: apiError.code, detail: apiError.logDetail }, 'request failed');
    } else if (apiError.logDetail) {
      request.log.info({ err_code: apiError.code, detail: apiError.logDetail }, 'request refused');
    }
    return sendError(reply, request, apiError);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, request, new ApiError(404, 'not_found', 'no such route')));
}
