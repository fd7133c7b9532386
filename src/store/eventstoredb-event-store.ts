import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  convertToCommandError,
  excludeSystemEvents,
  isCommandError,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type ReadPosition,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './event-store.js';
import { ConcurrencyError, StoreUnavailableError, describeExpected } from './store-errors.js';

/**
 * The EventStoreDB (gRPC, server >= 22.6) adapter of the event store port.
 *
 * Our global position is the event's commit position in `$all`. Events appended over gRPC are implicit
 * transactions, for which the server reports commit = prepare = the event's own log position, so every event
 * has its own, strictly increasing commit position, and `{commit: P, prepare: P}` addresses it exactly.
 * The append result's commit position is that of the last event written (the client's own test suite
 * checks it against a backwards read of the stream).
 *
 * System events (type or stream starting with `$`: stats, settings, metadata, tombstones) are not part of
 * the ledger and are never returned.
 */
export class EventStoreDbEventStore implements EventStore {
  /** Close functions of open subscriptions: closing the store ends them as closed, not as failed. */
  private readonly subscriptions = new Set<() => Promise<void>>();
  private closed = false;

  constructor(private readonly client: EventStoreDBClient) {}

  /** `esdb://host:2113?tls=false` for one node, `esdb+discover://a:2113,b:2113,c:2113` for a cluster. */
  static fromConnectionString(connectionString: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString));
  }

  async appendToStream(
    stream: string,
    events: EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    try {
      // The server answers an empty append with a revision of 0 for a missing stream, so check by reading.
      if (events.length === 0) return await this.emptyAppend(stream, expected);
      const result = await this.client.appendToStream(
        stream,
        events.map((e) => jsonEvent({ type: e.type, data: e.data, metadata: e.metadata ?? {} })),
        { expectedRevision: toEsdbExpectedRevision(expected) },
      );
      // With throwOnAppendFailure=false in the connection string a conflict comes back as a result, not an error.
      if (!result.success) throw new ConcurrencyError(stream, describeExpected(expected), result.nextExpectedRevision);
      const position = result.position?.commit ?? (await this.lastEvent(stream))?.position;
      if (position === undefined) throw new StoreUnavailableError(`append to ${stream} reported no position`);
      return { nextRevision: result.nextExpectedRevision, position };
    } catch (error) {
      throw translateEsdbError(error, { stream, expected });
    }
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const { maxPosition, maxCount } = options;
    if (maxCount !== undefined && maxCount <= 0) return;
    const backwards = options.direction === 'backwards';
    // Revisions start at 0: backwards from below 0 is nothing, forwards from below 0 is everything.
    if (backwards && options.fromRevision !== undefined && options.fromRevision < 0n) return;
    const from = options.fromRevision !== undefined && options.fromRevision < 0n ? START : options.fromRevision;
    const read = this.client.readStream(stream, {
      direction: backwards ? BACKWARDS : FORWARDS,
      fromRevision: from ?? (backwards ? END : START),
      // With maxPosition, events above it are skipped here, so the server cannot count for us.
      ...(maxCount !== undefined && maxPosition === undefined ? { maxCount } : {}),
    });
    let yielded = 0;
    try {
      for await (const resolved of iterate(read)) {
        const event = toRecordedEvent(resolved);
        if (!event) continue;
        if (maxPosition !== undefined && event.position > maxPosition) {
          // Forwards, positions only grow within a stream: nothing after this can qualify.
          if (backwards) continue;
          return;
        }
        yield event;
        if (maxCount !== undefined && ++yielded >= maxCount) return;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return;
      throw translateEsdbError(error, { stream });
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const { fromPosition, maxPosition, maxCount } = options;
    if (maxCount !== undefined && maxCount <= 0) return;
    // ESDB's fromPosition is inclusive and ours exclusive: start at it and drop the event found there.
    const read = this.client.readAll({ direction: FORWARDS, fromPosition: toReadPosition(fromPosition) });
    let yielded = 0;
    try {
      for await (const resolved of iterate(read)) {
        const event = toRecordedEvent(resolved);
        if (!event || (fromPosition !== undefined && event.position <= fromPosition)) continue;
        if (maxPosition !== undefined && event.position > maxPosition) return;
        yield event;
        if (maxCount !== undefined && ++yielded >= maxCount) return;
      }
    } catch (error) {
      throw translateEsdbError(error);
    }
  }

  /**
   * Catch-up then live, filtered server-side to non-system events. A dropped connection ends the iteration
   * with StoreUnavailableError; the caller resubscribes from its checkpoint.
   */
  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const { fromPosition } = options;
    const sub = this.client.subscribeToAll({ fromPosition: toReadPosition(fromPosition), filter: excludeSystemEvents() });
    const subscriptions = this.subscriptions;
    let closed = false;
    let failure: unknown;
    // Without a listener an error emitted before iteration starts would crash the process; keep it for later.
    sub.on('error', (error) => {
      failure ??= error;
    });
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      subscriptions.delete(close);
      await sub.unsubscribe().catch(() => undefined);
      sub.destroy();
    };
    subscriptions.add(close);
    async function* events(): AsyncGenerator<RecordedEvent> {
      if (closed) return;
      try {
        if (failure === undefined) {
          for await (const resolved of sub) {
            const event = toRecordedEvent(resolved);
            // The server starts after fromPosition already; the check keeps "exclusive" true whatever it does.
            if (!event || (fromPosition !== undefined && event.position <= fromPosition)) continue;
            yield event;
          }
        }
        // The gRPC call ends the stream after an error too, so an end we did not ask for is a failure.
        if (!closed) throw failure ?? new StoreUnavailableError('EventStoreDB subscription ended unexpectedly');
      } catch (error) {
        if (closed) return;
        throw translateEsdbError(error);
      } finally {
        await close();
      }
    }
    return { close, [Symbol.asyncIterator]: events };
  }

  async headPosition(): Promise<bigint> {
    try {
      // The newest records are often system events (stats, scavenges): walk back to the first of ours.
      for await (const resolved of iterate(this.client.readAll({ direction: BACKWARDS, fromPosition: END }))) {
        const event = toRecordedEvent(resolved);
        if (event) return event.position;
      }
      return -1n;
    } catch (error) {
      throw translateEsdbError(error);
    }
  }

  async ping(): Promise<void> {
    // Reads have no deadline in the client (deadline: Infinity), so bound the probe ourselves.
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    const drained = (async () => {
      for await (const _ of iterate(read)) void _;
    })();
    // The race may settle on the timeout first; a later rejection of the read must not go unhandled.
    drained.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError('EventStoreDB ping timed out after 5 s')), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([drained, timeout]);
    } catch (error) {
      await read.cancel().catch(() => undefined);
      throw translateEsdbError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((close) => close()));
    await this.client.dispose();
  }

  private async lastEvent(stream: string): Promise<RecordedEvent | undefined> {
    for await (const event of this.readStream(stream, { direction: 'backwards', maxCount: 1 })) return event;
    return undefined;
  }

  private async emptyAppend(stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    const current = (await this.lastEvent(stream))?.revision ?? -1n;
    if ((expected === 'no_stream' && current !== -1n) || (typeof expected === 'bigint' && expected !== current)) {
      throw new ConcurrencyError(stream, describeExpected(expected), current);
    }
    return { nextRevision: current, position: await this.headPosition() };
  }
}

