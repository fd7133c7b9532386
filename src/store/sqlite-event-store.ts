/**
 * The embedded ledger: one SQLite file (better-sqlite3, WAL, synchronous=FULL).
 *
 * Writes: concurrent appends are queued and written together in one `BEGIN IMMEDIATE` transaction (group
 * commit), so durability costs one WAL fsync per group instead of one per request. Each append in a group is
 * checked against its own expected revision and, if it fails, rolls back alone (SAVEPOINT per append).
 *
 * Several processes may share one file. Nothing about the ledger's state (stream heads, global head) is
 * cached between transactions: it is read inside the write transaction, which holds SQLite's write lock.
 * Positions are assigned as MAX(position) + 1 under that lock, so the committed positions are always a gap-free
 * prefix 0, 1, 2, ... and any reader snapshot sees every event below the newest one it sees: subscriptions
 * only ever need "position > checkpoint".
 */
import Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import { createGroupWriter, type GroupAppend, type GroupOutcome } from './sqlite-group-commit.js';
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

/** Tuning knobs of {@link SqliteEventStore}; the defaults suit a server. */
export interface SqliteEventStoreOptions {
  /** How long a writer waits for another connection's write lock before the append fails as unavailable. */
  busyTimeoutMs?: number;
  /** How often an idle subscription checks for appends made by other connections (other processes). */
  pollIntervalMs?: number;
  /** Upper bound on appends written in one group transaction, which bounds the latency of a group. */
  maxBatchAppends?: number;
  /** Rows fetched per query by readers and subscriptions, which bounds their memory. */
  pageSize?: number;
  /**
   * Where group commits run. `thread` (default): a writer thread, so the fsync never blocks the event loop
   * and the next group is queued while the current one commits. `inline`: on the calling thread (simpler;
   * kept for tools and as the baseline the benchmark compares against).
   */
  writer?: 'thread' | 'inline';
}

/** Counters of the write path, for tests and metrics. */
export interface SqliteEventStoreStats {
  /** Group transactions committed. */
  transactions: number;
  /** Appends committed (successful `appendToStream` calls). */
  appends: number;
  /** Events committed. */
  events: number;
}

/** One row as selected by the read statements, in column order (raw mode, safe integers). */
type EventRow = [position: bigint, streamId: string, revision: bigint, type: string, data: string, metadata: string, recordedAt: string];

interface SerializedEvent {
  type: string;
  data: string;
  metadata: string;
}

interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  events: SerializedEvent[];
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}


/** Replies of the writer thread (see sqlite-writer-worker.js). */
type WorkerReply =
  | { id: number; closed: true }
  | { id: number; error: { message: string; code?: string } }
  | { id: number; outcomes: GroupOutcome[] };

interface Waiter {
  /** `PRAGMA data_version` sampled before the waiter last looked for events. */
  dataVersion: number;
  wake: () => void;
}

