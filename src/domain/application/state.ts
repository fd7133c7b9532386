import type { WritEvent } from '../events.js';

/** Application state. There is no deregistration event yet, so `active` is terminal. */
export type ApplicationState =
  | { status: 'none' }
  | { status: 'active'; zone_id: string; application_id: string; name: string; registered_at: string };

export function initialState(): ApplicationState {
  return { status: 'none' };
}

export function evolve(state: ApplicationState, event: WritEvent): ApplicationState {
  switch (event.type) {
    case 'ApplicationRegistered': {
      const { zone_id, application_id, name, registered_at } = event.data;
      return { status: 'active', zone_id, application_id, name, registered_at };
    }
    default:
      return state;
  }
}
