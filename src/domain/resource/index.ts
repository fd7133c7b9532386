import type { Decider } from '../decider.js';
import type { ResourceCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type ResourceState } from './state.js';

export * from './commands.js';
export * from './state.js';
export { decide } from './decide.js';

export type Command = ResourceCommand;
export type State = ResourceState;

/** The resource aggregate (stream `resource-<resource_id>`): an identifier and the scopes it defines. */
export const resourceDecider: Decider<ResourceCommand, ResourceState> = { initialState, evolve, decide };