const MAX_INT64 = 9223372036854775807n;
const SELECT_COLUMNS = 'position, stream_id, revision, type, data, metadata, recorded_at';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY CHECK (position >= 0),
  stream_id   TEXT    NOT NULL,
  revision    INTEGER NOT NULL CHECK (revision >= 0),
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  recorded_at TEXT    NOT NULL,
  UNIQUE (stream_id, revision)
) STRICT;
`;

/** Event store adapter on a local SQLite file. Create it with {@link SqliteEventStore.open}. */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly pollIntervalMs: number;
  private readonly maxBatchAppends: number;
  private readonly pageSize: number;

  private readonly headStmt: Database.Statement<[], bigint | null>;
  private readonly readAllStmt: Database.Statement<[bigint, bigint, number], EventRow>;
  private readonly readForwardStmt: Database.Statement<[string, bigint, bigint, number], EventRow>;
  private readonly readBackwardStmt: Database.Statement<[string, bigint, bigint, number], EventRow>;
  private readonly dataVersionStmt: Database.Statement<[], number>;
  private readonly pingStmt: Database.Statement<[], number>;
  private readonly writeGroup: (batch: GroupAppend[]) => GroupOutcome[];

  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly counters: SqliteEventStoreStats = { transactions: 0, appends: 0, events: 0 };
  private readonly subscriptions = new Set<SqliteSubscription>();
  private readonly waiters = new Set<Waiter>();
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly worker: Worker | undefined;
  private inFlight: { id: number; batch: PendingAppend[] } | undefined;
  private nextMessageId = 0;
  private workerFailure: Error | undefined;
  private idleWaiters: Array<() => void> = [];
  private workerClosed: (() => void) | undefined;

  /** Open (creating if needed) the ledger file at `path`. Throws StoreUnavailableError if it cannot. */
  static open(path: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    return new SqliteEventStore(path, options);
  }

  /** Prefer {@link SqliteEventStore.open}; the constructor does the same. */
  constructor(path: string, options: SqliteEventStoreOptions = {}) {
    const busyTimeoutMs = positiveInteger('busyTimeoutMs', options.busyTimeoutMs ?? 5000);
    this.pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs ?? 50);
    this.maxBatchAppends = positiveInteger('maxBatchAppends', options.maxBatchAppends ?? 1000);
    this.pageSize = positiveInteger('pageSize', options.pageSize ?? 1000);
    let db: Database.Database | undefined;
    try {
      // The busy timeout is set at open so that it already covers the WAL switch and schema creation,
      // which take locks another process may hold.
      db = new Database(path, { timeout: busyTimeoutMs });
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk (WAL fsynced) before an append is acknowledged.
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
    } catch (error) {
      db?.close();
      throw toStoreError(error, `cannot open ledger ${path}`);
    }
    this.db = db;

    this.headStmt = db.prepare<[], bigint | null>('SELECT MAX(position) FROM events').pluck().safeIntegers();
    this.readAllStmt = db
      .prepare<[bigint, bigint, number], EventRow>(
        `SELECT ${SELECT_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`,
      )
      .raw()
      .safeIntegers();
    this.readForwardStmt = db
      .prepare<[string, bigint, bigint, number], EventRow>(
        `SELECT ${SELECT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? AND position <= ? ORDER BY revision LIMIT ?`,
      )
      .raw()
      .safeIntegers();
    this.readBackwardStmt = db
      .prepare<[string, bigint, bigint, number], EventRow>(
        `SELECT ${SELECT_COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? AND position <= ? ORDER BY revision DESC LIMIT ?`,
      )
      .raw()
      .safeIntegers();
    this.dataVersionStmt = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.pingStmt = db.prepare<[], number>('SELECT 1').pluck();

    this.writeGroup = createGroupWriter(db);

    // WRIT_SQLITE_WRITER lets operators (and the benchmark's baseline) choose without code changes.
    const writer = options.writer ?? (process.env.WRIT_SQLITE_WRITER === 'inline' ? 'inline' : 'thread');
    if (writer === 'thread') {
      // The schema exists (created above), so the writer only opens the file.
      this.worker = new Worker(new URL('./sqlite-writer-worker.js', import.meta.url), { workerData: { path, busyTimeoutMs } });
      this.worker.unref();
      this.worker.on('message', (msg: WorkerReply) => this.onWorkerReply(msg));
      this.worker.on('error', (error) => this.onWorkerFailure(error));
      this.worker.on('exit', (code) => {
        if (!this.closed) this.onWorkerFailure(new Error(`ledger writer thread exited with code ${code}`));
        this.workerClosed?.();
      });
    }
  }

  appendToStream(
    stream: string,
    events: EventToAppend[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('ledger is closed'));
    let serialized: SerializedEvent[];
    try {
      // Serialized now, outside the group transaction, so that a payload that is not JSON fails its own
      // append and not the whole group.
      serialized = events.map((event) => serializeEvent(event));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ stream, expected: options.expectedRevision ?? 'any', events: serialized, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every append issued meanwhile
        // (including those that piled up while the previous group was being fsynced) joins this group,
        // and a lone append waits for nothing but the current turn.
        setImmediate(() => this.flush());
      }
    });
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    const maxPosition = options.maxPosition ?? MAX_INT64;
    let remaining = countLimit(options.maxCount);
    let revision = options.fromRevision ?? (backwards ? MAX_INT64 : 0n);
    const statement = backwards ? this.readBackwardStmt : this.readForwardStmt;
    let first = true;
    while (remaining > 0) {
      if (!first) await yieldToEventLoop();
      first = false;
      const limit = Math.min(this.pageSize, remaining);
      const rows = this.query(() => statement.all(stream, revision, maxPosition, limit));
      for (const row of rows) yield toRecordedEvent(row);
      if (rows.length < limit) return;
      remaining -= rows.length;
      const last = rows[rows.length - 1]![2];
      if (backwards && last === 0n) return;
      revision = backwards ? last - 1n : last + 1n;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let after = options.fromPosition ?? -1n;
    const maxPosition = options.maxPosition ?? MAX_INT64;
    let remaining = countLimit(options.maxCount);
    let first = true;
    while (remaining > 0) {
      if (!first) await yieldToEventLoop();
      first = false;
      const limit = Math.min(this.pageSize, remaining);
      const rows = this.readAllPage(after, maxPosition, limit);
      for (const event of rows) yield event;
      if (rows.length < limit) return;
      remaining -= rows.length;
      after = rows[rows.length - 1]!.position;
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const subscription = new SqliteSubscription(this.subscriptionHost, options.fromPosition ?? -1n);
    if (this.closed) void subscription.close();
    else this.subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<bigint> {
    return this.query(() => this.headStmt.get()) ?? -1n;
  }

  async ping(): Promise<void> {
    this.query(() => this.pingStmt.get());
  }

  /** Commits the appends already queued, ends every subscription, then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of [...this.subscriptions]) await subscription.close();
    if (this.worker) {
      // Commit what was acknowledged-to-be-written (queued) before closing the writer.
      if (this.queue.length > 0 || this.inFlight) {
        if (!this.inFlight) this.sendNextGroup();
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
      if (!this.workerFailure) {
        const exited = new Promise<void>((resolve) => (this.workerClosed = resolve));
        this.worker.ref();
        this.worker.postMessage({ id: ++this.nextMessageId, kind: 'close' });
        await exited;
      }
      await this.worker.terminate();
    }
    while (this.queue.length > 0) this.writeNextGroup();
    this.stopPolling();
    this.db.close();
  }

  /** Counters of committed group transactions, appends and events since this instance opened. */
  stats(): SqliteEventStoreStats {
    return { ...this.counters };
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    if (this.worker) {
      this.sendNextGroup();
      return;
    }
    this.writeNextGroup();
    if (this.queue.length > 0 && !this.flushScheduled) {
      // The cap was hit: write the rest on the next turn so that I/O is not starved meanwhile.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands the next group to the writer thread (at most one group in flight: the rest queue up meanwhile). */
  private sendNextGroup(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatchAppends);
    if (this.workerFailure) {
      for (const append of batch) append.reject(new StoreUnavailableError(`ledger writer unavailable: ${this.workerFailure.message}`));
      this.sendNextGroup();
      return;
    }
    const id = ++this.nextMessageId;
    this.inFlight = { id, batch };
    // Keep the process alive while a group commits; idle, the writer must not hold it open.
    this.worker!.ref();
    this.worker!.postMessage({
      id,
      kind: 'write',
      batch: batch.map((a) => ({ stream: a.stream, expected: a.expected, events: a.events })),
    });
  }

  private onWorkerReply(msg: WorkerReply): void {
    if ('closed' in msg) {
      this.workerClosed?.();
      return;
    }
    const flight = this.inFlight;
    if (!flight || flight.id !== msg.id) return;
    this.inFlight = undefined;
    if ('error' in msg) {
      const error = new StoreUnavailableError(`group commit failed${msg.error.code ? ` (${msg.error.code})` : ''}: ${msg.error.message}`);
      for (const append of flight.batch) append.reject(error);
    } else {
      this.settleGroup(flight.batch, msg.outcomes);
    }
    // Appends that arrived while this group committed form the next group right away.
    if (this.queue.length > 0) this.sendNextGroup();
    else this.settleIdle();
  }

  private onWorkerFailure(error: Error): void {
    this.workerFailure = error;
    const flight = this.inFlight;
    this.inFlight = undefined;
    const storeError = new StoreUnavailableError(`ledger writer failed: ${error.message}`, { cause: error });
    for (const append of flight?.batch ?? []) append.reject(storeError);
    for (const append of this.queue.splice(0)) append.reject(storeError);
    this.settleIdle();
  }

  private settleIdle(): void {
    this.worker?.unref();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Writes up to maxBatchAppends queued appends in one transaction on this thread and settles their promises. */
  private writeNextGroup(): void {
    const batch = this.queue.splice(0, this.maxBatchAppends);
    let outcomes: GroupOutcome[];
    try {
      outcomes = this.writeGroup(batch);
    } catch (error) {
      // The group transaction is rolled back as a whole (lock timeout, I/O error, closed file).
      const storeError = toStoreError(error, 'group commit failed');
      for (const append of batch) append.reject(storeError);
      return;
    }
    this.settleGroup(batch, outcomes);
  }

  /** Settles the appends of a committed group (either writer) and wakes subscriptions if anything was written. */
  private settleGroup(batch: PendingAppend[], outcomes: GroupOutcome[]): void {
    this.counters.transactions++;
    let written = false;
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) {
        this.counters.appends++;
        this.counters.events += append.events.length;
        written ||= append.events.length > 0;
        append.resolve({ nextRevision: outcome.nextRevision, position: outcome.position });
      } else {
        append.reject(new ConcurrencyError(append.stream, describeExpected(append.expected), outcome.actual ?? undefined));
      }
    });
    if (written) this.wakeAll();
  }

  private readAllPage(after: bigint, maxPosition: bigint, limit: number): RecordedEvent[] {
    return this.query(() => this.readAllStmt.all(after, maxPosition, limit)).map(toRecordedEvent);
  }

  private query<T>(run: () => T): T {
    if (this.closed) throw new StoreUnavailableError('ledger is closed');
    try {
      return run();
    } catch (error) {
      throw toStoreError(error, 'ledger read failed');
    }
  }

  /** The narrow view of this store that subscriptions use. */
  private readonly subscriptionHost: SubscriptionHost = {
    isClosed: () => this.closed,
    pageSize: () => this.pageSize,
    dataVersion: () => this.query(() => this.dataVersionStmt.get()!),
    readPage: (after, limit) => this.readAllPage(after, MAX_INT64, limit),
    addWaiter: (waiter) => {
      this.waiters.add(waiter);
      this.startPolling();
    },
    removeWaiter: (waiter) => {
      this.waiters.delete(waiter);
      if (this.waiters.size === 0) this.stopPolling();
    },
    forget: (subscription) => {
      this.subscriptions.delete(subscription);
    },
  };

  private wakeAll(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    this.stopPolling();
    for (const waiter of waiters) waiter.wake();
  }

  /**
   * Appends by other connections do not pass through wakeAll, so idle subscriptions poll `data_version`,
   * which changes whenever another connection commits. One timer serves every waiting subscription.
   */
  private startPolling(): void {
    if (this.pollTimer !== undefined) return;
    this.pollTimer = setInterval(() => {
      if (this.closed) return this.stopPolling();
      let version: number;
      try {
        version = this.dataVersionStmt.get()!;
      } catch {
        // Wake everyone: their next read reports the failure to the consumer.
        return this.wakeAll();
      }
      for (const waiter of [...this.waiters]) {
        if (waiter.dataVersion !== version) {
          this.waiters.delete(waiter);
          waiter.wake();
        }
      }
      if (this.waiters.size === 0) this.stopPolling();
    }, this.pollIntervalMs);
  }

  private stopPolling(): void {
    if (this.pollTimer === undefined) return;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }
}

interface SubscriptionHost {
  isClosed(): boolean;
  pageSize(): number;
  dataVersion(): number;
  readPage(after: bigint, limit: number): RecordedEvent[];
  addWaiter(waiter: Waiter): void;
  removeWaiter(waiter: Waiter): void;
  forget(subscription: SqliteSubscription): void;
}

/** A catch-up subscription: pages through history, then waits for appends, then pages again. One consumer. */
class SqliteSubscription implements Subscription {
  private buffer: RecordedEvent[] = [];
  private index = 0;
  private lastPageFull = false;
  private ended = false;
  private waiter: Waiter | undefined;

  constructor(
    private readonly host: SubscriptionHost,
    /** Position of the last event delivered (exclusive lower bound of the next read). */
    private checkpoint: bigint,
  ) {}

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.buffer = [];
    this.host.forget(this);
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.host.removeWaiter(waiter);
      waiter.wake();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return {
      next: () => this.next(),
      return: async (): Promise<IteratorResult<RecordedEvent>> => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<RecordedEvent>> {
    for (;;) {
      if (this.ended || this.host.isClosed()) return { done: true, value: undefined };
      if (this.index < this.buffer.length) {
        const event = this.buffer[this.index++]!;
        this.checkpoint = event.position;
        return { done: false, value: event };
      }
      // While catching up, let other work run between pages.
      if (this.lastPageFull) await yieldToEventLoop();
      if (this.ended || this.host.isClosed()) return { done: true, value: undefined };
      // Sampled before reading: a commit by another connection after this point changes data_version,
      // so the poller wakes us even if our read just missed that commit.
      const dataVersion = this.host.dataVersion();
      const limit = this.host.pageSize();
      this.buffer = this.host.readPage(this.checkpoint, limit);
      this.index = 0;
      this.lastPageFull = this.buffer.length === limit;
      if (this.buffer.length > 0) continue;
      // Registered in the same turn as the read: no local commit can slip in between.
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          dataVersion,
          wake: () => {
            if (this.waiter === waiter) this.waiter = undefined;
            resolve();
          },
        };
        this.waiter = waiter;
        this.host.addWaiter(waiter);
      });
    }
  }
}

function serializeEvent(event: EventToAppend): SerializedEvent {
  const data = JSON.stringify(event.data);
  const metadata = JSON.stringify(event.metadata ?? {});
  if (typeof event.type !== 'string' || typeof data !== 'string' || typeof metadata !== 'string') {
    throw new TypeError('an event needs a string type and JSON-serializable data and metadata');
  }
  return { type: event.type, data, metadata };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    type: row[3],
    data: JSON.parse(row[4]) as Record<string, unknown>,
    metadata: JSON.parse(row[5]) as Record<string, unknown>,
    streamId: row[1],
    revision: row[2],
    position: row[0],
    recordedAt: row[6],
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** maxCount as a row budget: absent means unbounded; fractions and negatives are clamped like Array#slice would. */
function countLimit(maxCount: number | undefined): number {
  return maxCount === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(maxCount));
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}


/** Everything that is not already one of our errors becomes StoreUnavailableError (busy, I/O, closed file). */
function toStoreError(error: unknown, context: string): Error {
  if (error instanceof ConcurrencyError || error instanceof StoreUnavailableError) return error;
  const code = error instanceof Database.SqliteError ? ` (${error.code})` : '';
  const detail = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`${context}${code}: ${detail}`, { cause: error });
}
