import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Token-endpoint rate limits, per client: `perSecond` sustained, bursts up to `burst` (default 2x).
 * In-process token buckets for one instance; a Redis GCRA (one atomic Lua script, Redis' own clock) when
 * instances share the limit.
 */
export interface RateLimiter {
  take(key: string): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfterSeconds: number;
}

export interface RateLimitOptions {
  perSecond: number;
  /** Largest burst; default 2 x perSecond (at least 1). */
  burst?: number;
  logger?: { warn(obj: object, msg: string): void };
}

const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true, retryAfterSeconds: 0 });
/** Buckets kept before idle (full) ones are swept. */
const MAX_BUCKETS = 100_000;

/** In-process token buckets. */
export class TokenBucketRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly rate: number;
  private readonly burst: number;

  constructor(
    options: RateLimitOptions,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.rate = options.perSecond;
    this.burst = Math.max(1, options.burst ?? Math.ceil(options.perSecond * 2));
  }

  /** Synchronous core of {@link take}. */
  takeNow(key: string): RateLimitDecision {
    const now = this.clock();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: (1 - b.tokens) / this.rate };
  }

  async take(key: string): Promise<RateLimitDecision> {
    return this.takeNow(key);
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  /** Drop buckets that have refilled completely: forgetting them changes nothing. */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key);
    }
  }
}

/**
 * GCRA in one script: TAT (theoretical arrival time, ms) per key. A request is allowed when the new TAT is
 * within `burst` emission intervals of now. Uses Redis' clock so instances with skewed clocks agree.
 * Returns {allowed (1|0), retry_after_ms}.
 */
const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local excess = new_tat - now - window
if excess > 0 then return {0, math.ceil(excess)} end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, 0}
`;
const GCRA_SHA = createHash('sha1').update(GCRA_LUA).digest('hex');

/** Redis-backed limiter shared by every instance. Fails open (allows) when Redis is unreachable. */
export class RedisRateLimiter implements RateLimiter {
  private readonly intervalMs: number;
  private readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: RateLimitOptions,
    private readonly prefix = 'writ:ratelimit:token:',
  ) {
    const burst = Math.max(1, options.burst ?? Math.ceil(options.perSecond * 2));
    this.intervalMs = 1000 / options.perSecond;
    this.windowMs = this.intervalMs * burst;
  }

  async take(key: string): Promise<RateLimitDecision> {
    const redisKey = this.prefix + key;
    try {
      let reply: unknown;
      try {
        reply = await this.redis.evalsha(GCRA_SHA, 1, redisKey, String(this.intervalMs), String(this.windowMs));
      } catch (err) {
        if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
        reply = await this.redis.eval(GCRA_LUA, 1, redisKey, String(this.intervalMs), String(this.windowMs));
      }
      const [allowed, retryMs] = reply as [number, number];
      return allowed === 1 ? ALLOWED : { allowed: false, retryAfterSeconds: retryMs / 1000 };
    } catch (err) {
      // Rate limiting protects the service; it must not take the token endpoint down with Redis.
      this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'rate limiter unavailable; allowing');
      return ALLOWED;
    }
  }

  async close(): Promise<void> {}
}

/** The limiter for a deployment: Redis when configured (shared limits), in-process otherwise. */
export function createRateLimiter(redis: Redis | undefined, options: RateLimitOptions): RateLimiter {
  return redis ? new RedisRateLimiter(redis, options) : new TokenBucketRateLimiter(options);
}
