import type { Decider } from '../decider.js';
import type { DecisionCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type DecisionState } from './state.js';

export * from './commands.js';
export * from './state.js';
export * from './scope-bound.js';
export { decide, type DecisionViolation } from './decide.js';

export type Command = DecisionCommand;
export type State = DecisionState;

/** The decision aggregate (stream `decision-<request_id>`): one recorded authorization decision per request. */
export const decisionDecider: Decider<DecisionCommand, DecisionState> = { initialState, evolve, decide };
