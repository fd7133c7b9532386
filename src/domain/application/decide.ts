import { assertNever, DomainError } from '../domain-error.js';
import { emit } from '../emit.js';
import type { WritEvent } from '../events.js';
import type { ApplicationCommand } from './commands.js';
import type { ApplicationState } from './state.js';

export function decide(command: ApplicationCommand, state: ApplicationState): WritEvent[] {
  switch (command.type) {
    case 'RegisterApplication': {
      if (state.status !== 'none') {
        // Registering again would silently rotate the secret; rotation deserves its own command and event.
        throw new DomainError('application_already_exists', `application ${command.application_id} already exists`, {
          application_id: command.application_id,
        });
      }
      const { zone_id, application_id, name, secret_salt, secret_hash, registered_at } = command;
      return [emit('ApplicationRegistered', { zone_id, application_id, name, secret_salt, secret_hash, registered_at })];
    }
    default:
      return assertNever(command.type);
  }
}
