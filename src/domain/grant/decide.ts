import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import { invalidScopes, scopesOutside, uniqueScopes } from '../scopes.js';
import type { GrantCommand, IssueGrant } from './commands.js';
import type { GrantState } from './state.js';

export function decide(command: GrantCommand, state: GrantState): WritEvent[] {
  switch (command.type) {
    case 'IssueGrant':
      return issue(command, state);
    case 'RevokeGrant': {
      // Another zone's grant is "not found": the caller's zone must not learn it exists.
      if (state.status === 'none' || state.zone_id !== command.zone_id) {
        throw new DomainError('grant_not_found', `grant ${command.grant_id} not found`, { grant_id: command.grant_id });
      }
      if (state.status === 'revoked') {
        throw new DomainError('grant_already_revoked', `grant ${command.grant_id} is already revoked`, {
          grant_id: state.grant_id,
          revoked_at: state.revoked_at,
        });
      }
      const { zone_id, grant_id, revoked_at } = command;
      return [emit('GrantRevoked', { zone_id, grant_id, revoked_at })];
    }
    default:
      return assertNever(command);
  }
}

function issue(command: IssueGrant, state: GrantState): WritEvent[] {
  if (state.status !== 'none') {
    throw new DomainError('grant_already_exists', `grant ${command.grant_id} already exists`, {
      grant_id: command.grant_id,
    });
  }
  const bad = invalidScopes(command.scopes);
  if (bad.length > 0) {
    throw new DomainError('invalid_scope', `invalid scope(s): ${bad.join(' ')}`, { scopes: bad });
  }
  const scopes = uniqueScopes(command.scopes);
  if (scopes.length === 0) {
    throw new DomainError('invalid_scope', 'a grant covers at least one scope', { scopes: [] });
  }
  if (command.application === null || command.application.zone_id !== command.zone_id) {
    throw new DomainError('application_not_found', `application ${command.application_id} not found`, {
      application_id: command.application_id,
    });
  }
  if (command.resource === null || command.resource.zone_id !== command.zone_id) {
    throw new DomainError('resource_not_found', `resource ${command.resource_id} not found`, {
      resource_id: command.resource_id,
    });
  }
  const exceeding = scopesOutside(scopes, command.resource.scopes);
  if (exceeding.length > 0) {
    throw new DomainError(
      'grant_scopes_exceed_resource',
      `the resource does not define scope(s): ${exceeding.join(' ')}`,
      { scopes: exceeding, resource_id: command.resource_id },
    );
  }
  const { zone_id, grant_id, application_id, resource_id, user_id, issued_at } = command;
  return [emit('GrantIssued', { zone_id, grant_id, application_id, resource_id, scopes, user_id, issued_at })];
}
