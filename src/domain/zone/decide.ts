import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import type { ZoneCommand } from './commands.js';
import type { ActiveZone, ZoneState } from './state.js';

export function decide(command: ZoneCommand, state: ZoneState): WritEvent[] {
  switch (command.type) {
    case 'CreateZone': {
      if (state.status !== 'none') {
        throw new DomainError('zone_already_exists', `zone ${command.zone_id} already exists`, {
          zone_id: command.zone_id,
        });
      }
      const { zone_id, name, created_at } = command;
      return [emit('ZoneCreated', { zone_id, name, created_at })];
    }
    case 'IssueAdminKey': {
      const zone = requireZone(state, command.zone_id);
      if (zone.admin_keys.has(command.key_id)) {
        throw new DomainError('admin_key_already_exists', `admin key ${command.key_id} already exists`, {
          key_id: command.key_id,
        });
      }
      const { zone_id, key_id, name, secret_salt, secret_hash, issued_at } = command;
      return [emit('AdminKeyIssued', { zone_id, key_id, name, secret_salt, secret_hash, issued_at })];
    }
    case 'RevokeAdminKey': {
      const zone = requireZone(state, command.zone_id);
      const key = zone.admin_keys.get(command.key_id);
      if (!key) {
        throw new DomainError('admin_key_not_found', `admin key ${command.key_id} not found`, {
          key_id: command.key_id,
        });
      }
      if (key.revoked_at !== null) {
        throw new DomainError('admin_key_already_revoked', `admin key ${command.key_id} is already revoked`, {
          key_id: key.key_id,
          revoked_at: key.revoked_at,
        });
      }
      const { zone_id, key_id, revoked_at } = command;
      return [emit('AdminKeyRevoked', { zone_id, key_id, revoked_at })];
    }
    case 'AddTrustedIssuer': {
      const zone = requireZone(state, command.zone_id);
      if (zone.issuers.has(command.issuer_id)) {
        throw new DomainError('issuer_already_exists', `issuer ${command.issuer_id} already exists`, {
          issuer_id: command.issuer_id,
        });
      }
      // Two active entries for one `iss` would make subject-token verification ambiguous (which JWKS, which
      // audience?). Replacing an issuer's keys is remove + add.
      for (const existing of zone.issuers.values()) {
        if (existing.removed_at === null && existing.issuer === command.issuer) {
          throw new DomainError('issuer_already_trusted', `issuer ${command.issuer} is already trusted`, {
            issuer: command.issuer,
            issuer_id: existing.issuer_id,
          });
        }
      }
      const { zone_id, issuer_id, issuer, jwks, audience, added_at } = command;
      return [emit('TrustedIssuerAdded', { zone_id, issuer_id, issuer, jwks, audience, added_at })];
    }
    case 'RemoveTrustedIssuer': {
      const zone = requireZone(state, command.zone_id);
      const issuer = zone.issuers.get(command.issuer_id);
      if (!issuer || issuer.removed_at !== null) {
        throw new DomainError('issuer_not_found', `trusted issuer ${command.issuer_id} not found`, {
          issuer_id: command.issuer_id,
        });
      }
      const { zone_id, issuer_id, removed_at } = command;
      return [emit('TrustedIssuerRemoved', { zone_id, issuer_id, removed_at })];
    }
    default:
      return assertNever(command);
  }
}

/** The zone, or `zone_not_found`; a stream holding another zone id is treated as absent. */
function requireZone(state: ZoneState, zoneId: string): ActiveZone {
  if (state.status !== 'active' || state.zone_id !== zoneId) {
    throw new DomainError('zone_not_found', `zone ${zoneId} not found`, { zone_id: zoneId });
  }
  return state;
}
