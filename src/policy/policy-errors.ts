/**
 * Errors of the policy layer. Codes are closed unions so the API can map each one to a status without
 * parsing messages: bundle and compile errors are the client's fault (422 `invalid_policy`), a missing
 * compiler is the server's (503 with the install hint in the log).
 */

/** Why a bundle (uploaded, compiled or read back from the ledger) cannot become a policy-set version. */
export type PolicyBundleErrorCode =
  | 'invalid_bundle'
  | 'missing_entrypoint'
  | 'unsupported_builtin'
  | 'nondeterministic_builtin';

/** Where a refused built-in is called, when writ could tell (Rego source compiled here). */
export interface BuiltinLocation {
  builtin: string;
  file: string;
  row: number;
  col?: number;
}

/** Public, JSON-safe details of a {@link PolicyBundleError}; safe to return in a 422 body. */
export interface PolicyBundleErrorDetails {
  builtins?: string[];
  locations?: BuiltinLocation[];
  entrypoints?: string[];
  [key: string]: unknown;
}

/** A bundle writ refuses. The message is public: it names the problem, never server internals. */
export class PolicyBundleError extends Error {
  override readonly name = 'PolicyBundleError';
  constructor(
    readonly code: PolicyBundleErrorCode,
    message: string,
    readonly details: PolicyBundleErrorDetails = {},
  ) {
    super(message);
  }
}

/** One compiler message, located in the submitted module it concerns (`row` is 1-based; 0 when unknown). */
export interface RegoCompileMessage {
  file: string;
  row: number;
  col?: number;
  message: string;
  code?: string;
}

/** The submitted Rego does not compile (or cannot be submitted: bad file name, too large, timeout). */
export class PolicyCompileError extends Error {
  override readonly name = 'PolicyCompileError';
  constructor(
    message: string,
    readonly errors: RegoCompileMessage[],
  ) {
    super(message);
  }
}

/** The `opa` CLI is needed (Rego source submitted) but is not installed where writ looks for it. */
export class CompilerUnavailableError extends Error {
  override readonly name = 'CompilerUnavailableError';
  readonly hint =
    'install the pinned OPA CLI: `go install github.com/open-policy-agent/opa@v1.22.2` (or `npm run setup`), ' +
    'or point WRIT_OPA_PATH at an opa binary; uploaded bundles (opa build -t wasm) need no compiler';
  constructor(message: string) {
    super(message);
  }
}
