import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import { RedisRateLimiter } from '../../src/sts/rate-limiter.js';
import { RedisRevocationBus } from '../../src/sts/revocation-bus.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { exchangeForm, startStsFixture, type StsFixture } from './sts-fixture.js';

/**
 * Two STS instances sharing one real redis-server (started here on a free loopback port, no persistence,
 * stopped by pid) and one ledger and keys directory, as two writ processes behind a load balancer would.
 */
let redisServer: RedisHandle;
let redisA: Redis;
let redisB: Redis;
let a: StsFixture;
let b: StsFixture;
let dataDir: string;

beforeAll(async () => {
  redisServer = await startRedis();
  redisA = new Redis(redisServer.url, { maxRetriesPerRequest: 2, connectionName: 'A' });
  redisA.on('error', () => undefined);
  redisB = new Redis(redisServer.url, { maxRetriesPerRequest: 2, connectionName: 'B' });
  redisB.on('error', () => undefined);
  dataDir = await mkdtemp(join(tmpdir(), 'writ-sts-redis-'));
  const ledger = new MemoryEventStore();
  a = await startStsFixture({ redis: redisA, sharedStore: ledger, dataDir, rateLimitPerSecond: 1000 });
  b = await startStsFixture({ redis: redisB, sharedStore: ledger, dataDir, seed: false, rateLimitPerSecond: 1000 });
  await (a.revocations as RedisRevocationBus).whenReady();
  await (b.revocations as RedisRevocationBus).whenReady();
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  redisA?.disconnect();
  redisB?.disconnect();
  await redisServer?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('two instances on one Redis', () => {
  it('a revocation on one instance is seen by introspection on the other within 1 s', async () => {
    const issued = await a.exchange(exchangeForm(await a.idp.sign()));
    expect(issued.statusCode, issued.body).toBe(200);
    const token = issued.json().access_token as string;
    const introspectOnB = async () => (await b.post('/v1/sts/introspect', { token }, { authorization: a.client.basic })).json();
    // B verifies A's mandate: same keys directory, same ledger.
    await b.runner.waitFor(await b.store.headPosition());
    expect((await introspectOnB()).active).toBe(true);

    // Freeze B's read models: from here on only the Redis fan-out can tell B about the revocation.
    await b.runner.stop();
    const revokedAt = Date.now();
    expect((await a.post('/v1/sts/revoke', { token }, { authorization: a.client.basic })).statusCode).toBe(200);
    let seenAfter = Infinity;
    while (Date.now() - revokedAt < 1000) {
      if ((await introspectOnB()).active === false) {
        seenAfter = Date.now() - revokedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seenAfter).toBeLessThan(1000);
    expect(b.revocations.isRevoked(issued.json().session_id)).toBe(true);
    // B's read models never saw the SessionRevoked event: the bus alone made the difference.
    expect(b.models.sessions.get(issued.json().session_id)?.status).toBe('active');
    await b.runner.start();
  });

  it('shares the token-endpoint rate limit across instances (GCRA in Redis)', async () => {
    const limiterA = new RedisRateLimiter(redisA, { perSecond: 2 }, 'writ:test:rl:');
    const limiterB = new RedisRateLimiter(redisB, { perSecond: 2 }, 'writ:test:rl:');
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await (i % 2 === 0 ? limiterA : limiterB).take('client-x'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, false, false]);
    expect(results[4]!.retryAfterSeconds).toBeGreaterThan(0);
    expect(results[4]!.retryAfterSeconds).toBeLessThanOrEqual(0.5);
    expect((await limiterA.take('client-y')).allowed).toBe(true);
  });

  it('429 rate_limited with Retry-After through the Redis limiter', async () => {
    const limited = await startStsFixture({ redis: redisA, rateLimitPerSecond: 1 });
    try {
      const token = await limited.idp.sign();
      const codes = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await limited.exchange(exchangeForm(token));
        codes.push(last.statusCode);
      }
      expect(codes).toEqual([200, 200, 429, 429]);
      expect(last!.json()).toMatchObject({ error: 'rate_limited', details: { category: 'token_endpoint' } });
      expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('fails open when Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const limiter = new RedisRateLimiter(dead, { perSecond: 1 });
    expect((await limiter.take('k')).allowed).toBe(true);
    dead.disconnect();
  });
});
