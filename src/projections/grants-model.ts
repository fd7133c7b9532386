import type { WritEvent } from '../domain/events.js';
import { deepFreeze } from './freeze.js';
import { assertSnapshotVersion, type EventPosition, type ReadModel } from './read-model.js';

/** A grant: an application may request these scopes on a resource (for one user, or for any when user_id is null). */
export interface GrantView {
  readonly grant_id: string;
  readonly zone_id: string;
  readonly application_id: string;
  readonly resource_id: string;
  readonly scopes: readonly string[];
  readonly user_id: string | null;
  readonly status: 'active' | 'revoked';
  readonly issued_at: string;
  readonly revoked_at: string | null;
  /** Ledger position of GrantIssued: "was this grant in force as of position P" is issued_position <= P < revoked_position. */
  readonly issued_position: bigint;
  readonly revoked_position: bigint | null;
}

/** Filters of the admin grant list; each one narrows. */
export interface GrantFilter {
  application_id?: string;
  resource_id?: string;
  user_id?: string;
  status?: 'active' | 'revoked';
}

/** A grant that was ever issued for an (application, resource) pair, whatever became of it. */
export interface GrantIssue {
  readonly grant_id: string;
  readonly issued_position: bigint;
}

/** JSON form: grant records with their positions as decimal strings. */
export interface GrantsSnapshot {
  version: number;
  grants: Array<Omit<GrantView, 'issued_position' | 'revoked_position' | 'scopes'> & {
    scopes: string[];
    issued_position: string;
    revoked_position: string | null;
  }>;
}

const VERSION = 1;

/** Active grants of one (zone, application, resource): any-user grants and per-user grants apart, so a lookup touches only what matches. */
interface TripleIndex {
  anyUser: Map<string, GrantView>;
  byUser: Map<string, Map<string, GrantView>>;
}

/**
 * Grants, indexed for the STS: `activeFor` is on the token-exchange hot path and costs one map lookup per
 * index plus the matching grants, never a scan. `everFor` is the index explain uses to find the grant streams
 * that could have fed a past decision.
 */
export class GrantsModel implements ReadModel<GrantsSnapshot> {
  readonly name = 'grants';
  readonly version = VERSION;

  private readonly grants = new Map<string, GrantView>();
  private readonly byZone = new Map<string, Set<string>>();
  /** `${zone}\u0000${app}\u0000${resource}` -> active grants. */
  private readonly active = new Map<string, TripleIndex>();
  /** `${zone}\u0000${app}\u0000${resource}` -> every grant issued, in issue order. */
  private readonly ever = new Map<string, GrantIssue[]>();

  apply(event: WritEvent, at: EventPosition): void {
    switch (event.type) {
      case 'GrantIssued': {
        const d = event.data;
        this.add({
          grant_id: d.grant_id,
          zone_id: d.zone_id,
          application_id: d.application_id,
          resource_id: d.resource_id,
          scopes: [...d.scopes],
          user_id: d.user_id,
          status: 'active',
          issued_at: d.issued_at,
          revoked_at: null,
          issued_position: at.position,
          revoked_position: null,
        });
        return;
      }
      case 'GrantRevoked': {
        const grant = this.grants.get(event.data.grant_id);
        // The decider refuses revoking an unknown or revoked grant; a fold must not fail on it either way.
        if (!grant || grant.status !== 'active') return;
        this.deindexActive(grant);
        this.grants.set(
          grant.grant_id,
          deepFreeze({ ...grant, status: 'revoked', revoked_at: event.data.revoked_at, revoked_position: at.position }),
        );
        return;
      }
      default:
        return;
    }
  }

  get(grantId: string): GrantView | undefined {
    return this.grants.get(grantId);
  }

  /** The zone's grants in issue order. */
  list(zoneId: string, filter: GrantFilter = {}): GrantView[] {
    const out: GrantView[] = [];
    const ids = this.byZone.get(zoneId);
    if (!ids) return out;
    for (const id of ids) {
      const g = this.grants.get(id)!;
      if (filter.application_id !== undefined && g.application_id !== filter.application_id) continue;
      if (filter.resource_id !== undefined && g.resource_id !== filter.resource_id) continue;
      if (filter.user_id !== undefined && g.user_id !== filter.user_id) continue;
      if (filter.status !== undefined && g.status !== filter.status) continue;
      out.push(g);
    }
    return out;
  }

