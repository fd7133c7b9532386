import type { Decider } from '../decider.js';
import type { ZoneCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve, initialState, type ZoneState } from './state.js';

export * from './commands.js';
export * from './state.js';
export { decide } from './decide.js';

export type Command = ZoneCommand;
export type State = ZoneState;

/** The zone aggregate (stream `zone-<zone_id>`): the zone, its admin keys and its trusted issuers. */
export const zoneDecider: Decider<ZoneCommand, ZoneState> = { initialState, evolve, decide };
