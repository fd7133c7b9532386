import type { WritEvent } from '../events.js';

/** Resource state. There is no deregistration event yet, so `active` is terminal. */
export type ResourceState =
  | { status: 'none' }
  | {
      status: 'active';
      zone_id: string;
      resource_id: string;
      identifier: string;
      scopes: readonly string[];
      upstream_url: string | null;
      registered_at: string;
    };

export function initialState(): ResourceState {
  return { status: 'none' };
}

export function evolve(state: ResourceState, event: WritEvent): ResourceState {
  switch (event.type) {
    case 'ResourceRegistered': {
      const { zone_id, resource_id, identifier, scopes, upstream_url, registered_at } = event.data;
      return { status: 'active', zone_id, resource_id, identifier, scopes, upstream_url, registered_at };
    }
    default:
      return state;
  }
}