  /**
   * Active grants for (zone, application, resource) that apply to `userId`: grants for any user (user_id null)
   * plus, when userId is given, that user's own grants. A null userId (the subject is an application) gets only
   * any-user grants. Sorted by issued_position so the policy input — and its digest — is deterministic.
   */
  activeFor(zoneId: string, applicationId: string, resourceId: string, userId: string | null): GrantView[] {
    const idx = this.active.get(tripleKey(zoneId, applicationId, resourceId));
    if (!idx) return [];
    const mine = userId === null ? undefined : idx.byUser.get(userId);
    if (!mine) return [...idx.anyUser.values()];
    if (idx.anyUser.size === 0) return [...mine.values()];
    // Both maps are in issue order (insertion order); merge them.
    return mergeByPosition([...idx.anyUser.values()], [...mine.values()]);
  }

  /** Every grant ever issued for the triple (revoked ones included), in issue order. */
  everFor(zoneId: string, applicationId: string, resourceId: string): GrantIssue[] {
    const list = this.ever.get(tripleKey(zoneId, applicationId, resourceId));
    return list ? [...list] : [];
  }

  reset(): void {
    this.grants.clear();
    this.byZone.clear();
    this.active.clear();
    this.ever.clear();
  }

  snapshot(): GrantsSnapshot {
    const grants: GrantsSnapshot['grants'] = [];
    for (const g of this.grants.values()) {
      grants.push({
        ...g,
        scopes: [...g.scopes],
        issued_position: String(g.issued_position),
        revoked_position: g.revoked_position === null ? null : String(g.revoked_position),
      });
    }
    return { version: VERSION, grants };
  }

  restore(snapshot: GrantsSnapshot): void {
    assertSnapshotVersion(this.name, VERSION, snapshot);
    this.reset();
    const grants = snapshot.grants.map(
      (g): GrantView => ({
        ...g,
        scopes: [...g.scopes],
        issued_position: BigInt(g.issued_position),
        revoked_position: g.revoked_position === null ? null : BigInt(g.revoked_position),
      }),
    );
    // Indexes rely on issue order.
    grants.sort((a, b) => (a.issued_position < b.issued_position ? -1 : a.issued_position > b.issued_position ? 1 : 0));
    for (const g of grants) this.add(g);
  }

  private add(grant: GrantView): void {
    deepFreeze(grant);
    this.grants.set(grant.grant_id, grant);
    let zone = this.byZone.get(grant.zone_id);
    if (!zone) this.byZone.set(grant.zone_id, (zone = new Set()));
    zone.add(grant.grant_id);
    const key = tripleKey(grant.zone_id, grant.application_id, grant.resource_id);
    let ever = this.ever.get(key);
    if (!ever) this.ever.set(key, (ever = []));
    ever.push(Object.freeze({ grant_id: grant.grant_id, issued_position: grant.issued_position }));
    if (grant.status !== 'active') return;
    let idx = this.active.get(key);
    if (!idx) this.active.set(key, (idx = { anyUser: new Map(), byUser: new Map() }));
    if (grant.user_id === null) {
      idx.anyUser.set(grant.grant_id, grant);
    } else {
      let mine = idx.byUser.get(grant.user_id);
      if (!mine) idx.byUser.set(grant.user_id, (mine = new Map()));
      mine.set(grant.grant_id, grant);
    }
  }

  private deindexActive(grant: GrantView): void {
    const key = tripleKey(grant.zone_id, grant.application_id, grant.resource_id);
    const idx = this.active.get(key);
    if (!idx) return;
    if (grant.user_id === null) {
      idx.anyUser.delete(grant.grant_id);
    } else {
      const mine = idx.byUser.get(grant.user_id);
      mine?.delete(grant.grant_id);
      if (mine && mine.size === 0) idx.byUser.delete(grant.user_id);
    }
    if (idx.anyUser.size === 0 && idx.byUser.size === 0) this.active.delete(key);
  }
}

function tripleKey(zoneId: string, applicationId: string, resourceId: string): string {
  return `${zoneId}\u0000${applicationId}\u0000${resourceId}`;
}

function mergeByPosition(a: GrantView[], b: GrantView[]): GrantView[] {
  const out: GrantView[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.issued_position <= b[j]!.issued_position ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
