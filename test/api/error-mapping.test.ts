import { describe, expect, it } from 'vitest';
import { toApiError } from '../../src/api/plugins/error-handler.js';
import { ApiError } from '../../src/api/api-error.js';
import { DomainError } from '../../src/domain/domain-error.js';
import { ProjectionTimeoutError } from '../../src/projections/projection-runner.js';
import { CompilerUnavailableError, PolicyBundleError, PolicyCompileError } from '../../src/policy/policy-errors.js';
import { ConcurrencyError, StoreUnavailableError } from '../../src/store/store-errors.js';

/** The one error handler's mapping of the errors admin and health routes can meet. */
describe('toApiError', () => {
  it('maps policy errors to 422/501 with public details only', () => {
    const compile = toApiError(new PolicyCompileError('does not compile', [{ file: 'a.rego', row: 3, col: 1, message: 'rego_parse_error: unexpected }' }]));
    expect(compile).toMatchObject({ statusCode: 422, code: 'invalid_policy', details: { errors: [{ file: 'a.rego', row: 3, col: 1, message: 'rego_parse_error: unexpected }' }] } });

    const bundle = toApiError(new PolicyBundleError('unsupported_builtin', 'calls http.send', { builtins: ['http.send'] }));
    expect(bundle).toMatchObject({ statusCode: 422, code: 'invalid_bundle', details: { reason: 'unsupported_builtin', builtins: ['http.send'] } });

    const compiler = toApiError(new CompilerUnavailableError('opa not found in /usr/local/secret-bin'));
    expect(compiler).toMatchObject({ statusCode: 501, code: 'compiler_unavailable', details: {} });
    expect(compiler.description).not.toContain('/usr/local/secret-bin');
    expect(compiler.logDetail).toContain('/usr/local/secret-bin');
  });

  it('every domain error code has a status', () => {
    for (const code of ['admin_key_already_exists', 'issuer_already_exists', 'policy_set_already_initialized', 'grant_already_revoked', 'zone_not_found'] as const) {
      const e = toApiError(new DomainError(code, 'x'));
      expect(e.code).toBe(code);
      expect(e.statusCode).toBeGreaterThanOrEqual(400);
      expect(e.statusCode).toBeLessThan(500);
    }
  });

  it('store and projection failures: 409/503 without internals', () => {
    expect(toApiError(new ConcurrencyError('grant-1', '3', 4n))).toMatchObject({ statusCode: 409, code: 'concurrent_modification' });
    const down = toApiError(new StoreUnavailableError('sqlite: /var/lib/writ/ledger.db is locked'));
    expect(down).toMatchObject({ statusCode: 503, code: 'ledger_unavailable', headers: { 'retry-after': '1' } });
    expect(down.description).not.toContain('/var/lib');
    const late = toApiError(new ProjectionTimeoutError(10n, 5n, 5000));
    expect(late).toMatchObject({ statusCode: 503, code: 'read_models_lagging' });
  });

  it('anything else is a 500 with no internals', () => {
    const e = toApiError(new TypeError('cannot read properties of undefined (reading secret_hash)'));
    expect(e).toMatchObject({ statusCode: 500, code: 'server_error', description: 'internal error', details: {} });
    expect(toApiError(new ApiError(418, 'teapot', 'short and stout'))).toMatchObject({ statusCode: 418, code: 'teapot' });
  });
});
