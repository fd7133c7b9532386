import type { Redis } from 'ioredis';
import type { EventStore, RecordedEvent, Subscription } from '../store/event-store.js';
import type { EventData } from '../domain/events.js';

/**
 * The audit stream for SIEM consumers: every recorded decision is added to the Redis stream
 * `writ:audit:<zone_id>` (XADD MAXLEN ~ 100000), where consumer groups read it (docs/audit.md).
 *
 * It runs off the token endpoint's path: a catch-up subscription on the ledger feeds it, so an exchange never
 * waits for Redis and a Redis outage never fails an exchange. Entries are pipelined in batches.
 *
 * Delivery is at least once from the ledger and exactly once into Redis:
 * - each entry's ID is `<ledger position>-1`, so Redis itself refuses a second copy of a decision (another writ
 *   instance shipping the same ledger, or a resend after a crash): XADD with an ID at or below the stream's
 *   top fails, and that failure is expected and ignored;
 * - the last shipped position is kept in Redis (`writ:audit:checkpoint`), so a restart resumes where shipping
 *   stopped instead of losing what was recorded meanwhile. Without a checkpoint (first start) shipping begins
 *   at the current ledger head: history is for `audit export`, not for the live stream.
 */

/** Redis key of a zone's audit stream. */
export const siemStreamKey = (zoneId: string) => `writ:audit:${zoneId}`;
/** Redis key of the last ledger position shipped. */
export const SIEM_CHECKPOINT_KEY = 'writ:audit:checkpoint';

export interface SiemStreamOptions {
  /** Approximate number of entries each zone's stream keeps (MAXLEN ~). */
  maxLen?: number;
  /** Entries per pipeline at most. */
  batchSize?: number;
  /** Pause before resubscribing after a failure (doubles up to 30 s). */
  retryDelayMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

/** The stream ID of the entry for the decision at `position`. */
export function siemEntryId(position: bigint): string {
  return `${position}-1`;
}

/** The fields of a decision's stream entry: a few for filtering at a glance, and the whole record as JSON. */
export function siemFields(e: RecordedEvent): string[] {
  const d = e.data as EventData<'DecisionRecorded'>;
  const record = { ...d, position: e.position.toString(), recorded_at: e.recordedAt };
  return [
    'request_id', d.request_id,
    'decision', d.decision,
    'occurred_at', d.occurred_at,
    'application_id', d.application_id,
    'subject_id', d.subject_id,
    'resource', d.resource.identifier,
    'position', e.position.toString(),
    'record', JSON.stringify(record),
  ];
}

/** Ships recorded decisions to Redis streams until closed. */
export class SiemStream {
  private readonly maxLen: number;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private subscription: Subscription | undefined;
  private pending: RecordedEvent[] = [];
  /** Last ledger position seen by the subscription (decision or not). */
  private seen = -1n;
  private flushing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private shippedCount = 0;
  private lastShipped = -1n;
  private readonly idleWaiters: Array<{ position: bigint; resolve: () => void }> = [];

  constructor(
    private readonly store: EventStore,
    private readonly redis: Redis,
    private readonly options: SiemStreamOptions = {},
  ) {
    this.maxLen = options.maxLen ?? 100_000;
    this.batchSize = options.batchSize ?? 500;
    this.retryDelayMs = options.retryDelayMs ?? 500;
  }

  private wakeSleeper: (() => void) | undefined;
  private markReady!: () => void;
  /** Resolves once the first subscription is open (its starting position known). */
  readonly ready: Promise<void> = new Promise((resolve) => (this.markReady = resolve));

  /** Begin shipping in the background. */
  start(): void {
    if (this.loop) return;
    this.loop = this.run(undefined);
  }

  /** Decisions shipped by this instance (entries Redis accepted or already held). */
  get shipped(): number {
    return this.shippedCount;
  }

  /** Resolves once everything up to `position` is shipped (tests, graceful shutdown). */
  waitFor(position: bigint, timeoutMs = 10_000): Promise<void> {
    if (this.lastShipped >= position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { position, resolve };
      this.idleWaiters.push(waiter);
      setTimeout(() => {
        const i = this.idleWaiters.indexOf(waiter);
        if (i >= 0) {
          this.idleWaiters.splice(i, 1);
          reject(new Error(`SIEM stream did not reach position ${position} within ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeSleeper?.();
    await this.subscription?.close();
    await this.loop?.catch(() => undefined);
    await this.flushing.catch(() => undefined);
  }

  private async resumePosition(): Promise<bigint> {
    const saved = await this.redis.get(SIEM_CHECKPOINT_KEY);
    if (saved !== null && /^-?\d+$/.test(saved)) return BigInt(saved);
    return this.store.headPosition();
  }

  private async run(initial: bigint | undefined): Promise<void> {
    let delay = this.retryDelayMs;
    let from = initial;
    while (!this.closed) {
      try {
        if (from === undefined) from = await this.resumePosition();
        this.seen = from;
        this.lastShipped = from;
        this.subscription = this.store.subscribeToAll({ fromPosition: from });
        this.markReady();
        for await (const e of this.subscription) {
          this.seen = e.position;
          if (e.type === 'DecisionRecorded') this.pending.push(e);
          if (this.pending.length >= this.batchSize) await this.flush();
          else this.scheduleFlush();
          delay = this.retryDelayMs;
        }
        await this.flush();
        // The subscription ended without close(): a failed background flush closed it. Resume from the checkpoint.
        if (!this.closed) throw new Error('subscription ended');
      } catch (err) {
        if (this.closed) break;
        this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'SIEM audit stream interrupted; resuming from its checkpoint');
        await this.subscription?.close().catch(() => undefined);
        this.pending = [];
        from = undefined;
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          this.wakeSleeper = () => {
            clearTimeout(timer);
            r();
          };
        });
        this.wakeSleeper = undefined;
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush().catch((err: unknown) => {
        // The loop notices on its next flush or event; force a resubscription now.
        this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'SIEM audit stream flush failed');
        void this.subscription?.close();
      });
    });
  }

  /** Ship what is pending, in order; one flush at a time. */
  private flush(): Promise<void> {
    // A failed flush must not poison the ones after it: each reports its own outcome.
    const next = this.flushing.catch(() => undefined).then(() => this.ship());
    this.flushing = next;
    return next;
  }

  private async ship(): Promise<void> {
    const batch = this.pending;
    const upTo = this.seen;
    this.pending = [];
    if (batch.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const e of batch) {
        const zoneId = String((e.data as { zone_id?: unknown }).zone_id);
        pipeline.xadd(siemStreamKey(zoneId), 'MAXLEN', '~', String(this.maxLen), siemEntryId(e.position), ...siemFields(e));
      }
      pipeline.set(SIEM_CHECKPOINT_KEY, upTo.toString());
      const results = (await pipeline.exec()) ?? [];
      for (const [err] of results) {
        if (err && !/equal or smaller than the target stream top item/i.test(err.message)) throw err;
      }
      this.shippedCount += batch.length;
    } else if (upTo > this.lastShipped) {
      // Nothing to add, but move the checkpoint past non-decision events now and then.
      if (upTo - this.lastShipped >= BigInt(this.batchSize)) await this.redis.set(SIEM_CHECKPOINT_KEY, upTo.toString());
    }
    this.lastShipped = upTo > this.lastShipped ? upTo : this.lastShipped;
    for (const w of [...this.idleWaiters]) {
      if (this.lastShipped >= w.position) {
        this.idleWaiters.splice(this.idleWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}
