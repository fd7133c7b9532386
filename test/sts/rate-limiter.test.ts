import { describe, expect, it } from 'vitest';
import { TokenBucketRateLimiter } from '../../src/sts/rate-limiter.js';
import { InProcessRevocationBus } from '../../src/sts/revocation-bus.js';
import { RequestIdGuard } from '../../src/sts/request-id-guard.js';
import { VerifiedTokenCache } from '../../src/sts/verified-token-cache.js';

describe('TokenBucketRateLimiter', () => {
  it('allows a burst of 2x the rate, then refills at the rate', () => {
    let now = 0;
    const limiter = new TokenBucketRateLimiter({ perSecond: 5 }, () => now);
    const burst = Array.from({ length: 11 }, () => limiter.takeNow('c').allowed);
    expect(burst.filter(Boolean)).toHaveLength(10);
    const refused = limiter.takeNow('c');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeCloseTo(0.2, 5);
    now += 200;
    expect(limiter.takeNow('c').allowed).toBe(true);
    expect(limiter.takeNow('c').allowed).toBe(false);
    expect(limiter.takeNow('other').allowed).toBe(true);
  });
});

describe('InProcessRevocationBus', () => {
  it('remembers revocations and notifies once per session', async () => {
    const bus = new InProcessRevocationBus();
    const seen: string[] = [];
    bus.onRevoked((id) => seen.push(id));
    await bus.publish('s1');
    await bus.publish('s1');
    expect(bus.isRevoked('s1')).toBe(true);
    expect(bus.isRevoked('s2')).toBe(false);
    expect(seen).toEqual(['s1']);
  });
});

describe('RequestIdGuard', () => {
  it('refuses an id seen before or recorded, and forgets released ids', () => {
    const guard = new RequestIdGuard((id) => id === 'recorded', 2);
    expect(guard.claim('recorded')).toBe(false);
    expect(guard.claim('a')).toBe(true);
    expect(guard.claim('a')).toBe(false);
    guard.release('a');
    expect(guard.claim('a')).toBe(true);
    expect(guard.claim('b')).toBe(true);
    expect(guard.claim('c')).toBe(true); // evicts "a"
    expect(guard.claim('a')).toBe(true);
  });
});

describe('VerifiedTokenCache', () => {
  it('expires entries and stays bounded', () => {
    const cache = new VerifiedTokenCache<number>(2);
    cache.set('a', 1, 1000, 0);
    cache.set('b', 2, 1000, 0);
    cache.set('c', 3, 1000, 0);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 10)).toBeUndefined();
    expect(cache.get('c', 10)).toBe(3);
    expect(cache.get('c', 1000)).toBeUndefined();
    cache.set('d', 4, 5, 10);
    expect(cache.get('d', 10)).toBeUndefined();
  });
});
