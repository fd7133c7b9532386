import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ANY,
  AccessDeniedError,
  DeadlineExceededError,
  NO_STREAM,
  UnavailableError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
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
} from '../../src/store/event-store.js';
import { EventStoreDbEventStore, toEsdbExpectedRevision, translateEsdbError } from '../../src/store/eventstoredb-event-store.js';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import { openEventStore } from '../../src/store/open-event-store.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { ConcurrencyError, StoreUnavailableError } from '../../src/store/store-errors.js';
import { eventStoreContract } from '../contracts/event-store.js';

const ESDB = process.env.WRIT_TEST_ESDB;
const SKIPPED = 'EventStoreDB contract SKIPPED: set WRIT_TEST_ESDB=esdb://host:2113?tls=false to run';

// Every store the factory opens writes under its own prefix, below which nothing of earlier runs or of other
// stores exists: an ESDB server cannot be emptied between tests, so each test gets a fresh "ledger" this way.
const RUN = `writ-test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
let opened = 0;

if (ESDB) {
  eventStoreContract('EventStoreDbEventStore', async () => {
    const store = await IsolatedEventStore.open(ESDB, `${RUN}-${++opened}-`);
    return { store, cleanup: () => store.close() };
  });

  describe('EventStoreDbEventStore against a server', () => {
    it('gives each event of one append its own commit position, the last one being the append position', async () => {
      const store = EventStoreDbEventStore.fromConnectionString(ESDB);
      try {
        const stream = `${RUN}-positions`;
        const result = await store.appendToStream(stream, [event('A'), event('B'), event('C')], { expectedRevision: 'no_stream' });
        const events = await collect(store.readStream(stream));
        const positions = events.map((e) => e.position);
        expect(new Set(positions).size).toBe(3);
        expect(positions[1]! > positions[0]! && positions[2]! > positions[1]!).toBe(true);
        expect(result).toEqual({ nextRevision: 2n, position: positions[2] });
        // ESDB reads $all from a position inclusively; ours is exclusive.
        const [next] = await collect(store.readAll({ fromPosition: positions[0]!, maxCount: 1 }));
        expect(next).toEqual(events[1]);
        expect(await store.headPosition()).toBeGreaterThanOrEqual(result.position);
      } finally {
        await store.close();
      }
    });

    it('keeps events of $-streams out of readAll and subscriptions', async () => {
      const store = EventStoreDbEventStore.fromConnectionString(ESDB);
      try {
        const before = await store.headPosition();
        await store.appendToStream(`$${RUN}-system`, [event('NotOurs')]);
        const { position } = await store.appendToStream(`${RUN}-visible`, [event('Ours')]);
        const read = await collect(store.readAll({ fromPosition: before, maxPosition: position }));
        expect(read.map((e) => e.type)).not.toContain('NotOurs');
        expect(read.map((e) => e.type)).toContain('Ours');
        expect(read.every((e) => !e.type.startsWith('$') && !e.streamId.startsWith('$'))).toBe(true);

        const subscription = store.subscribeToAll({ fromPosition: before });
        const seen: RecordedEvent[] = [];
        for await (const e of subscription) {
          seen.push(e);
          if (e.position >= position) break;
        }
        expect(seen.map((e) => e.type)).not.toContain('NotOurs');
        expect(seen.map((e) => e.type)).toContain('Ours');
      } finally {
        await store.close();
      }
    });
  });
} else {
  console.warn(`[writ] ${SKIPPED}`);
  describe.skip(SKIPPED, () => {
    it.skip('EventStore contract and server checks for EventStoreDbEventStore', () => undefined);
  });
}

// The only stand-ins in this file: error objects of the client package built directly with their own
// constructors, with no gRPC call behind them. Everything else runs the real client (against a closed port).
describe('EventStoreDbEventStore without a server', () => {
  it('maps expected revisions to the client constants', () => {
    expect(toEsdbExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toEsdbExpectedRevision('any')).toBe(ANY);
    expect(toEsdbExpectedRevision(0n)).toBe(0n);
    expect(toEsdbExpectedRevision(41n)).toBe(41n);
  });

  it('translates a wrong expected version into ConcurrencyError with the actual revision', () => {
    const vendor = new WrongExpectedVersionError(undefined, { streamName: 'grant-1', expected: 1n, current: 4n });
    const error = translateEsdbError(vendor, { stream: 'grant-1', expected: 1n });
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ code: 'concurrency_conflict', stream: 'grant-1', expected: '1', actual: 4n });
  });

  it('reports a missing stream as actual revision -1', () => {
    const vendor = new WrongExpectedVersionError(undefined, { streamName: 'grant-2', expected: 0n, current: NO_STREAM });
    expect(translateEsdbError(vendor, { stream: 'grant-2', expected: 0n })).toMatchObject({ stream: 'grant-2', actual: -1n });
  });

  it('falls back to what the client error says when the call site gave no context', () => {
    const vendor = new WrongExpectedVersionError(undefined, { streamName: 'decision-r1', expected: NO_STREAM, current: 0n });
    const error = translateEsdbError(vendor);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ stream: 'decision-r1', expected: 'no_stream', actual: 0n });
  });

  it('turns transport and server errors into StoreUnavailableError, keeping the original as cause', () => {
    const vendorErrors = [
      new UnavailableError(undefined, 'No connection established'),
      new DeadlineExceededError(),
      new AccessDeniedError(),
      new Error('Failed to discover after 10 attempts.'),
    ];
    for (const vendor of vendorErrors) {
      const error = translateEsdbError(vendor, { stream: 'zone-1' });
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toBe('store_unavailable');
      expect((error as StoreUnavailableError).cause).toBe(vendor);
    }
  });

  it('lets its own errors and programming errors through untouched', () => {
    for (const error of [new TypeError('bug'), new ConcurrencyError('s', 'any', 1n), new StoreUnavailableError('down')]) {
      expect(translateEsdbError(error)).toBe(error);
    }
  });

  it('fails every operation with StoreUnavailableError when the server cannot be reached', async () => {
    const store = EventStoreDbEventStore.fromConnectionString(`esdb://127.0.0.1:${await closedPort()}?tls=false`);
    try {
      await expect(store.appendToStream('grant-1', [event('A')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      await expect(collect(store.readStream('grant-1'))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(collect(store.readAll())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.headPosition()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(collect(store.subscribeToAll())).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it('ends a subscription closed before or while it is iterated without an error', async () => {
    const store = EventStoreDbEventStore.fromConnectionString(`esdb://127.0.0.1:${await closedPort()}?tls=false`);
    try {
      const early = store.subscribeToAll();
      await early.close();
      expect(await collect(early)).toEqual([]);
      const later = store.subscribeToAll({ fromPosition: 10n });
      const iterating = collect(later);
      await later.close();
      // Closed by us, so not a failure, even though the server was never there.
      expect(await iterating).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('openEventStore', () => {
  it('opens SQLite at <dataDir>/ledger.db when no event store is configured', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'writ-open-'));
    try {
      for (const eventstore of [undefined, '', '  ']) {
        const store = await openEventStore({ eventstore, dataDir: join(dataDir, 'nested') });
        expect(store).toBeInstanceOf(SqliteEventStore);
        await store.close();
      }
      expect(existsSync(join(dataDir, 'nested', 'ledger.db'))).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('opens a throwaway in-memory ledger for memory:', async () => {
    const store = await openEventStore({ eventstore: 'memory:', dataDir: '/nonexistent' });
    expect(store).toBeInstanceOf(MemoryEventStore);
    await store.close();
  });

  it('opens EventStoreDB for esdb:// and esdb+discover:// without connecting yet', async () => {
    for (const url of ['esdb://localhost:2113?tls=false', 'esdb+discover://es1:2113,es2:2113,es3:2113?tls=false&nodePreference=leader']) {
      const store = await openEventStore({ eventstore: url, dataDir: '/nonexistent' });
      expect(store).toBeInstanceOf(EventStoreDbEventStore);
      await store.close();
    }
  });

  it('rejects unknown schemes and malformed connection strings without echoing credentials', async () => {
    const unknown = await rejection(openEventStore({ eventstore: 'postgres://writ:hunter2@db/writ', dataDir: '/nonexistent' }));
    expect(String(unknown)).toMatch(/unsupported scheme "postgres:"/);
    expect(String(unknown)).not.toContain('hunter2');
    const noScheme = await rejection(openEventStore({ eventstore: 'localhost:2113', dataDir: '/nonexistent' }));
    expect(String(noScheme)).toMatch(/unsupported scheme/);
    const malformed = await rejection(openEventStore({ eventstore: 'esdb://admin:hunter2@es1:2113?tls=maybe', dataDir: '/nonexistent' }));
    expect(String(malformed)).toMatch(/not a valid EventStoreDB connection string/);
    expect(String(malformed)).not.toContain('hunter2');
    expect((malformed as Error).cause).toBeUndefined();
  });
});

/**
 * The adapter seen through a stream-name prefix, starting at the head of $all when it was opened: an empty
 * ledger of its own on a shared server. Only names are translated; positions, revisions, errors and
 * subscriptions are the adapter's own.
 */
class IsolatedEventStore implements EventStore {
  private constructor(
    private readonly inner: EventStoreDbEventStore,
    private readonly prefix: string,
    private readonly floor: bigint,
  ) {}

  static async open(connectionString: string, prefix: string): Promise<IsolatedEventStore> {
    const inner = EventStoreDbEventStore.fromConnectionString(connectionString);
    return new IsolatedEventStore(inner, prefix, await inner.headPosition());
  }

  async appendToStream(stream: string, events: EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult> {
    try {
      return await this.inner.appendToStream(this.prefix + stream, events, options);
    } catch (error) {
      if (error instanceof ConcurrencyError) throw new ConcurrencyError(stream, error.expected, error.actual);
      throw error;
    }
  }

  async *readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    for await (const e of this.inner.readStream(this.prefix + stream, options)) yield this.strip(e);
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const { maxCount } = options;
    if (maxCount !== undefined && maxCount <= 0) return;
    let yielded = 0;
    for await (const e of this.inner.readAll({ fromPosition: this.from(options.fromPosition), maxPosition: options.maxPosition })) {
      if (!this.owns(e)) continue;
      yield this.strip(e);
      if (maxCount !== undefined && ++yielded >= maxCount) return;
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const inner = this.inner.subscribeToAll({ fromPosition: this.from(options.fromPosition) });
    const self = this;
    return {
      close: () => inner.close(),
      async *[Symbol.asyncIterator]() {
        for await (const e of inner) if (self.owns(e)) yield self.strip(e);
      },
    };
  }

  async headPosition(): Promise<bigint> {
    let head = -1n;
    for await (const e of this.readAll()) head = e.position;
    return head;
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private from(position: bigint | undefined): bigint {
    return position === undefined || position < this.floor ? this.floor : position;
  }

  private owns(e: RecordedEvent): boolean {
    return e.streamId.startsWith(this.prefix);
  }

  private strip(e: RecordedEvent): RecordedEvent {
    return { ...e, streamId: e.streamId.slice(this.prefix.length) };
  }
}

function event(type: string, data: Record<string, unknown> = {}): EventToAppend {
  return { type, data };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** A TCP port that was free a moment ago and has nobody listening now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
