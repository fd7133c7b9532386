import type { WritEvent } from '../events.js';

/** One immutable version of a zone's policy set (the bundle itself stays in the ledger, not in the state). */
export type PolicyVersion = {
  version: number;
  digest: string;
  entrypoints: readonly string[];
  origin: 'builtin' | 'rego' | 'bundle';
  created_at: string;
  /** The latest time this version was activated; null if never. */
  activated_at: string | null;
};

/** Policy-set state: `initialized` once the zone has at least one version. */
export type PolicySetState =
  | { status: 'none' }
  | {
      status: 'initialized';
      zone_id: string;
      versions: ReadonlyMap<number, PolicyVersion>;
      /** Null only between the creation of version 1 and its activation (both come from one command). */
      active_version: number | null;
    };

export type InitializedPolicySet = Extract<PolicySetState, { status: 'initialized' }>;

export function initialState(): PolicySetState {
  return { status: 'none' };
}

export function evolve(state: PolicySetState, event: WritEvent): PolicySetState {
  switch (event.type) {
    case 'PolicyVersionCreated': {
      const { zone_id, version, digest, entrypoints, origin, created_at } = event.data;
      const entry: PolicyVersion = { version, digest, entrypoints, origin, created_at, activated_at: null };
      if (state.status === 'none') {
        return { status: 'initialized', zone_id, versions: new Map([[version, entry]]), active_version: null };
      }
      return { ...state, versions: new Map(state.versions).set(version, entry) };
    }
    case 'PolicyVersionActivated': {
      if (state.status !== 'initialized') return state;
      const entry = state.versions.get(event.data.version);
      if (!entry) return state;
      return {
        ...state,
        versions: new Map(state.versions).set(entry.version, { ...entry, activated_at: event.data.activated_at }),
        active_version: entry.version,
      };
    }
    default:
      return state;
  }
}

/** The next version number: one above the highest so far. */
export function nextVersion(state: InitializedPolicySet): number {
  let max = 0;
  for (const version of state.versions.keys()) max = Math.max(max, version);
  return max + 1;
}

/** The version holding this digest, if any. */
export function versionWithDigest(state: InitializedPolicySet, digest: string): PolicyVersion | undefined {
  for (const entry of state.versions.values()) if (entry.digest === digest) return entry;
  return undefined;
}
