import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { EventDecodeError, type WritEvent } from '../domain/events.js';
import type { EventStore, RecordedEvent, Subscription } from '../store/event-store.js';
import type { Checkpoint, CheckpointStore } from './checkpoint-store.js';
import { fastDecodeEvent, type EventDecoder } from './event-decoder.js';
import type { EventPosition, ReadModel } from './read-model.js';

/** pino-compatible logger subset. */
export interface ProjectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a runner folds, from where, and how often it checkpoints. */
export interface ProjectionRunnerOptions {
  store: EventStore;
  models: readonly ReadModel[];
  /** Without one, every start folds the whole ledger. */
  checkpoints?: CheckpointStore;
  /** Snapshot after this many events since the last snapshot (default 10,000). */
  snapshotEvery?: number;
  /** Also snapshot when this long has passed since the last snapshot and events were applied (default 60 s; 0 disables). */
  snapshotIntervalMs?: number;
  /**
   * Largest share of the runner's time that snapshots may take (default 0.05). A snapshot costs time in
   * proportion to the models' size, and the STS waits while it is taken: once the models are large, snapshots
   * are spaced out so that they never take more than this share, whatever `snapshotEvery` says.
   */
  snapshotBudget?: number;
  logger?: ProjectionLogger;
  /** Defaults to the compiled decoder (same acceptance as the zod schemas, faster). */
  decode?: EventDecoder;
}

/** Lifecycle of the runner; only `live` means "the read models are as current as the ledger, give or take an event". */
export type ProjectionState = 'starting' | 'catching_up' | 'live' | 'failed' | 'stopped';

/** What readiness checks and `writ status` show. */
export interface ProjectionStatus {
  state: ProjectionState;
  /** Last position applied by every model. */
  position: bigint;
  /** Why the runner failed, or the store error it is retrying after. */
  error?: string;
}

