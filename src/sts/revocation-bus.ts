import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Revocation fan-out. The ledger is the source of truth (SessionRevoked); every instance's projections catch
 * up with it, but a catch-up can lag. The bus tells every instance at once, so a revoked session stops
 * being honoured (introspection, later exchanges) immediately everywhere, not when projections catch up.
 */
export interface RevocationBus {
  /** Mark the session revoked here and tell the other instances. Never rejects: the ledger already has it. */
  publish(sessionId: string): Promise<void>;
  /** Revoked according to this bus (published here or seen from another instance). */
  isRevoked(sessionId: string): boolean;
  /** Called for every revocation this instance learns about (local or remote). */
  onRevoked(callback: (sessionId: string) => void): void;
  close(): Promise<void>;
}

/** Redis pub/sub channel shared by every writ instance. */
export const REVOCATION_CHANNEL = 'writ:revocations';

/**
 * How long a revocation is remembered by the bus. Projections catch up from the ledger well within this;
 * after it, SessionsModel alone answers. Bounded so the set does not grow forever.
 */
const REMEMBER_MS = 60 * 60 * 1000;

export interface RevocationBusOptions {
  logger?: { warn(obj: object, msg: string): void };
}

/** The in-process bus (one instance, or tests). */
export class InProcessRevocationBus implements RevocationBus {
  private readonly revoked = new Map<string, number>();
  private readonly callbacks: Array<(sessionId: string) => void> = [];
  private lastSweep = Date.now();

  async publish(sessionId: string): Promise<void> {
    this.apply(sessionId);
  }

  isRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  onRevoked(callback: (sessionId: string) => void): void {
    this.callbacks.push(callback);
  }

  async close(): Promise<void> {
    this.callbacks.length = 0;
  }

  /** Record a revocation and notify listeners once per session. */
  apply(sessionId: string): void {
    const now = Date.now();
    const known = this.revoked.has(sessionId);
    this.revoked.set(sessionId, now);
    this.sweep(now);
    if (known) return;
    for (const cb of this.callbacks) {
      try {
        cb(sessionId);
      } catch {
        // A listener's failure must not stop the others from hearing about the revocation.
      }
    }
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [id, at] of this.revoked) if (now - at > REMEMBER_MS) this.revoked.delete(id);
  }
}

/**
 * Redis fan-out: `publish` applies locally and publishes on {@link REVOCATION_CHANNEL}; a dedicated
 * subscriber connection applies what other instances publish into the local set as it arrives.
 */
export class RedisRevocationBus implements RevocationBus {
  private readonly local = new InProcessRevocationBus();
  private readonly subscriber: Redis;
  private readonly origin = randomUUID();
  private readonly ready: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly options: RevocationBusOptions = {},
  ) {
    // A subscribed connection cannot issue other commands, hence a second one. It queues commands while
    // (re)connecting and re-subscribes by itself after a reconnect.
    this.subscriber = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== REVOCATION_CHANNEL) return;
      const parsed = parseMessage(message);
      if (parsed && parsed.origin !== this.origin) this.local.apply(parsed.session_id);
    });
    this.subscriber.on('error', (err: Error) => this.options.logger?.warn({ err: err.message }, 'revocation subscriber error'));
    this.ready = this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(REVOCATION_CHANNEL))
      .then(() => undefined);
    // Start-up failures surface through whenReady(); an unobserved rejection must not crash the process.
    this.ready.catch((err: unknown) => this.options.logger?.warn({ err: String(err) }, 'revocation subscriber could not subscribe'));
  }

  /** Resolves once the subscription is live (tests, readiness). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  async publish(sessionId: string): Promise<void> {
    this.local.apply(sessionId);
    try {
      await this.redis.publish(REVOCATION_CHANNEL, JSON.stringify({ session_id: sessionId, origin: this.origin }));
    } catch (err) {
      // Other instances still learn it from the ledger through their projections, only later.
      this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err), session_id: sessionId }, 'revocation fan-out failed');
    }
  }

  isRevoked(sessionId: string): boolean {
    return this.local.isRevoked(sessionId);
  }

  onRevoked(callback: (sessionId: string) => void): void {
    this.local.onRevoked(callback);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber.disconnect();
  }
}

/** The bus for a deployment: Redis fan-out when a client is configured, in-process otherwise. */
export function createRevocationBus(redis: Redis | undefined, options: RevocationBusOptions = {}): RevocationBus {
  return redis ? new RedisRevocationBus(redis, options) : new InProcessRevocationBus();
}

function parseMessage(message: string): { session_id: string; origin: string } | undefined {
  try {
    const m = JSON.parse(message) as { session_id?: unknown; origin?: unknown };
    if (typeof m.session_id === 'string' && m.session_id.length > 0 && m.session_id.length <= 128) {
      return { session_id: m.session_id, origin: typeof m.origin === 'string' ? m.origin : '' };
    }
  } catch {
    // Not ours: ignore.
  }
  return undefined;
}
