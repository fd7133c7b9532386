import type { Decider } from '../decider.js';
import type { SessionCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type SessionState } from './state.js';

export * from './commands.js';
export * from './state.js';
export * from './continuation.js';
export { decide } from './decide.js';

export type Command = SessionCommand;
export type State = SessionState;

/** The session aggregate (stream `session-<session_id>`): one application acting for one subject until revoked. */
export const sessionDecider: Decider<SessionCommand, SessionState> = { initialState, evolve, decide };
