import type { WritEvent } from '../events.js';

/** What a grant allows, whatever its status. */
export type GrantTerms = {
  zone_id: string;
  grant_id: string;
  application_id: string;
  resource_id: string;
  scopes: readonly string[];
  user_id: string | null;
  issued_at: string;
};

/** Grant state. `revoked` is terminal: a revoked grant is never reinstated (issue a new one). */
export type GrantState =
  | { status: 'none' }
  | ({ status: 'active' } & GrantTerms)
  | ({ status: 'revoked'; revoked_at: string } & GrantTerms);

export function initialState(): GrantState {
  return { status: 'none' };
}

export function evolve(state: GrantState, event: WritEvent): GrantState {
  switch (event.type) {
    case 'GrantIssued': {
      const { zone_id, grant_id, application_id, resource_id, scopes, user_id, issued_at } = event.data;
      return { status: 'active', zone_id, grant_id, application_id, resource_id, scopes, user_id, issued_at };
    }
    case 'GrantRevoked': {
      if (state.status !== 'active') return state;
      return { ...state, status: 'revoked', revoked_at: event.data.revoked_at };
    }
    default:
      return state;
  }
}
