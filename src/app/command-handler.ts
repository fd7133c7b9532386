import type { EventStore, ExpectedRevision } from '../store/event-store.js';
import { ConcurrencyError } from '../store/store-errors.js';
import { decodeEvent, type WritEvent } from '../domain/events.js';
import type { Decider } from '../domain/decider.js';

/** What a handled command produced. `position` is undefined when the command was an idempotent no-op. */
export interface CommandOutcome<S> {
  events: WritEvent[];
  state: S;
  position: bigint | undefined;
}

/** Load an aggregate: fold its stream, remembering the revision to expect on the next append. */
export async function loadAggregate<C, S>(
  store: EventStore,
  stream: string,
  decider: Decider<C, S>,
  maxPosition?: bigint,
): Promise<{ state: S; revision: ExpectedRevision }> {
  let state = decider.initialState();
  let revision: ExpectedRevision = 'no_stream';
  for await (const recorded of store.readStream(stream, maxPosition === undefined ? {} : { maxPosition })) {
    state = decider.evolve(state, decodeEvent(recorded.type, recorded.data));
    revision = recorded.revision;
  }
  return { state, revision };
}

/**
 * Read, decide, append with the revision read: the optimistic-concurrency loop of event sourcing. A
 * concurrent writer makes the append fail with ConcurrencyError; the command is then decided again on the
 * fresh state (it may now be refused, e.g. a grant revoked twice at once gives one 200 and one 409).
 */
export async function handleCommand<C, S>(
  store: EventStore,
  stream: string,
  decider: Decider<C, S>,
  command: C,
  options: { metadata?: Record<string, unknown>; attempts?: number } = {},
): Promise<CommandOutcome<S>> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadAggregate(store, stream, decider);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: undefined };
    try {
      const result = await store.appendToStream(
        stream,
        events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, metadata: options.metadata ?? {} })),
        { expectedRevision: revision },
      );
      const next = events.reduce(decider.evolve, state);
      return { events, state: next, position: result.position };
    } catch (err) {
      if (err instanceof ConcurrencyError && attempt < attempts) continue;
      throw err;
    }
  }
}
