import { expect } from 'vitest';
import { foldEvents, type Decider } from '../../src/domain/decider.js';
import { DomainError, type DomainErrorCode } from '../../src/domain/domain-error.js';
import type { WritEvent } from '../../src/domain/events.js';

/**
 * given(decider, events).when(command).thenEvents(events) | .thenError(code, details?).
 *
 * The outcomes are not called `then`: an object with a `then` method is a thenable, and an accidental
 * `await` on a scenario would silently run it as a promise.
 */
export function given<C, S>(decider: Decider<C, S>, events: readonly WritEvent[] = []) {
  const state = foldEvents(decider, events);
  return {
    state,
    when(command: C) {
      /** Decide, checking on the way that deciding is deterministic and leaves the state untouched. */
      const run = (): WritEvent[] => {
        const before = structuredClone(state);
        const first = decider.decide(command, state);
        expect(state, 'decide must not mutate the state').toEqual(before);
        expect(decider.decide(command, state), 'decide must be deterministic').toEqual(first);
        return first;
      };
      return {
        /** Assert the exact events; returns the state after them for further checks. */
        thenEvents(expected: readonly WritEvent[]): S {
          const actual = run();
          expect(actual).toEqual(expected);
          return actual.reduce(decider.evolve, state);
        },
        /** Assert a refusal with this code (and, if given, these details, matched as a subset). */
        thenError(code: DomainErrorCode, details?: Record<string, unknown>): DomainError {
          let caught: unknown;
          try {
            decider.decide(command, state);
          } catch (err) {
            caught = err;
          }
          expect(caught, `expected DomainError ${code}, got no error`).toBeDefined();
          expect(caught).toBeInstanceOf(DomainError);
          const error = caught as DomainError;
          expect(error.code, error.message).toBe(code);
          if (details) expect(error.details).toMatchObject(details);
          return error;
        },
      };
    },
  };
}
