import type { Decider } from '../decider.js';
import type { PolicySetCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type PolicySetState } from './state.js';

export * from './commands.js';
export * from './state.js';
export { BUILTIN_POLICY_VERSION, decide } from './decide.js';

export type Command = PolicySetCommand;
export type State = PolicySetState;

/** The policy-set aggregate (stream `policyset-<zone_id>`): a zone's immutable policy versions and the active one. */
export const policySetDecider: Decider<PolicySetCommand, PolicySetState> = { initialState, evolve, decide };
