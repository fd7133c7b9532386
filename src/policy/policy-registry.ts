import {
  describeThrown,
  evaluationFailed,
  type LoadedPolicy,
  type PolicyEngine,
  type PolicyInput,
  type PolicyResult,
} from './policy-engine.js';
import { PolicyBundleError } from './policy-errors.js';

/**
 * Loaded policies by (zone, version). The registry does not know the ledger: on a miss it asks the loader
 * callback for the version's bundle (e.g. decoded from PolicyVersionCreated.bundle_base64), loads it through
 * the engine and keeps it. Versions are immutable, so an entry never goes stale; only memory bounds it.
 */

/** The bytes of one policy-set version, as the caller's loader returns them. */
export interface StoredPolicyVersion {
  digest: string;
  bundle: Uint8Array;
}

/** Supplies a version's bundle on a cache miss; rejects when the version does not exist or cannot be read. */
export type PolicyVersionLoader = (zoneId: string, version: number) => Promise<StoredPolicyVersion>;

/** Options of {@link PolicyRegistry}. */
export interface PolicyRegistryOptions {
  /**
   * (zone, version) entries kept; least recently used ones are dropped beyond it. Entries hold their
   * loaded policy, so this also bounds how many distinct wasm instances stay in memory through the registry
   * (zones sharing a bundle share one instance).
   */
  maxEntries?: number;
}

/** Loaded policies by `${zoneId}:${version}`, loaded lazily and then reused. */
export class PolicyRegistry {
  private readonly entries = new Map<string, Promise<LoadedPolicy>>();
  private readonly maxEntries: number;

  constructor(
    private readonly engine: PolicyEngine,
    private readonly loader: PolicyVersionLoader,
    options: PolicyRegistryOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 1_024;
  }

  /** Number of (zone, version) entries held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The loaded policy of a version. Rejects with the loader's error (e.g. unknown version, ledger down) or a
   * PolicyBundleError; a failed load is not cached, so the next call retries.
   */
  get(zoneId: string, version: number): Promise<LoadedPolicy> {
    const key = `${zoneId}:${version}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // refresh LRU position
      this.entries.set(key, hit);
      return hit;
    }
    const pending = this.loader(zoneId, version).then((stored) =>
      this.engine.load({ zoneId, version, digest: stored.digest, bundle: stored.bundle }),
    );
    this.entries.set(key, pending);
    pending.catch(() => {
      if (this.entries.get(key) === pending) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    return pending;
  }

  /**
   * Decide with a version. A bundle that cannot be loaded is a deny (`policy_eval_failed`), like any policy
   * that gives no usable answer; the loader's own failures (version unknown, ledger unreachable) reject,
   * because no policy was consulted and the caller must not record a decision as if one had been.
   */
  async evaluate(zoneId: string, version: number, input: PolicyInput): Promise<PolicyResult> {
    let policy: LoadedPolicy;
    try {
      policy = await this.get(zoneId, version);
    } catch (err) {
      if (err instanceof PolicyBundleError) {
        return evaluationFailed(`policy version ${version} cannot be loaded: ${describeThrown(err)}`);
      }
      throw err;
    }
    return policy.evaluate(input);
  }

  /** Forget one version, or every version of a zone. */
  evict(zoneId: string, version?: number): void {
    if (version !== undefined) {
      this.entries.delete(`${zoneId}:${version}`);
      return;
    }
    // Zone ids may contain ':'; the version (an integer) is always after the last one.
    for (const key of [...this.entries.keys()]) {
      if (key.slice(0, key.lastIndexOf(':')) === zoneId) this.entries.delete(key);
    }
  }
}
