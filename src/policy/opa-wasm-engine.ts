import * as opaWasm from '@open-policy-agent/opa-wasm';
import { readOpaBundle, sha256Hex, type OpaBundle } from './opa-bundle.js';
import {
  POLICY_ENTRYPOINT,
  describeThrown,
  evaluationFailed,
  interpretResultSet,
  type LoadedPolicy,
  type PolicyEngine,
  type PolicyInput,
  type PolicyResult,
  type PolicyVersionBundle,
} from './policy-engine.js';
import { PolicyBundleError } from './policy-errors.js';

/**
 * The opa-wasm adapter of the policy port.
 *
 * How opa-wasm resolves built-ins (node_modules/@open-policy-agent/opa-wasm/src/opa.js): a wasm module
 * compiled by `opa build -t wasm` implements most built-ins natively; the rest it calls through the
 * `opa_builtin0..4` imports with an id, and its exported `builtins()` returns the name -> id map of exactly
 * those host-side built-ins. The SDK resolves a name against its own small table, then `customBuiltins`;
 * an unknown one throws "not implemented" only when the policy reaches that call. So the map tells at load
 * time whether the bundle can ever fail that way, and since a wasm module has no other way to reach a
 * clock, randomness or the network, it also reveals every non-deterministic built-in.
 */

/**
 * Host-side built-ins the opa-wasm 1.10 JS SDK implements (src/builtins/*.js). A test compares this list
 * with the installed SDK, so an upgrade that adds or drops one is noticed.
 */
export const SDK_BUILTINS: readonly string[] = [
  'json.is_valid',
  'sprintf',
  'regex.split',
  'yaml.is_valid',
  'yaml.marshal',
  'yaml.unmarshal',
];

/**
 * Built-ins whose result depends on more than their arguments. Policy time is `input.context.time`, so a
 * decision must be reproducible by explain and replay; these would make it unrepeatable.
 * `io.jwt.encode_sign*` are listed because ECDSA/PSS signatures are randomised.
 */
export const NONDETERMINISTIC_BUILTINS: readonly string[] = [
  'time.now_ns',
  'rand.intn',
  'http.send',
  'uuid.rfc4122',
  'opa.runtime',
  'net.lookup_ip_addr',
  'io.jwt.encode_sign',
  'io.jwt.encode_sign_raw',
];

/** True for a built-in writ refuses because it is not deterministic (any `rand.*` included). */
export function isNondeterministicBuiltin(name: string): boolean {
  return NONDETERMINISTIC_BUILTINS.includes(name) || name.startsWith('rand.');
}

/** The imports opa-wasm provides; a module asking for anything else could not be instantiated anyway. */
const ALLOWED_IMPORTS = new Set([
  'env.memory',
  'env.opa_abort',
  'env.opa_println',
  'env.opa_builtin0',
  'env.opa_builtin1',
  'env.opa_builtin2',
  'env.opa_builtin3',
  'env.opa_builtin4',
]);
const REQUIRED_EXPORTS = [
  'opa_eval',
  'opa_malloc',
  'opa_json_parse',
  'opa_json_dump',
  'opa_heap_ptr_get',
  'opa_heap_ptr_set',
  'builtins',
  'entrypoints',
  'opa_wasm_abi_version',
  'opa_wasm_abi_minor_version',
];

/**
 * Wasm memory per loaded policy: opa-wasm's default start (5 pages) and a ceiling so one runaway
 * evaluation (huge input, exploding comprehension) fails as a deny instead of exhausting the process.
 */
const MEMORY: WebAssembly.MemoryDescriptor = { initial: 5, maximum: 4096 }; // 256 MiB

/** What the API records for a validated bundle (PolicyVersionCreated: digest, entrypoints). */
export interface ValidatedPolicyBundle {
  digest: string;
  /** Entrypoints the wasm module itself exports, sorted. */
  entrypoints: string[];
  /** Host-side built-ins the module calls (all of them implemented by the SDK). */
  builtins: string[];
  /** `<major>.<minor>` of the module's wasm ABI. */
  abiVersion: string;
}

