import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import { invalidScopes, uniqueScopes } from '../scopes.js';
import { isResourceIdentifier } from '../validation.js';
import type { ResourceCommand } from './commands.js';
import type { ResourceState } from './state.js';

export function decide(command: ResourceCommand, state: ResourceState): WritEvent[] {
  switch (command.type) {
    case 'RegisterResource': {
      if (state.status !== 'none') {
        throw new DomainError('resource_already_exists', `resource ${command.resource_id} already exists`, {
          resource_id: command.resource_id,
        });
      }
      if (!isResourceIdentifier(command.identifier)) {
        throw new DomainError(
          'invalid_resource_identifier',
          'a resource identifier is resource://<slug> (lowercase letters, digits, ".", "_", "-")',
          { identifier: command.identifier },
        );
      }
      if (command.conflicting_resource_id != null) {
        throw new DomainError('resource_already_exists', `a resource named ${command.identifier} already exists`, {
          identifier: command.identifier,
          resource_id: command.conflicting_resource_id,
        });
      }
      const bad = invalidScopes(command.scopes);
      if (bad.length > 0) {
        throw new DomainError('invalid_scope', `invalid scope(s): ${bad.join(' ')}`, { scopes: bad });
      }
      const scopes = uniqueScopes(command.scopes);
      if (scopes.length === 0) {
        throw new DomainError('invalid_scope', 'a resource defines at least one scope', { scopes: [] });
      }
      const { zone_id, resource_id, identifier, upstream_url, registered_at } = command;
      return [emit('ResourceRegistered', { zone_id, resource_id, identifier, scopes, upstream_url, registered_at })];
    }
    default:
      return assertNever(command.type);
  }
}
