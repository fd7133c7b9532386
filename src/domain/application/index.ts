import type { Decider } from '../decider.js';
import type { ApplicationCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type ApplicationState } from './state.js';

export * from './commands.js';
export * from './state.js';
export { decide } from './decide.js';

export type Command = ApplicationCommand;
export type State = ApplicationState;

/** The application aggregate (stream `application-<application_id>`): a client of the STS. */
export const applicationDecider: Decider<ApplicationCommand, ApplicationState> = { initialState, evolve, decide };