/** The slice of opa-wasm's LoadedPolicy this adapter uses (its shipped .d.mts resolves to `any`). */
interface SdkPolicy {
  evaluate(input: unknown, entrypoint?: number | string): unknown;
  setData(data: object): void;
  entrypoints: Record<string, number>;
  minorVersion: number | undefined;
  mem: WebAssembly.Memory;
  wasmInstance: WebAssembly.Instance;
}
type LoadPolicy = (
  wasm: WebAssembly.Module,
  memory: WebAssembly.MemoryDescriptor,
  customBuiltins?: Record<string, (...args: unknown[]) => unknown>,
) => Promise<SdkPolicy>;
const loadSdkPolicy = (opaWasm as unknown as { loadPolicy: LoadPolicy }).loadPolicy;

/** A policy instance. Shared by every (zone, version) with the same digest: evaluation keeps no state. */
export class OpaWasmPolicy implements LoadedPolicy {
  private constructor(
    private readonly sdk: SdkPolicy,
    private readonly entrypointId: number,
    readonly digest: string,
    readonly entrypoints: readonly string[],
    readonly builtins: readonly string[],
    readonly abiVersion: string,
  ) {}

  /** Compile, check and instantiate a bundle already read by {@link readOpaBundle}. */
  static async instantiate(bundle: OpaBundle): Promise<OpaWasmPolicy> {
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(bundle.wasm);
    } catch (err) {
      throw new PolicyBundleError('invalid_bundle', `/policy.wasm is not a valid WebAssembly module: ${describeThrown(err)}`);
    }
    checkModuleShape(module);

    let sdk: SdkPolicy;
    try {
      sdk = await loadSdkPolicy(module, { ...MEMORY });
    } catch (err) {
      throw new PolicyBundleError('invalid_bundle', `/policy.wasm cannot be loaded: ${describeThrown(err)}`);
    }
    const abi = `${exportedNumber(sdk, 'opa_wasm_abi_version')}.${exportedNumber(sdk, 'opa_wasm_abi_minor_version')}`;

    let builtins: string[];
    try {
      builtins = Object.keys(readBuiltinMap(sdk)).sort();
    } catch (err) {
      if (err instanceof PolicyBundleError) throw err;
      throw new PolicyBundleError('invalid_bundle', `/policy.wasm built-in table cannot be read: ${describeThrown(err)}`);
    }
    const nondeterministic = builtins.filter(isNondeterministicBuiltin);
    if (nondeterministic.length > 0) {
      throw new PolicyBundleError(
        'nondeterministic_builtin',
        `the policy calls non-deterministic built-ins (${nondeterministic.join(', ')}); ` +
          'decisions must be reproducible: read the decision time from input.context.time',
        { builtins: nondeterministic },
      );
    }
    const unsupported = builtins.filter((b) => !SDK_BUILTINS.includes(b));
    if (unsupported.length > 0) {
      throw new PolicyBundleError(
        'unsupported_builtin',
        `the policy calls built-ins that OPA's wasm target leaves to the host and writ's wasm runtime does not ` +
          `implement: ${unsupported.join(', ')}`,
        { builtins: unsupported },
      );
    }

    const entrypoints = Object.keys(sdk.entrypoints).sort();
    const entrypointId = sdk.entrypoints[POLICY_ENTRYPOINT];
    if (entrypointId === undefined) {
      throw new PolicyBundleError(
        'missing_entrypoint',
        `the wasm module has no entrypoint ${POLICY_ENTRYPOINT} (package writ.authz, rule result)`,
        { entrypoints },
      );
    }
    try {
      sdk.setData(bundle.data);
    } catch (err) {
      throw new PolicyBundleError('invalid_bundle', `bundle data cannot be loaded: ${describeThrown(err)}`);
    }
    return new OpaWasmPolicy(sdk, entrypointId, bundle.digest, entrypoints, builtins, abi);
  }

  evaluate(input: PolicyInput): PolicyResult {
    let resultSet: unknown;
    try {
      resultSet = this.sdk.evaluate(input, this.entrypointId);
    } catch (err) {
      return evaluationFailed(`policy evaluation failed: ${describeThrown(err)}`);
    }
    return interpretResultSet(resultSet, input);
  }

  /**
   * The raw OPA result set (`[{result}]` or `[]`), for differential tests and diagnostics. Throws what the
   * SDK throws.
   */
  evaluateRaw(input: unknown): unknown {
    return this.sdk.evaluate(input, this.entrypointId);
  }
}

/**
 * Read and fully check a bundle: tarball, manifest, wasm shape, ABI, built-ins, entrypoint, data. Used when a
 * policy-set version is created (uploaded or compiled), so a bad bundle is a 422 then, never a failed decision.
 */
