import type { EventStore } from '../store/event-store.js';
import type { Decider } from '../domain/decider.js';
import { loadAggregate } from '../app/command-handler.js';
import { streams } from '../domain/streams.js';
import { zoneDecider } from '../domain/zone/index.js';
import { applicationDecider, type ApplicationState } from '../domain/application/index.js';
import { resourceDecider, type ResourceState } from '../domain/resource/index.js';
import { grantDecider, type GrantState } from '../domain/grant/index.js';
import { sessionDecider, type SessionState } from '../domain/session/index.js';
import { policySetDecider, type PolicySetState } from '../domain/policy-set/index.js';
import type { ZoneState } from '../domain/zone/index.js';
import type { AuditReadModels } from './audit-ports.js';
import { resolveAsOf, timeOfPosition, type AsOf } from './ledger-time.js';

export interface ApplicationAsOf {
  application_id: string;
  name: string;
  registered_at: string;
}
export interface ResourceAsOf {
  resource_id: string;
  identifier: string;
  scopes: string[];
  upstream_url: string | null;
  registered_at: string;
}
export interface GrantAsOf {
  grant_id: string;
  application_id: string;
  resource_id: string;
  scopes: string[];
  user_id: string | null;
  status: 'active' | 'revoked';
  issued_at: string;
  revoked_at: string | null;
}
export interface SessionAsOf {
  session_id: string;
  application_id: string;
  subject_id: string;
  subject_type: 'user' | 'application';
  status: 'active' | 'revoked';
  started_at: string;
  revoked_at: string | null;
  reason: string | null;
}
export interface PolicyVersionAsOf {
  version: number;
  digest: string;
  origin: 'builtin' | 'rego' | 'bundle';
  created_at: string;
  activated_at: string | null;
}

/** A zone as it stood at a ledger position (API.md, Audit: `GET /v1/zones/{zone_id}/state`). Lists are sorted by id. */
export interface ZoneStateAsOf {
  zone_id: string;
  as_of: { position: string; time: string | null };
  /** Null when the zone did not exist yet. */
  zone: { name: string; created_at: string } | null;
  applications: ApplicationAsOf[];
  resources: ResourceAsOf[];
  grants: GrantAsOf[];
  sessions: SessionAsOf[];
  active_policy_version: number | null;
  policy_versions: PolicyVersionAsOf[];
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * The zone's state as the aggregates' own folds give it over the events at or below a position. Streams are
 * found through the read models (which know every application, resource, grant and session ever created in
 * the zone); each stream is then folded up to the position, so nothing later leaks in and no full replay of
 * the log is needed.
 */
export async function zoneStateAt(store: EventStore, models: Pick<AuditReadModels, 'directory' | 'grants' | 'sessions'>, zoneId: string, position: bigint): Promise<ZoneStateAsOf> {
  const fold = async <C, S>(stream: string, decider: Decider<C, S>): Promise<S> => (await loadAggregate(store, stream, decider, position)).state;

  const zone: ZoneState = position < 0n ? zoneDecider.initialState() : await fold(streams.zone(zoneId), zoneDecider);
  const policySet: PolicySetState = position < 0n ? policySetDecider.initialState() : await fold(streams.policySet(zoneId), policySetDecider);

  const applications: ApplicationAsOf[] = [];
  const resources: ResourceAsOf[] = [];
  const grants: GrantAsOf[] = [];
  const sessions: SessionAsOf[] = [];
  if (position >= 0n) {
    for (const a of models.directory.listApplications(zoneId)) {
      const s: ApplicationState = await fold(streams.application(a.application_id), applicationDecider);
      if (s.status === 'active' && s.zone_id === zoneId) applications.push({ application_id: s.application_id, name: s.name, registered_at: s.registered_at });
    }
    for (const r of models.directory.listResources(zoneId)) {
      const s: ResourceState = await fold(streams.resource(r.resource_id), resourceDecider);
      if (s.status === 'active' && s.zone_id === zoneId) {
        resources.push({ resource_id: s.resource_id, identifier: s.identifier, scopes: [...s.scopes], upstream_url: s.upstream_url, registered_at: s.registered_at });
      }
    }
    for (const g of models.grants.list(zoneId)) {
      if (g.issued_position > position) continue;
      const s: GrantState = await fold(streams.grant(g.grant_id), grantDecider);
      if (s.status === 'none' || s.zone_id !== zoneId) continue;
      grants.push({
        grant_id: s.grant_id,
        application_id: s.application_id,
        resource_id: s.resource_id,
        scopes: [...s.scopes],
        user_id: s.user_id,
        status: s.status,
        issued_at: s.issued_at,
        revoked_at: s.status === 'revoked' ? s.revoked_at : null,
      });
    }
    for (const v of models.sessions.list(zoneId)) {
      const s: SessionState = await fold(streams.session(v.session_id), sessionDecider);
      if (s.status === 'none' || s.zone_id !== zoneId) continue;
      sessions.push({
        session_id: s.session_id,
        application_id: s.application_id,
        subject_id: s.subject_id,
        subject_type: s.subject_type,
        status: s.status,
        started_at: s.started_at,
        revoked_at: s.status === 'revoked' ? s.revoked_at : null,
        reason: s.status === 'revoked' ? s.reason : null,
      });
    }
  }

  const policyVersions: PolicyVersionAsOf[] =
    policySet.status === 'initialized'
      ? [...policySet.versions.values()]
          .map((v) => ({ version: v.version, digest: v.digest, origin: v.origin, created_at: v.created_at, activated_at: v.activated_at }))
          .sort((a, b) => a.version - b.version)
      : [];

  return {
    zone_id: zoneId,
    as_of: { position: position.toString(), time: await timeOfPosition(store, position) },
    zone: zone.status === 'active' ? { name: zone.name, created_at: zone.created_at } : null,
    applications: applications.sort(byKey((a) => a.application_id)),
    resources: resources.sort(byKey((r) => r.resource_id)),
    grants: grants.sort(byKey((g) => g.grant_id)),
    sessions: sessions.sort(byKey((s) => s.session_id)),
    active_policy_version: policySet.status === 'initialized' ? policySet.active_version : null,
    policy_versions: policyVersions,
  };
}

/** The zone's state as of a position or a time (the last position recorded at or before it). */
export async function zoneStateAsOf(store: EventStore, models: Pick<AuditReadModels, 'directory' | 'grants' | 'sessions'>, zoneId: string, asOf: AsOf): Promise<ZoneStateAsOf> {
  return zoneStateAt(store, models, zoneId, await resolveAsOf(store, asOf));
}
