import { DomainError } from './domain-error.js';
import { EventDecodeError, makeEvent, type EventData, type EventOf, type EventType } from './events.js';

/**
 * `makeEvent` for deciders. A command whose payload does not fit the event schema (a malformed time, an id
 * with forbidden characters, ...) is the caller's mistake, not a corrupt ledger: it surfaces as a
 * DomainError `invalid_request` carrying the schema issues, so the API maps it like any other bad input
 * instead of a 500.
 */
export function emit<T extends EventType>(type: T, data: EventData<T>): EventOf<T> {
  try {
    return makeEvent(type, data);
  } catch (err) {
    if (err instanceof EventDecodeError) {
      throw new DomainError('invalid_request', `the command does not produce a valid ${type} event`, {
        event_type: type,
        issues: err.issues,
      });
    }
    throw err;
  }
}