export async function validatePolicyBundle(bundle: Uint8Array): Promise<ValidatedPolicyBundle> {
  const policy = await OpaWasmPolicy.instantiate(readOpaBundle(bundle));
  return {
    digest: policy.digest,
    entrypoints: [...policy.entrypoints],
    builtins: [...policy.builtins],
    abiVersion: policy.abiVersion,
  };
}

/** Options of {@link OpaWasmEngine}. */
export interface OpaWasmEngineOptions {
  /** Distinct bundles (by digest) kept instantiated; least recently used ones are dropped beyond it. */
  maxPolicies?: number;
}

/**
 * The engine: one instance per distinct bundle digest, so every zone still on the built-in default shares
 * one, and each (zone, version) maps to its digest. Concurrent loads of one bundle share a promise.
 */
export class OpaWasmEngine implements PolicyEngine {
  private readonly byDigest = new Map<string, Promise<OpaWasmPolicy>>();
  private readonly digestOfVersion = new Map<string, string>();
  private readonly maxPolicies: number;

  constructor(options: OpaWasmEngineOptions = {}) {
    this.maxPolicies = options.maxPolicies ?? 256;
  }

  /** Number of distinct bundles currently instantiated. */
  get size(): number {
    return this.byDigest.size;
  }

  async load(version: PolicyVersionBundle): Promise<OpaWasmPolicy> {
    const key = `${version.zoneId}:${version.version}`;
    const known = this.digestOfVersion.get(key);
    if (known !== undefined && known !== version.digest) {
      // Versions are immutable: two digests for one version means a corrupted ledger or a caller bug.
      throw new Error(`policy version ${key} was loaded with digest ${known}, now ${version.digest}`);
    }

    let pending = this.byDigest.get(version.digest);
    if (pending) {
      this.byDigest.delete(version.digest); // refresh LRU position
      this.byDigest.set(version.digest, pending);
    } else {
      const actual = sha256Hex(version.bundle);
      if (actual !== version.digest) {
        throw new PolicyBundleError('invalid_bundle', `bundle digest is ${actual}, expected ${version.digest}`);
      }
      pending = OpaWasmPolicy.instantiate(readOpaBundle(version.bundle));
      this.byDigest.set(version.digest, pending);
      pending.catch(() => {
        if (this.byDigest.get(version.digest) === pending) this.byDigest.delete(version.digest);
      });
      this.evict();
    }
    const policy = await pending;
    this.digestOfVersion.set(key, version.digest);
    return policy;
  }

  private evict(): void {
    while (this.byDigest.size > this.maxPolicies) {
      const oldest = this.byDigest.keys().next().value as string;
      this.byDigest.delete(oldest);
    }
  }
}

function checkModuleShape(module: WebAssembly.Module): void {
  const foreign = WebAssembly.Module.imports(module)
    .map((i) => `${i.module}.${i.name}`)
    .filter((name) => !ALLOWED_IMPORTS.has(name));
  if (foreign.length > 0) {
    throw new PolicyBundleError('invalid_bundle', `/policy.wasm imports what OPA's wasm ABI does not provide: ${foreign.join(', ')}`, {
      imports: foreign,
    });
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((e) => !exported.has(e));
  if (missing.length > 0) {
    // Also rules out ABI 1.0/1.1 modules, which lack opa_eval (OPA has emitted 1.2+ since v0.30).
    throw new PolicyBundleError('invalid_bundle', `/policy.wasm is not an OPA policy module (missing exports: ${missing.join(', ')})`);
  }
}

/** The module's name -> id map of host-side built-ins, read the way the SDK itself reads it. */
function readBuiltinMap(sdk: SdkPolicy): Record<string, number> {
  const exports = sdk.wasmInstance.exports as {
    builtins: () => number;
    opa_json_dump: (addr: number) => number;
  };
  const addr = exports.opa_json_dump(exports.builtins());
  const bytes = new Uint8Array(sdk.mem.buffer);
  let end = addr;
  while (end < bytes.length && bytes[end] !== 0) end++;
  const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(addr, end)));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PolicyBundleError('invalid_bundle', '/policy.wasm returned a malformed built-in table');
  }
  return parsed as Record<string, number>;
}

function exportedNumber(sdk: SdkPolicy, name: string): number {
  const g = sdk.wasmInstance.exports[name];
  return g instanceof WebAssembly.Global ? Number(g.value) : Number(g);
}
