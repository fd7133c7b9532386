import type { WritEvent } from '../domain/events.js';
import { deepFreeze } from './freeze.js';
import { assertSnapshotVersion, type EventPosition, type ReadModel } from './read-model.js';

/** One immutable, content-addressed policy-set version (its bundle is fetched apart: it is large). */
export interface PolicyVersionView {
  readonly version: number;
  /** sha256 of the bundle bytes. */
  readonly digest: string;
  readonly origin: 'builtin' | 'rego' | 'bundle';
  readonly entrypoints: readonly string[];
  readonly created_at: string;
  /** When this version was last made active; null if it never was. */
  readonly activated_at: string | null;
}

/** A zone's policy set: its versions in version order and which one is active (null before the first activation). */
export interface PolicySetView {
  readonly active_version: number | null;
  readonly versions: readonly PolicyVersionView[];
}

/** The bundle of one version: what the policy engine loads. */
export interface PolicyBundleView {
  readonly digest: string;
  readonly bundle_base64: string;
}

/** JSON form. Bundles are stored once per digest: every zone starts with the same built-in bundle. */
export interface PolicySetsSnapshot {
  version: number;
  zones: Array<{ zone_id: string; active_version: number | null; versions: PolicyVersionView[] }>;
  bundles: Record<string, string>;
}

const VERSION = 1;

interface ZonePolicies {
  active: number | null;
  versions: Map<number, PolicyVersionView>;
}

/**
 * Policy-set versions per zone and the active one. The STS asks `activeVersion` on every exchange and loads
 * the bundle of a version it has not compiled yet; both are map lookups. Bundles are kept once per digest.
 */
export class PolicySetsModel implements ReadModel<PolicySetsSnapshot> {
  readonly name = 'policy-sets';
  readonly version = VERSION;

  private readonly zones = new Map<string, ZonePolicies>();
  private readonly bundles = new Map<string, string>();

  apply(event: WritEvent, _at: EventPosition): void {
    switch (event.type) {
      case 'PolicyVersionCreated': {
        const d = event.data;
        const zone = this.zone(d.zone_id);
        zone.versions.set(
          d.version,
          deepFreeze({
            version: d.version,
            digest: d.digest,
            origin: d.origin,
            entrypoints: [...d.entrypoints],
            created_at: d.created_at,
            activated_at: null,
          }),
        );
        if (!this.bundles.has(d.digest)) this.bundles.set(d.digest, d.bundle_base64);
        return;
      }
      case 'PolicyVersionActivated': {
        const d = event.data;
        const zone = this.zone(d.zone_id);
        zone.active = d.version;
        const v = zone.versions.get(d.version);
        if (v) zone.versions.set(d.version, deepFreeze({ ...v, activated_at: d.activated_at }));
        return;
      }
      default:
        return;
    }
  }

  /** The zone's policy set, or undefined if no version was ever created for it. */
  get(zoneId: string): PolicySetView | undefined {
    const zone = this.zones.get(zoneId);
    if (!zone) return undefined;
    return { active_version: zone.active, versions: sortedVersions(zone) };
  }

  /** One version's metadata. */
  getVersion(zoneId: string, version: number): PolicyVersionView | undefined {
    return this.zones.get(zoneId)?.versions.get(version);
  }

  bundle(zoneId: string, version: number): PolicyBundleView | undefined {
    const v = this.zones.get(zoneId)?.versions.get(version);
    if (!v) return undefined;
    const bundle = this.bundles.get(v.digest);
    return bundle === undefined ? undefined : { digest: v.digest, bundle_base64: bundle };
  }

  activeVersion(zoneId: string): { version: number; digest: string } | undefined {
    const zone = this.zones.get(zoneId);
    if (!zone || zone.active === null) return undefined;
    const v = zone.versions.get(zone.active);
    return v ? { version: v.version, digest: v.digest } : undefined;
  }

  reset(): void {
    this.zones.clear();
    this.bundles.clear();
  }

  snapshot(): PolicySetsSnapshot {
    const zones: PolicySetsSnapshot['zones'] = [];
    for (const [zone_id, zone] of this.zones) zones.push({ zone_id, active_version: zone.active, versions: sortedVersions(zone) });
    return { version: VERSION, zones, bundles: Object.fromEntries(this.bundles) };
  }

  restore(snapshot: PolicySetsSnapshot): void {
    assertSnapshotVersion(this.name, VERSION, snapshot);
    this.reset();
    for (const z of snapshot.zones) {
      const zone = this.zone(z.zone_id);
      zone.active = z.active_version;
      for (const v of z.versions) zone.versions.set(v.version, deepFreeze({ ...v, entrypoints: [...v.entrypoints] }));
    }
    for (const [digest, bundle] of Object.entries(snapshot.bundles)) this.bundles.set(digest, bundle);
  }

  private zone(zoneId: string): ZonePolicies {
    let zone = this.zones.get(zoneId);
    if (!zone) this.zones.set(zoneId, (zone = { active: null, versions: new Map() }));
    return zone;
  }
}

function sortedVersions(zone: ZonePolicies): PolicyVersionView[] {
  return [...zone.versions.values()].sort((a, b) => a.version - b.version);
}