/** Our expected revision as the client's: the names happen to be the same, but do not rely on that. */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'any') return ANY;
  return expected;
}

/**
 * Vendor errors into the port's: a wrong expected version is a ConcurrencyError (actual -1n when the stream
 * does not exist); every other client error (unavailable, deadline, not leader, access denied, discovery
 * failure...) is a StoreUnavailableError carrying the original as `cause`. Errors that did not come from the
 * client (bugs) pass through untouched.
 */
export function translateEsdbError(raw: unknown, context: { stream?: string; expected?: ExpectedRevision } = {}): unknown {
  if (raw instanceof ConcurrencyError || raw instanceof StoreUnavailableError) return raw;
  // Some paths (the server-capabilities probe before an append) surface raw gRPC errors; the client's own
  // converter turns those into its error classes and leaves everything else as it is.
  const error = raw instanceof Error ? convertToCommandError(raw) : raw;
  if (error instanceof WrongExpectedVersionError) {
    const actual = error.actualVersion === NO_STREAM ? -1n : error.actualVersion;
    const expected = context.expected !== undefined ? describeExpected(context.expected) : String(error.expectedVersion);
    return new ConcurrencyError(context.stream ?? error.streamName, expected, actual);
  }
  if (error instanceof Error && (isCommandError(error) || isDiscoveryFailure(error))) {
    const where = context.stream ? ` (stream ${context.stream})` : '';
    return new StoreUnavailableError(`EventStoreDB: ${error.constructor.name}: ${error.message}${where}`, { cause: error });
  }
  return error;
}

// The client throws a plain Error when gossip finds no usable node (esdb+discover://).
function isDiscoveryFailure(error: Error): boolean {
  return /^Failed to discover after \d+ attempts/.test(error.message);
}

const PING_TIMEOUT_MS = 5_000;

function toReadPosition(position: bigint | undefined): ReadPosition {
  return position === undefined || position < 0n ? START : { commit: position, prepare: position };
}

// Servers older than 22.6 report no $all position on stream reads (it arrives as 2^64-1).
const NO_POSITION = 2n ** 64n - 1n;

/** Map a client event to ours; undefined for system events and events without a usable record. */
function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const e = resolved.event;
  if (!e || e.type.startsWith('$') || e.streamId.startsWith('$')) return undefined;
  const commit = e.position?.commit;
  const position = commit !== undefined && commit !== NO_POSITION ? commit : resolved.commitPosition;
  if (position === undefined) {
    throw new StoreUnavailableError(`EventStoreDB returned ${e.streamId}@${e.revision} without a $all position (server >= 22.6 required)`);
  }
  return {
    type: e.type,
    data: asObject(e.data),
    metadata: asObject(e.metadata),
    streamId: e.streamId,
    revision: e.revision,
    position,
    recordedAt: e.created.toISOString(),
  };
}

// writ writes JSON objects only; anything else in $all (another application's binary events) reads as {}.
function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
    ? (value as Record<string, unknown>)
    : {};
}

/** Iterate a client read; stopping early cancels the gRPC call instead of leaving it streaming. */
async function* iterate<E>(read: StreamingRead<E>): AsyncGenerator<E> {
  let finished = false;
  try {
    for await (const item of read) yield item;
    finished = true;
  } finally {
    if (!finished) await read.cancel().catch(() => undefined);
  }
}
