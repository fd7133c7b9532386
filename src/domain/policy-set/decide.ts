import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import type { PolicySetCommand } from './commands.js';
import { nextVersion, versionWithDigest, type InitializedPolicySet, type PolicySetState } from './state.js';

/** Version 1 of every zone is the built-in default policy. */
export const BUILTIN_POLICY_VERSION = 1;

export function decide(command: PolicySetCommand, state: PolicySetState): WritEvent[] {
  switch (command.type) {
    case 'InitializePolicySet': {
      if (state.status !== 'none') {
        throw new DomainError('policy_set_already_initialized', `zone ${command.zone_id} already has a policy set`, {
          zone_id: command.zone_id,
        });
      }
      const { zone_id, digest, bundle_base64, entrypoints, created_at } = command;
      return [
        emit('PolicyVersionCreated', {
          zone_id,
          version: BUILTIN_POLICY_VERSION,
          digest,
          bundle_base64,
          entrypoints,
          origin: 'builtin',
          created_at,
        }),
        emit('PolicyVersionActivated', {
          zone_id,
          version: BUILTIN_POLICY_VERSION,
          previous_version: null,
          activated_at: created_at,
        }),
      ];
    }
    case 'CreatePolicyVersion': {
      const set = requireInitialized(state, command.zone_id);
      const existing = versionWithDigest(set, command.digest);
      if (existing) {
        throw new DomainError('policy_version_exists', `version ${existing.version} already has this digest`, {
          version: existing.version,
          digest: existing.digest,
        });
      }
      const { zone_id, digest, bundle_base64, entrypoints, origin, created_at } = command;
      return [
        emit('PolicyVersionCreated', {
          zone_id,
          version: nextVersion(set),
          digest,
          bundle_base64,
          entrypoints,
          origin,
          created_at,
        }),
      ];
    }
    case 'ActivatePolicyVersion': {
      const set = requireInitialized(state, command.zone_id);
      const target = set.versions.get(command.version);
      if (!target) {
        throw new DomainError('policy_version_not_found', `policy-set version ${command.version} not found`, {
          version: command.version,
        });
      }
      if (set.active_version === target.version) {
        throw new DomainError('policy_version_already_active', `version ${target.version} is already active`, {
          version: target.version,
        });
      }
      const { zone_id, activated_at } = command;
      return [
        emit('PolicyVersionActivated', {
          zone_id,
          version: target.version,
          previous_version: set.active_version,
          activated_at,
        }),
      ];
    }
    default:
      return assertNever(command);
  }
}

function requireInitialized(state: PolicySetState, zoneId: string): InitializedPolicySet {
  if (state.status !== 'initialized' || state.zone_id !== zoneId) {
    throw new DomainError('policy_set_not_initialized', `zone ${zoneId} has no policy set`, { zone_id: zoneId });
  }
  return state;
}
