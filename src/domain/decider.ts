import type { WritEvent } from './events.js';

/**
 * An aggregate's decision logic as three pure functions. `decide` throws a DomainError when a command
 * breaks an invariant and otherwise returns the events to append (possibly none: an idempotent no-op).
 * Everything non-deterministic (time, generated ids, salted hashes, facts read from other aggregates)
 * arrives on the command, so the same command on the same state always yields the same events.
 */
export type Decider<C, S> = {
  initialState(): S;
  /** Total: an event the aggregate does not care about leaves the state unchanged. */
  evolve(s: S, e: WritEvent): S;
  decide(c: C, s: S): WritEvent[];
};

/** Rebuild an aggregate's state from its stream (the application layer's read-then-decide step). */
export function foldEvents<C, S>(decider: Decider<C, S>, events: Iterable<WritEvent>): S {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
