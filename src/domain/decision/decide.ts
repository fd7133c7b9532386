import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import { scopesOutside, uniqueScopes } from '../scopes.js';
import type { DecisionCommand, RecordDecision } from './commands.js';
import { grantableScopes } from './scope-bound.js';
import type { DecisionState } from './state.js';

/** Why RecordDecision refused a decision as inconsistent (`details.violation` of its `invalid_request`). */
export type DecisionViolation =
  | 'granted_scopes_exceed_bound'
  | 'allow_without_scopes'
  | 'allow_without_mandate'
  | 'deny_with_scopes'
  | 'deny_with_mandate';

export function decide(command: DecisionCommand, state: DecisionState): WritEvent[] {
  switch (command.type) {
    case 'RecordDecision':
      return record(command, state);
    default:
      return assertNever(command.type);
  }
}

function record(command: RecordDecision, state: DecisionState): WritEvent[] {
  if (state.status !== 'none') {
    throw new DomainError('duplicate_request_id', `request ${command.request_id} already has a decision`, {
      request_id: command.request_id,
    });
  }
  const { type: _type, grants, resource_scopes, ...data } = command;
  const granted = uniqueScopes(data.granted_scopes);

  const exceeding = scopesOutside(granted, grantableScopes(data.requested_scopes, grants, resource_scopes));
  if (exceeding.length > 0) {
    refuse('granted_scopes_exceed_bound', 'granted scopes exceed requested ∩ grants ∩ resource scopes', {
      scopes: exceeding,
    });
  }
  if (data.decision === 'allow') {
    if (granted.length === 0) refuse('allow_without_scopes', 'an allow decision grants at least one scope');
    if (data.mandate === null) refuse('allow_without_mandate', 'an allow decision records its mandate');
  } else {
    if (granted.length > 0) refuse('deny_with_scopes', 'a deny decision grants no scope', { scopes: granted });
    if (data.mandate !== null) refuse('deny_with_mandate', 'a deny decision issues no mandate');
  }

  return [
    emit('DecisionRecorded', { ...data, granted_scopes: granted, grant_ids: grants.map((g) => g.grant_id) }),
  ];
}

function refuse(violation: DecisionViolation, message: string, details: Record<string, unknown> = {}): never {
  throw new DomainError('invalid_request', `inconsistent decision: ${message}`, { violation, ...details });
}
