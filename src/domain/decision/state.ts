import type { WritEvent } from '../events.js';

/** Decision state: a request id holds at most one decision, and it never changes. */
export type DecisionState =
  | { status: 'none' }
  | {
      status: 'recorded';
      request_id: string;
      zone_id: string;
      occurred_at: string;
      decision: 'allow' | 'deny';
      granted_scopes: readonly string[];
      mandate: { jti: string; exp: string } | null;
    };

export function initialState(): DecisionState {
  return { status: 'none' };
}

export function evolve(state: DecisionState, event: WritEvent): DecisionState {
  switch (event.type) {
    case 'DecisionRecorded': {
      // The first decision is the one that counts; a stream can never legitimately hold two.
      if (state.status === 'recorded') return state;
      const { request_id, zone_id, occurred_at, decision, granted_scopes, mandate } = event.data;
      return { status: 'recorded', request_id, zone_id, occurred_at, decision, granted_scopes, mandate };
    }
    default:
      return state;
  }
}