/** An event the projections could not fold. The runner stops on it: nothing is skipped. */
export class ProjectionError extends Error {
  override readonly name = 'ProjectionError';
  constructor(
    message: string,
    readonly position: bigint,
    readonly streamId: string,
    readonly revision: bigint,
    readonly eventType: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `waitFor` gave up: the position was not applied in time (the runner may still be catching up). */
export class ProjectionTimeoutError extends Error {
  override readonly name = 'ProjectionTimeoutError';
  constructor(
    readonly target: bigint,
    readonly reached: bigint,
    readonly timeoutMs: number,
  ) {
    super(`read models did not reach position ${target} within ${timeoutMs} ms (at ${reached})`);
  }
}

interface Waiter {
  position: bigint;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const NO_LOGGER: ProjectionLogger = { info() {}, warn() {}, error() {} };
/** During catch-up, give the event loop a turn this often so that health checks and timers still run. */
const YIELD_EVERY_MS = 25;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/**
 * Folds the ledger into the read models: restores each model from its checkpoint, subscribes from the lowest
 * checkpoint (catch-up, then live) and applies each event to the models that have not seen it.
 *
 * - Decoding: every event is decoded against the catalogue; one that does not decode (unknown type included: a
 *   ledger holds only writ events) or that a model fails to apply stops the runner in state `failed` with an
 *   error naming its position and stream. Nothing is skipped, since a skipped grant revocation is a security hole.
 * - Consistency: `apply` is synchronous and snapshots are taken between two events, so a snapshot is the fold of
 *   exactly the events up to its position. All models are checkpointed together, in one transaction.
 * - Store errors (a dropped subscription) are retried with backoff from the last applied position.
 */
export class ProjectionRunner {
  private readonly store: EventStore;
  private readonly models: readonly ReadModel[];
  private readonly checkpoints: CheckpointStore | undefined;
  private readonly snapshotEvery: number;
  private readonly snapshotIntervalMs: number;
  private readonly snapshotBudget: number;
  private readonly logger: ProjectionLogger;
  private readonly decode: EventDecoder;

  private state: ProjectionState = 'stopped';
  private lastError: string | undefined;
  private failure: Error | undefined;
  private applied = -1n;
  /** Per model: the last position folded into it (a restored model may be ahead of `applied`). */
  private modelPositions: bigint[];
  private modelAnchors: Array<Checkpoint['anchor']>;
  /** Models still ahead of `applied` (restored from a newer checkpoint than the others). */
  private modelsAhead = 0;
  private waiters: Waiter[] = [];

  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  /**
   * Bumped by every start, stop and rebuild: a loop (follow or rebuild) runs only while the token it was started
   * with is current, so a stop() that lands in the middle of another operation's await cannot be lost.
   */
  private runToken = 0;
  private wakeRetry: (() => void) | undefined;
  /** Head when the subscription started: reaching it means caught up. */
  private catchUpTarget = -1n;

  private eventsSinceSnapshot = 0;
  private lastSnapshotAt = 0;
  private lastSnapshotCostMs = 0;
  private savedPositions: bigint[];
  private saving: Promise<void> = Promise.resolve();
  private saveInFlight = false;
  private lastYield = 0;

  constructor(options: ProjectionRunnerOptions) {
    const names = new Set<string>();
    for (const m of options.models) {
      if (names.has(m.name)) throw new Error(`two read models are named ${m.name}`);
      names.add(m.name);
    }
    this.store = options.store;
    this.models = [...options.models];
    this.checkpoints = options.checkpoints;
    this.snapshotEvery = Math.max(1, options.snapshotEvery ?? 10_000);
    this.snapshotIntervalMs = options.snapshotIntervalMs ?? 60_000;
    this.snapshotBudget = options.snapshotBudget ?? 0.05;
    this.logger = options.logger ?? NO_LOGGER;
    this.decode = options.decode ?? fastDecodeEvent;
    this.modelPositions = this.models.map(() => -1n);
    this.modelAnchors = this.models.map(() => null);
    this.savedPositions = this.models.map(() => -1n);
  }

  /** Position of the last event every model has applied; -1n before the first. */
  get position(): bigint {
    return this.applied;
  }

  status(): ProjectionStatus {
    const status: ProjectionStatus = { state: this.state, position: this.applied };
    if (this.lastError !== undefined) status.error = this.lastError;
    return status;
  }

  /** How far the read models trail the ledger, in positions (events, on the gap-free embedded ledger). */
  async lag(): Promise<bigint> {
    const head = await this.store.headPosition();
    return head > this.applied ? head - this.applied : 0n;
  }

  /** `lag()` per model, for the projection-lag metric. */
  async lagByModel(): Promise<Record<string, bigint>> {
    const head = await this.store.headPosition();
    const out: Record<string, bigint> = {};
    this.models.forEach((m, i) => {
      const p = this.modelPositions[i]!;
      out[m.name] = head > p ? head - p : 0n;
    });
    return out;
  }

  /**
   * Restore the models from their checkpoints and start following the ledger. Returns once subscribed; use
   * `waitFor(await store.headPosition())` to wait for the catch-up.
   */
  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'failed') throw new Error(`projection runner is already ${this.state}`);
    // After a failure the models may hold part of an event: start over from the checkpoints.
    const token = this.invalidate();
    await this.drain();
    this.state = 'starting';
    this.failure = undefined;
    this.lastError = undefined;
    try {
      const head = await this.store.headPosition();
      await this.restoreModels(head);
      if (token !== this.runToken) {
        // stop() was called while restoring.
        this.state = 'stopped';
        return;
      }
      this.catchUpTarget = head;
      this.state = this.applied >= head ? 'live' : 'catching_up';
      this.logger.info(
        { position: String(this.applied), head: String(head), models: this.models.map((m) => m.name) },
        'projections starting',
      );
      this.resolveWaiters();
      this.loop = this.follow(token);
    } catch (err) {
      this.state = 'failed';
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.lastError = this.failure.message;
      this.rejectWaiters(this.failure);
      throw err;
    }
  }

  /** Resolve once every model has applied `position` (read-your-writes). Rejects on timeout or when the runner fails or stops. */
  waitFor(position: bigint, timeoutMs = 5_000): Promise<void> {
    if (this.applied >= position) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.state === 'stopped') return Promise.reject(new Error('projections are stopped'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        position,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new ProjectionTimeoutError(position, this.applied, timeoutMs));
        }, timeoutMs),
      };
      waiter.timer.unref?.();
      // Kept sorted by position so that each applied event looks at the first waiter only.
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1]!.position > position) i--;
      this.waiters.splice(i, 0, waiter);
    });
  }

  /** Save every model's snapshot now (between two events). */
  async checkpoint(): Promise<void> {
    await this.saveCheckpoints();
  }

  /** Stop following the ledger, then save a final checkpoint. */
  async stop(): Promise<void> {
    this.invalidate();
    await this.drain();
    if (this.state !== 'failed') {
      await this.saveCheckpoints();
      this.state = 'stopped';
    }
    this.rejectWaiters(this.failure ?? new Error('projections are stopped'));
  }

  /**
   * Reset every model, fold the whole ledger (up to its head when called), then save the checkpoints. If the
   * runner was following the ledger it resumes afterwards; while the rebuild runs the models are incomplete, so
   * on a serving instance this is a maintenance operation. `done` counts events folded; `total` is the head
   * position + 1, which is the event count on the gap-free embedded ledger and an estimate elsewhere.
   */
  async rebuild(options: { onProgress?: (done: number, total: number) => void } = {}): Promise<{ events: number; position: bigint }> {
    const resume = this.loop !== undefined;
    const token = this.invalidate();
    await this.drain();
    if (token !== this.runToken) throw new Error('rebuild interrupted by stop()');
    this.failure = undefined;
    this.lastError = undefined;
    for (const m of this.models) m.reset();
    this.applied = -1n;
    this.modelPositions = this.models.map(() => -1n);
    this.modelAnchors = this.models.map(() => null);
    this.modelsAhead = 0;
    this.state = 'catching_up';
    const head = await this.store.headPosition();
    const total = Number(head + 1n);
    const onProgress = options.onProgress;
    let done = 0;
    let lastReport = performance.now();
    onProgress?.(0, total);
    let interrupted = false;
    try {
      if (head >= 0n) {
        for await (const event of this.store.readAll({ maxPosition: head })) {
          // stop() during a rebuild: leave the models as folded so far (consistent at `position`), save nothing.
          if (token !== this.runToken) {
            interrupted = true;
            break;
          }
          this.fold(event);
          done++;
          if ((done & 1023) === 0) {
            const now = performance.now();
            if (now - lastReport >= 100) {
              lastReport = now;
              onProgress?.(done, Math.max(done, total));
            }
            if (now - this.lastYield >= YIELD_EVERY_MS) {
              this.lastYield = now;
              await yieldToEventLoop();
            }
          }
        }
      }
    } catch (err) {
      this.markFailed(err);
      throw this.failure;
    }
    if (interrupted) throw new Error(`rebuild interrupted by stop() at position ${this.applied}`);
    onProgress?.(done, done);
    await this.saveCheckpoints();
    this.logger.info({ events: done, position: String(this.applied) }, 'projections rebuilt');
    if (resume && token === this.runToken) {
      this.catchUpTarget = this.applied;
      this.state = 'live';
      this.loop = this.follow(token);
    } else {
      this.state = 'stopped';
    }
    return { events: done, position: this.applied };
  }

  // ---------------------------------------------------------------------------------------------------------

  private async restoreModels(head: bigint): Promise<void> {
    for (const [i, model] of this.models.entries()) {
      model.reset();
      this.modelPositions[i] = -1n;
      this.modelAnchors[i] = null;
      const cp = await this.loadCheckpoint(model, head);
      if (!cp) continue;
      try {
        model.restore(cp.snapshot);
        this.modelPositions[i] = cp.position;
        this.modelAnchors[i] = cp.anchor;
      } catch (err) {
        model.reset();
        this.logger.warn({ model: model.name, err: errorMessage(err) }, 'checkpoint cannot be restored; rebuilding this model');
      }
    }
    this.savedPositions = [...this.modelPositions];
    this.applied = this.modelPositions.reduce((min, p) => (p < min ? p : min), this.modelPositions[0] ?? -1n);
    this.modelsAhead = this.modelPositions.filter((p) => p > this.applied).length;
  }

  private async loadCheckpoint(model: ReadModel, head: bigint): Promise<Checkpoint | undefined> {
    if (!this.checkpoints) return undefined;
    let cp: Checkpoint | undefined;
    try {
      cp = await this.checkpoints.load(model.name);
    } catch (err) {
      this.logger.warn({ model: model.name, err: errorMessage(err) }, 'checkpoint unreadable; rebuilding this model');
      return undefined;
    }
    if (!cp) return undefined;
    const log = { model: model.name, position: String(cp.position) };
    if (cp.version !== model.version) {
      this.logger.info({ ...log, saved: cp.version, current: model.version }, 'checkpoint of another model version; rebuilding this model');
      return undefined;
    }
    if (cp.position > head) {
      this.logger.warn({ ...log, head: String(head) }, 'checkpoint is ahead of the ledger (another ledger?); rebuilding this model');
      return undefined;
    }
    if (cp.position >= 0n && !(await this.anchorMatches(cp))) {
      this.logger.warn(log, 'checkpoint does not match the ledger at its position (another ledger?); rebuilding this model');
      return undefined;
    }
    return cp;
  }

  /** Is the checkpoint's last event really at its position in this ledger? One stream read, whatever the adapter. */
  private async anchorMatches(cp: Checkpoint): Promise<boolean> {
    if (!cp.anchor) return false;
    for await (const e of this.store.readStream(cp.anchor.streamId, { fromRevision: cp.anchor.revision, maxCount: 1 })) {
      return e.revision === cp.anchor.revision && e.position === cp.position;
    }
    return false;
  }

  /** Follow the ledger until stopped or failed, resubscribing after store errors. */
  private async follow(token: number): Promise<void> {
    let retryMs = RETRY_MIN_MS;
    while (token === this.runToken) {
      const sub = this.store.subscribeToAll(this.applied >= 0n ? { fromPosition: this.applied } : {});
      this.subscription = sub;
      try {
        for await (const event of sub) {
          if (token !== this.runToken) break;
          this.fold(event);
          retryMs = RETRY_MIN_MS;
          if (this.lastError !== undefined && this.state !== 'failed') this.lastError = undefined;
          if (this.state === 'catching_up' && event.position >= this.catchUpTarget) {
            this.state = 'live';
            this.logger.info({ position: String(this.applied) }, 'projections live');
          }
          await this.afterEvent();
        }
        if (token === this.runToken) throw new Error('the ledger subscription ended');
      } catch (err) {
        if (err instanceof ProjectionError || this.state === 'failed') {
          this.markFailed(err);
          await closeQuietly(sub);
          return;
        }
        if (token !== this.runToken) break;
        this.lastError = `ledger subscription failed, retrying: ${errorMessage(err)}`;
        this.logger.warn({ err: errorMessage(err), retry_ms: retryMs, position: String(this.applied) }, 'ledger subscription failed; resubscribing');
        await closeQuietly(sub);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
        retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
      } finally {
        if (this.subscription === sub) this.subscription = undefined;
      }
    }
  }

  /** Decode one event and apply it to every model that has not seen it. Throws ProjectionError, having applied nothing on a decode error. */
  private fold(recorded: RecordedEvent): void {
    const position = recorded.position;
    let event: WritEvent;
    try {
      event = this.decode(recorded.type, recorded.data);
    } catch (err) {
      throw new ProjectionError(
        `cannot decode the event at position ${position} (stream ${recorded.streamId}, revision ${recorded.revision}, type ${JSON.stringify(recorded.type)}): ${describeDecodeError(err)}`,
        position,
        recorded.streamId,
        recorded.revision,
        recorded.type,
        { cause: err },
      );
    }
    const at: EventPosition = {
      position,
      recordedAt: recorded.recordedAt,
      streamId: recorded.streamId,
      revision: recorded.revision,
    };
    const models = this.models;
    for (let i = 0; i < models.length; i++) {
      // A model restored from a newer checkpoint than the others already holds this event.
      if (this.modelsAhead !== 0 && this.modelPositions[i]! >= position) continue;
      try {
        models[i]!.apply(event, at);
      } catch (err) {
        throw new ProjectionError(
          `read model ${models[i]!.name} failed to apply the event at position ${position} (stream ${recorded.streamId}, revision ${recorded.revision}, type ${recorded.type}): ${errorMessage(err)}`,
          position,
          recorded.streamId,
          recorded.revision,
          recorded.type,
          { cause: err },
        );
      }
      this.modelPositions[i] = position;
      // `at` carries streamId and revision: it is the anchor (one object less per event).
      this.modelAnchors[i] = at;
    }
    if (this.modelsAhead !== 0) this.modelsAhead = this.modelPositions.filter((p) => p > position).length;
    this.applied = position;
    this.eventsSinceSnapshot++;
    if (this.waiters.length !== 0 && this.waiters[0]!.position <= position) this.resolveWaiters();
  }

  /** Between two events: maybe snapshot, maybe let the event loop breathe. */
  private async afterEvent(): Promise<void> {
    // The snapshot is taken here, between two events; writing it goes on in the background while folding continues.
    if (this.checkpoints && !this.saveInFlight && this.snapshotDue()) void this.saveCheckpoints();
    // A burst of events can be delivered without ever waiting on I/O; give timers and requests a turn now and then.
    if ((this.eventsSinceSnapshot & 255) === 0) {
      const now = performance.now();
      if (now - this.lastYield >= YIELD_EVERY_MS) {
        this.lastYield = now;
        await yieldToEventLoop();
      }
    }
  }

  private snapshotDue(): boolean {
    const n = this.eventsSinceSnapshot;
    if (n === 0) return false;
    const countDue = n >= this.snapshotEvery;
    // This runs after every event: for the interval alone, look at the clock only every 256 events.
    if (!countDue && (n & 255) !== 0) return false;
    const sinceLast = performance.now() - this.lastSnapshotAt;
    const due = countDue || (this.snapshotIntervalMs > 0 && sinceLast >= this.snapshotIntervalMs);
    // Ration: a snapshot that took C ms is not repeated within C / budget ms.
    return due && sinceLast * this.snapshotBudget >= this.lastSnapshotCostMs;
  }

  /**
   * Snapshot every model (synchronously, so between two events: consistent) and save them in one transaction.
   * The snapshots are private copies, so the save may take several turns while events keep being applied.
   */
  private saveCheckpoints(): Promise<void> {
    const store = this.checkpoints;
    if (!store) return Promise.resolve();
    if (this.state === 'failed') return Promise.resolve();
    if (this.modelPositions.every((p, i) => p === this.savedPositions[i])) {
      this.eventsSinceSnapshot = 0;
      return Promise.resolve();
    }
    const started = performance.now();
    const savedAt = new Date().toISOString();
    const positions = [...this.modelPositions];
    let checkpoints: Checkpoint[];
    try {
      checkpoints = this.models.map((m, i) => ({
        name: m.name,
        version: m.version,
        position: positions[i]!,
        anchor: anchorOf(this.modelAnchors[i]),
        snapshot: m.snapshot(),
        savedAt,
      }));
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'snapshot failed; keeping the previous checkpoints');
      return Promise.resolve();
    }
    this.eventsSinceSnapshot = 0;
    this.saveInFlight = true;
    const save = this.saving.then(async () => {
      try {
        await store.save(checkpoints);
        this.savedPositions = positions;
      } catch (err) {
        // Not fatal: the previous checkpoints stay valid, the models stay current; a later snapshot retries.
        this.logger.error({ err: errorMessage(err) }, 'saving checkpoints failed');
      } finally {
        // Wall time of snapshot + save: an overestimate of what it took from the STS, which errs on the safe side.
        const now = performance.now();
        this.lastSnapshotAt = now;
        this.lastSnapshotCostMs = now - started;
        this.saveInFlight = false;
      }
    });
    this.saving = save;
    return save;
  }

  /** Tell every running loop to stop (synchronously) and return the new token. */
  private invalidate(): number {
    this.runToken++;
    const sub = this.subscription;
    if (sub) void closeQuietly(sub);
    this.wakeRetry?.();
    return this.runToken;
  }

  /** Wait for the follow loop to end and any checkpoint write to finish (no new checkpoint). */
  private async drain(): Promise<void> {
    const loop = this.loop;
    if (loop) await loop;
    if (this.loop === loop) this.loop = undefined;
    await this.saving;
  }

  private markFailed(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.state = 'failed';
    this.failure = error;
    this.lastError = error.message;
    this.logger.error(
      {
        err: error.message,
        ...(error instanceof ProjectionError ? { position: String(error.position), stream: error.streamId, type: error.eventType } : {}),
      },
      'projections stopped',
    );
    this.rejectWaiters(error);
  }

  private resolveWaiters(): void {
    while (this.waiters.length !== 0 && this.waiters[0]!.position <= this.applied) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}

function anchorOf(at: Checkpoint['anchor'] | undefined): Checkpoint['anchor'] {
  return at ? { streamId: at.streamId, revision: at.revision } : null;
}

async function closeQuietly(sub: Subscription): Promise<void> {
  try {
    await sub.close();
  } catch {
    // Closing is best effort: the subscription is abandoned either way.
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The decode error and its first schema issues, for operators reading the failure. */
function describeDecodeError(err: unknown): string {
  if (!(err instanceof EventDecodeError)) return errorMessage(err);
  const issues = err.issues.slice(0, 3).map((issue) => {
    const i = issue as { path?: unknown[]; message?: string };
    const path = Array.isArray(i.path) && i.path.length > 0 ? i.path.map(String).join('.') : '(root)';
    return `${path}: ${i.message ?? 'invalid'}`;
  });
  const more = err.issues.length > 3 ? ` (+${err.issues.length - 3} more)` : '';
  return issues.length > 0 ? `${err.message} [${issues.join('; ')}${more}]` : err.message;
}
