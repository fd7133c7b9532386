import type { WritEvent } from '../events.js';
import type { SubjectType } from './commands.js';

/** What a session is bound to, whatever its status. */
export type SessionBinding = {
  zone_id: string;
  session_id: string;
  application_id: string;
  subject_id: string;
  subject_type: SubjectType;
  started_at: string;
};

/** Session state. `revoked` is terminal. */
export type SessionState =
  | { status: 'none' }
  | ({ status: 'active' } & SessionBinding)
  | ({ status: 'revoked'; revoked_at: string; reason: string | null } & SessionBinding);

export function initialState(): SessionState {
  return { status: 'none' };
}

export function evolve(state: SessionState, event: WritEvent): SessionState {
  switch (event.type) {
    case 'SessionStarted': {
      // A start after a revocation is never decided; if one were in the ledger, revocation still wins.
      if (state.status === 'revoked') return state;
      const { zone_id, session_id, application_id, subject_id, subject_type, started_at } = event.data;
      return { status: 'active', zone_id, session_id, application_id, subject_id, subject_type, started_at };
    }
    case 'SessionRevoked': {
      if (state.status !== 'active') return state;
      return { ...state, status: 'revoked', revoked_at: event.data.revoked_at, reason: event.data.reason };
    }
    default:
      return state;
  }
}
