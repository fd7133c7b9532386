import type { Decider } from '../decider.js';
import type { GrantCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type GrantState } from './state.js';

export * from './commands.js';
export * from './state.js';
export { decide } from './decide.js';

export type Command = GrantCommand;
export type State = GrantState;

/** The grant aggregate (stream `grant-<grant_id>`): scopes of one resource granted to one application. */
export const grantDecider: Decider<GrantCommand, GrantState> = { initialState, evolve, decide };
