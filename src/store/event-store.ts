/**
 * The event store port. It mirrors EventStoreDB's model (streams with revisions, one global order of
 * positions, catch-up subscriptions) so that the EventStoreDB adapter stays thin and the embedded SQLite
 * ledger behaves the same way. Every adapter must pass test/contracts/event-store.ts.
 */

/** A stream revision to expect on append: the stream must not exist, anything goes, or exactly this revision. */
export type ExpectedRevision = 'no_stream' | 'any' | bigint;

/** An event as the caller hands it to `appendToStream`. */
export interface EventToAppend {
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** An event as the ledger returns it. Positions are global and strictly increasing; revisions count per stream from 0. */
export interface RecordedEvent {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  streamId: string;
  revision: bigint;
  position: bigint;
  /** When the ledger stored it (RFC 3339, UTC). */
  recordedAt: string;
}

export interface AppendResult {
  /** Revision of the last event written (the stream's new head). */
  nextRevision: bigint;
  /** Global position of the last event written. */
  position: bigint;
}

export interface ReadStreamOptions {
  fromRevision?: bigint;
  direction?: 'forwards' | 'backwards';
  /** Only events at or below this global position: "the stream as it stood at P". */
  maxPosition?: bigint;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Omitted means from the start. */
  fromPosition?: bigint;
  /** Inclusive upper bound. */
  maxPosition?: bigint;
  maxCount?: number;
}

export interface SubscribeOptions {
  /** Exclusive: deliver events strictly after this position (a checkpoint). Omitted means from the start. */
  fromPosition?: bigint;
}

/**
 * A catch-up subscription: an async iterable that delivers history then live events in position order,
 * with no gap and no duplicate. `close()` ends the iteration.
 */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  appendToStream(stream: string, events: EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult>;
  /** Events of one stream. A stream that does not exist yields nothing. */
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribeToAll(options?: SubscribeOptions): Subscription;
  /** Global position of the newest event, or -1n for an empty ledger. */
  headPosition(): Promise<bigint>;
  /** Cheap liveness probe for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
