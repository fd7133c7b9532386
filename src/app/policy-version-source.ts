import { compileRego, type RegoCompilerOptions } from '../policy/rego-compiler.js';
import { validatePolicyBundle } from '../policy/opa-wasm-engine.js';
import { loadDefaultBundle } from '../policy/default-policy.js';
import { PolicyBundleError, PolicyCompileError, type RegoCompileMessage } from '../policy/policy-errors.js';

/** A policy-set version ready to be recorded: validated, content-addressed, with the bundle to store. */
export interface PreparedPolicyVersion {
  /** sha256 hex of the bundle bytes. */
  digest: string;
  bundleBase64: string;
  /** Entrypoints the wasm exports (always including `writ/authz/result`). */
  entrypoints: string[];
  origin: 'builtin' | 'rego' | 'bundle';
}

/**
 * Where policy-set versions come from: the committed default bundle, Rego compiled here by the opa CLI, or an
 * uploaded OPA bundle. Every bundle is loaded in opa-wasm and checked (entrypoint, ABI, only supported and
 * deterministic built-ins) before it is accepted, so a version that was recorded always loads.
 *
 * Errors: {@link PolicyCompileError} for Rego (a refused built-in or a missing entrypoint in compiled Rego is
 * reported as a compile error located in the source), {@link PolicyBundleError} for uploaded bundles,
 * `CompilerUnavailableError` when Rego is submitted and no opa CLI is installed.
 */
export class PolicyVersionSource {
  private builtinVersion: Promise<PreparedPolicyVersion> | undefined;

  constructor(private readonly compilerOptions: RegoCompilerOptions = {}) {}

  /** The built-in default version (version 1 of every zone); validated once per process. */
  builtin(): Promise<PreparedPolicyVersion> {
    if (!this.builtinVersion) {
      this.builtinVersion = loadDefaultBundle().then((bytes) => prepare(bytes, 'builtin'));
      this.builtinVersion.catch(() => {
        this.builtinVersion = undefined;
      });
    }
    return this.builtinVersion;
  }

  /** Compile Rego modules (file name -> source) with an optional `data` document. */
  async fromRego(modules: Record<string, string>, data?: unknown): Promise<PreparedPolicyVersion & { origin: 'rego' }> {
    try {
      const compiled = await compileRego({ modules, ...(data === undefined ? {} : { data: data as Record<string, unknown> }) }, this.compilerOptions);
      return { digest: compiled.digest, bundleBase64: Buffer.from(compiled.bundle).toString('base64'), entrypoints: compiled.entrypoints, origin: 'rego' as const };
    } catch (err) {
      if (err instanceof PolicyBundleError) throw asCompileError(err);
      throw err;
    }
  }

  /** Accept an uploaded OPA bundle (`opa build -t wasm -e writ/authz/result` output). */
  async fromBundle(bytes: Uint8Array): Promise<PreparedPolicyVersion & { origin: 'bundle' }> {
    return { ...(await prepare(bytes, 'bundle')), origin: 'bundle' as const };
  }
}

async function prepare(bytes: Uint8Array, origin: PreparedPolicyVersion['origin']): Promise<PreparedPolicyVersion> {
  const validated = await validatePolicyBundle(bytes);
  return { digest: validated.digest, bundleBase64: Buffer.from(bytes).toString('base64'), entrypoints: validated.entrypoints, origin };
}

/**
 * Rego authors get one error shape (422 `invalid_policy`, `details.errors: [{file, row, message}]`), whether the
 * compiler or the bundle check refused the policy; the refusal's code travels on each message.
 */
function asCompileError(err: PolicyBundleError): PolicyCompileError {
  const located: RegoCompileMessage[] = (err.details.locations ?? []).map((l) => ({
    file: l.file,
    row: l.row,
    ...(l.col === undefined ? {} : { col: l.col }),
    code: err.code,
    message: `${l.builtin}: ${err.message}`,
  }));
  return new PolicyCompileError(err.message, located.length > 0 ? located : [{ file: '', row: 0, code: err.code, message: err.message }]);
}
