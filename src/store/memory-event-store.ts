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
import { ConcurrencyError, describeExpected } from './store-errors.js';

/** In-memory ledger for tests and tools. Same semantics as the durable adapters, minus durability. */
export class MemoryEventStore implements EventStore {
  private readonly log: RecordedEvent[] = [];
  private readonly streamsById = new Map<string, RecordedEvent[]>();
  private waiters: Array<() => void> = [];
  private closed = false;

  async appendToStream(
    stream: string,
    events: EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    const existing = this.streamsById.get(stream);
    const current = existing && existing.length > 0 ? BigInt(existing.length - 1) : -1n;
    if ((expected === 'no_stream' && current !== -1n) || (typeof expected === 'bigint' && expected !== current)) {
      throw new ConcurrencyError(stream, describeExpected(expected), current);
    }
    if (events.length === 0) return { nextRevision: current, position: BigInt(this.log.length - 1) };
    const list = existing ?? [];
    const recordedAt = new Date().toISOString();
    for (const e of events) {
      const recorded: RecordedEvent = {
        type: e.type,
        // Copies so that callers cannot mutate the ledger through references they keep.
        data: structuredClone(e.data),
        metadata: structuredClone(e.metadata ?? {}),
        streamId: stream,
        revision: BigInt(list.length),
        position: BigInt(this.log.length),
        recordedAt,
      };
      list.push(recorded);
      this.log.push(recorded);
    }
    this.streamsById.set(stream, list);
    this.wake();
    const last = list[list.length - 1]!;
    return { nextRevision: last.revision, position: last.position };
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const list = this.streamsById.get(stream) ?? [];
    const from = options.fromRevision;
    const max = options.maxPosition;
    let selected = list.filter((e) => (max === undefined || e.position <= max));
    if (options.direction === 'backwards') {
      selected = selected.filter((e) => from === undefined || e.revision <= from).reverse();
    } else {
      selected = selected.filter((e) => from === undefined || e.revision >= from);
    }
    if (options.maxCount !== undefined) selected = selected.slice(0, options.maxCount);
    for (const e of selected) yield structuredClone(e);
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const start = options.fromPosition === undefined ? 0 : Number(options.fromPosition) + 1;
    let count = 0;
    for (let i = start; i < this.log.length; i++) {
      const e = this.log[i]!;
      if (options.maxPosition !== undefined && e.position > options.maxPosition) return;
      if (options.maxCount !== undefined && count >= options.maxCount) return;
      count++;
      yield structuredClone(e);
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    let next = options.fromPosition === undefined ? 0 : Number(options.fromPosition) + 1;
    let done = false;
    let wakeSelf: (() => void) | undefined;
    const self = this;
    return {
      async close() {
        done = true;
        wakeSelf?.();
      },
      [Symbol.asyncIterator]() {
        return {
          async next(): Promise<IteratorResult<RecordedEvent>> {
            while (!done && !self.closed) {
              if (next < self.log.length) return { done: false, value: structuredClone(self.log[next++]!) };
              await new Promise<void>((resolve) => {
                wakeSelf = resolve;
                self.waiters.push(resolve);
              });
            }
            return { done: true, value: undefined };
          },
          async return(): Promise<IteratorResult<RecordedEvent>> {
            done = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  async headPosition(): Promise<bigint> {
    return BigInt(this.log.length - 1);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
