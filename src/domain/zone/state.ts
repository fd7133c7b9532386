import type { WritEvent } from '../events.js';

/** An admin key as the zone aggregate remembers it (no secret material: the decider does not need it). */
export type AdminKey = { key_id: string; name: string; issued_at: string; revoked_at: string | null };

/** A trusted issuer as the zone aggregate remembers it. */
export type TrustedIssuer = { issuer_id: string; issuer: string; added_at: string; removed_at: string | null };

/** Zone state. Zones are never deleted, so there is no terminal status. */
export type ZoneState =
  | { status: 'none' }
  | {
      status: 'active';
      zone_id: string;
      name: string;
      created_at: string;
      /** Maps, not records: ids may legally be `__proto__` or `constructor`. */
      admin_keys: ReadonlyMap<string, AdminKey>;
      issuers: ReadonlyMap<string, TrustedIssuer>;
    };

export type ActiveZone = Extract<ZoneState, { status: 'active' }>;

export function initialState(): ZoneState {
  return { status: 'none' };
}

export function evolve(state: ZoneState, event: WritEvent): ZoneState {
  switch (event.type) {
    case 'ZoneCreated': {
      const { zone_id, name, created_at } = event.data;
      return { status: 'active', zone_id, name, created_at, admin_keys: new Map(), issuers: new Map() };
    }
    case 'AdminKeyIssued': {
      if (state.status !== 'active') return state;
      const { key_id, name, issued_at } = event.data;
      return { ...state, admin_keys: withEntry(state.admin_keys, key_id, { key_id, name, issued_at, revoked_at: null }) };
    }
    case 'AdminKeyRevoked': {
      if (state.status !== 'active') return state;
      const key = state.admin_keys.get(event.data.key_id);
      if (!key) return state;
      return { ...state, admin_keys: withEntry(state.admin_keys, key.key_id, { ...key, revoked_at: event.data.revoked_at }) };
    }
    case 'TrustedIssuerAdded': {
      if (state.status !== 'active') return state;
      const { issuer_id, issuer, added_at } = event.data;
      return { ...state, issuers: withEntry(state.issuers, issuer_id, { issuer_id, issuer, added_at, removed_at: null }) };
    }
    case 'TrustedIssuerRemoved': {
      if (state.status !== 'active') return state;
      const issuer = state.issuers.get(event.data.issuer_id);
      if (!issuer) return state;
      return {
        ...state,
        issuers: withEntry(state.issuers, issuer.issuer_id, { ...issuer, removed_at: event.data.removed_at }),
      };
    }
    default:
      return state;
  }
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): ReadonlyMap<string, V> {
  return new Map(map).set(key, value);
}
