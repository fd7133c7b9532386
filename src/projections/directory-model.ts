import type { WritEvent } from '../domain/events.js';
import { deepFreeze } from './freeze.js';
import { assertSnapshotVersion, type EventPosition, type ReadModel } from './read-model.js';

/** A zone as the admin API lists it (its active policy version comes from the policy-sets model). */
export interface ZoneView {
  readonly zone_id: string;
  readonly name: string;
  readonly created_at: string;
}

/** An admin key: only its salted hash is known; the secret was shown once at issue. */
export interface AdminKeyView {
  readonly key_id: string;
  readonly zone_id: string;
  readonly name: string;
  readonly secret_salt: string;
  readonly secret_hash: string;
  readonly status: 'active' | 'revoked';
  readonly issued_at: string;
  readonly revoked_at: string | null;
}

/** A trusted issuer of subject tokens for a zone (only active ones are kept: a removed issuer is gone). */
export interface IssuerView {
  readonly issuer_id: string;
  readonly zone_id: string;
  /** The `iss` claim value that subject tokens carry. */
  readonly issuer: string;
  readonly jwks: { readonly keys: readonly Readonly<Record<string, unknown>>[] };
  readonly audience: string | null;
  readonly added_at: string;
}

/** A registered client application (secret kept only as a salted hash). */
export interface ApplicationView {
  readonly application_id: string;
  readonly zone_id: string;
  readonly name: string;
  readonly secret_salt: string;
  readonly secret_hash: string;
  readonly registered_at: string;
}

/** A protected resource and the scopes it defines. */
export interface ResourceView {
  readonly resource_id: string;
  readonly zone_id: string;
  readonly identifier: string;
  readonly scopes: readonly string[];
  readonly upstream_url: string | null;
  readonly registered_at: string;
}

/** JSON form of the directory (records are already plain JSON). */
export interface DirectorySnapshot {
  version: number;
  zones: ZoneView[];
  admin_keys: AdminKeyView[];
  issuers: IssuerView[];
  applications: ApplicationView[];
  resources: ResourceView[];
}

const VERSION = 1;

/**
 * Zones, admin keys, trusted issuers, applications and resources: what the admin API lists and what the STS
 * looks up to authenticate a client, trust a subject token and resolve a `resource` parameter. Every lookup
 * the STS makes is one map access. Records are frozen and returned as is (see freeze.ts); lists are new arrays
 * in registration order.
 */
export class DirectoryModel implements ReadModel<DirectorySnapshot> {
  readonly name = 'directory';
  readonly version = VERSION;

  private readonly zones = new Map<string, ZoneView>();
  private readonly adminKeys = new Map<string, AdminKeyView>();
  private readonly adminKeysByZone = new Map<string, Set<string>>();
  private readonly issuers = new Map<string, IssuerView>();
  private readonly issuersByZone = new Map<string, Set<string>>();
  /** `${zone}\u0000${iss}` -> issuer ids: the STS resolves a subject token's `iss` without scanning. */
  private readonly issuersByIss = new Map<string, Set<string>>();
  private readonly applications = new Map<string, ApplicationView>();
  private readonly applicationsByZone = new Map<string, Set<string>>();
  private readonly resources = new Map<string, ResourceView>();
  private readonly resourcesByZone = new Map<string, Set<string>>();
  /** `${zone}\u0000${identifier}` -> resource id. */
  private readonly resourcesByIdentifier = new Map<string, string>();

  apply(event: WritEvent, _at: EventPosition): void {
    switch (event.type) {
      case 'ZoneCreated': {
        const d = event.data;
        this.zones.set(d.zone_id, deepFreeze({ zone_id: d.zone_id, name: d.name, created_at: d.created_at }));
        return;
      }
      case 'AdminKeyIssued': {
        const d = event.data;
        this.putAdminKey({
          key_id: d.key_id,
          zone_id: d.zone_id,
          name: d.name,
          secret_salt: d.secret_salt,
          secret_hash: d.secret_hash,
          status: 'active',
          issued_at: d.issued_at,
          revoked_at: null,
        });
        return;
      }
      case 'AdminKeyRevoked': {
        const key = this.adminKeys.get(event.data.key_id);
        if (key && key.status === 'active') this.putAdminKey({ ...key, status: 'revoked', revoked_at: event.data.revoked_at });
        return;
      }
      case 'TrustedIssuerAdded': {
        const d = event.data;
        this.putIssuer({
          issuer_id: d.issuer_id,
          zone_id: d.zone_id,
          issuer: d.issuer,
          // A copy: the event object may be shared with other consumers of the subscription.
          jwks: structuredClone(d.jwks),
          audience: d.audience,
          added_at: d.added_at,
        });
        return;
      }
      case 'TrustedIssuerRemoved':
        this.removeIssuer(event.data.issuer_id);
        return;
      case 'ApplicationRegistered': {
        const d = event.data;
        this.putApplication({
          application_id: d.application_id,
          zone_id: d.zone_id,
          name: d.name,
          secret_salt: d.secret_salt,
          secret_hash: d.secret_hash,
          registered_at: d.registered_at,
        });
        return;
      }
      case 'ResourceRegistered': {
        const d = event.data;
        this.putResource({
          resource_id: d.resource_id,
          zone_id: d.zone_id,
          identifier: d.identifier,
          scopes: [...d.scopes],
          upstream_url: d.upstream_url,
          registered_at: d.registered_at,
        });
        return;
      }
      default:
        return;
    }
  }

