import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import type { SessionCommand } from './commands.js';
import type { SessionState } from './state.js';

export function decide(command: SessionCommand, state: SessionState): WritEvent[] {
  switch (command.type) {
    case 'StartSession': {
      if (state.status === 'revoked') {
        throw new DomainError('session_revoked', `session ${command.session_id} is revoked`, {
          session_id: command.session_id,
        });
      }
      if (state.status === 'active') {
        throw new DomainError('session_already_exists', `session ${command.session_id} already exists`, {
          session_id: command.session_id,
        });
      }
      const { zone_id, session_id, application_id, subject_id, subject_type, started_at } = command;
      return [emit('SessionStarted', { zone_id, session_id, application_id, subject_id, subject_type, started_at })];
    }
    case 'RevokeSession': {
      if (state.status === 'none' || state.zone_id !== command.zone_id) {
        throw new DomainError('session_not_found', `session ${command.session_id} not found`, {
          session_id: command.session_id,
        });
      }
      if (state.status === 'revoked') return [];
      const { zone_id, session_id, reason, revoked_at } = command;
      return [emit('SessionRevoked', { zone_id, session_id, reason, revoked_at })];
    }
    default:
      return assertNever(command);
  }
}