  getZone(zoneId: string): ZoneView | undefined {
    return this.zones.get(zoneId);
  }

  listZones(): ZoneView[] {
    return [...this.zones.values()];
  }

  getAdminKey(keyId: string): AdminKeyView | undefined {
    return this.adminKeys.get(keyId);
  }

  /** Every admin key of the zone, active and revoked, in issue order. */
  listAdminKeys(zoneId: string): AdminKeyView[] {
    return this.collect(this.adminKeysByZone.get(zoneId), this.adminKeys);
  }

  getIssuer(issuerId: string): IssuerView | undefined {
    return this.issuers.get(issuerId);
  }

  /** The zone's trusted issuers (removed ones are gone), in the order they were added. */
  listIssuers(zoneId: string): IssuerView[] {
    return this.collect(this.issuersByZone.get(zoneId), this.issuers);
  }

  /** Trusted issuers of the zone whose `issuer` equals a subject token's `iss`. */
  findIssuers(zoneId: string, iss: string): IssuerView[] {
    return this.collect(this.issuersByIss.get(`${zoneId}\u0000${iss}`), this.issuers);
  }

  getApplication(applicationId: string): ApplicationView | undefined {
    return this.applications.get(applicationId);
  }

  listApplications(zoneId: string): ApplicationView[] {
    return this.collect(this.applicationsByZone.get(zoneId), this.applications);
  }

  getResource(resourceId: string): ResourceView | undefined {
    return this.resources.get(resourceId);
  }

  findResourceByIdentifier(zoneId: string, identifier: string): ResourceView | undefined {
    const id = this.resourcesByIdentifier.get(`${zoneId}\u0000${identifier}`);
    return id === undefined ? undefined : this.resources.get(id);
  }

  listResources(zoneId: string): ResourceView[] {
    return this.collect(this.resourcesByZone.get(zoneId), this.resources);
  }

  reset(): void {
    this.zones.clear();
    this.adminKeys.clear();
    this.adminKeysByZone.clear();
    this.issuers.clear();
    this.issuersByZone.clear();
    this.issuersByIss.clear();
    this.applications.clear();
    this.applicationsByZone.clear();
    this.resources.clear();
    this.resourcesByZone.clear();
    this.resourcesByIdentifier.clear();
  }

  snapshot(): DirectorySnapshot {
    // Records are frozen, so the snapshot can share them: nothing can change them after this call.
    return {
      version: VERSION,
      zones: [...this.zones.values()],
      admin_keys: [...this.adminKeys.values()],
      issuers: [...this.issuers.values()],
      applications: [...this.applications.values()],
      resources: [...this.resources.values()],
    };
  }

  restore(snapshot: DirectorySnapshot): void {
    assertSnapshotVersion(this.name, VERSION, snapshot);
    this.reset();
    for (const z of snapshot.zones) this.zones.set(z.zone_id, deepFreeze({ ...z }));
    for (const k of snapshot.admin_keys) this.putAdminKey({ ...k });
    for (const i of snapshot.issuers) this.putIssuer({ ...i });
    for (const a of snapshot.applications) this.putApplication({ ...a });
    for (const r of snapshot.resources) this.putResource({ ...r });
  }

  private putAdminKey(key: AdminKeyView): void {
    this.adminKeys.set(key.key_id, deepFreeze(key));
    addTo(this.adminKeysByZone, key.zone_id, key.key_id);
  }

  private putIssuer(issuer: IssuerView): void {
    // An issuer id is added once (the decider refuses a duplicate); re-adding would otherwise leave a stale index entry.
    this.removeIssuer(issuer.issuer_id);
    this.issuers.set(issuer.issuer_id, deepFreeze(issuer));
    addTo(this.issuersByZone, issuer.zone_id, issuer.issuer_id);
    addTo(this.issuersByIss, `${issuer.zone_id}\u0000${issuer.issuer}`, issuer.issuer_id);
  }

  private removeIssuer(issuerId: string): void {
    const issuer = this.issuers.get(issuerId);
    if (!issuer) return;
    this.issuers.delete(issuerId);
    removeFrom(this.issuersByZone, issuer.zone_id, issuerId);
    removeFrom(this.issuersByIss, `${issuer.zone_id}\u0000${issuer.issuer}`, issuerId);
  }

  private putApplication(app: ApplicationView): void {
    this.applications.set(app.application_id, deepFreeze(app));
    addTo(this.applicationsByZone, app.zone_id, app.application_id);
  }

  private putResource(resource: ResourceView): void {
    this.resources.set(resource.resource_id, deepFreeze(resource));
    addTo(this.resourcesByZone, resource.zone_id, resource.resource_id);
    this.resourcesByIdentifier.set(`${resource.zone_id}\u0000${resource.identifier}`, resource.resource_id);
  }

  private collect<V>(ids: Set<string> | undefined, records: Map<string, V>): V[] {
    const out: V[] = [];
    if (ids) for (const id of ids) out.push(records.get(id)!);
    return out;
  }
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}
