import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { createZone, expectError, expectStatus, get } from './helpers.js';

describe('health', () => {
  let t: TestWrit;
  beforeAll(async () => {
    t = await startTestWrit();
  });
  afterAll(async () => t?.close());
  afterEach(() => vi.restoreAllMocks());

  it('GET /v1/health: ok, no key needed', async () => {
    expect(expectStatus(await get(t.app, '/v1/health', {}), 200)).toEqual({ status: 'ok' });
  });

  it('GET /v1/health/ready: ready, redis not configured', async () => {
    expect(expectStatus(await get(t.app, '/v1/health/ready', {}), 200)).toEqual({
      status: 'ready',
      checks: { eventstore: 'ok', redis: 'not_configured', projections: 'ok' },
    });
  });

  it('not ready (503) when the ledger does not answer', async () => {
    vi.spyOn(t.writ.store, 'ping').mockRejectedValue(new Error('disk on fire at /secret/path'));
    const res = await get(t.app, '/v1/health/ready', {});
    const body = expectStatus(res, 503);
    expect(body).toEqual({ status: 'not_ready', checks: { eventstore: 'unavailable', redis: 'not_configured', projections: 'ok' } });
    expect(res.body).not.toContain('/secret/path');
  });

  it('not ready (503) when projections are stopped or far behind', async () => {
    vi.spyOn(t.writ.runner, 'status').mockReturnValue({ state: 'failed', position: 0n, error: 'boom' });
    expect(expectStatus(await get(t.app, '/v1/health/ready', {}), 503).checks.projections).toBe('stopped');
    vi.restoreAllMocks();
    const head = await t.writ.store.headPosition();
    vi.spyOn(t.writ.store, 'headPosition').mockResolvedValue(head + 5000n);
    expect(expectStatus(await get(t.app, '/v1/health/ready', {}), 503).checks.projections).toBe('lagging');
  });

  it('GET /v1/health/detailed needs an admin key', async () => {
    expectError(await get(t.app, '/v1/health/detailed', {}), 401, 'authentication_required');
    expectError(await get(t.app, '/v1/health/detailed', { authorization: 'Bearer wrong' }), 401, 'invalid_token');
  });

  it('GET /v1/health/detailed: latencies, ledger head, projection positions, versions', async () => {
    const zone = await createZone(t);
    const body = expectStatus(await get(t.app, '/v1/health/detailed', t.root), 200);
    const head = await t.writ.store.headPosition();
    expect(body).toMatchObject({
      status: 'ready',
      dependencies: { eventstore: { status: 'ok', latency_ms: expect.any(Number) }, redis: { status: 'not_configured', latency_ms: null } },
      ledger: { head_position: String(head) },
      projections: { status: 'ok', position: String(head), lag: 0, max_ready_lag: expect.any(Number) },
      versions: { writ: '0.1.0', node: process.version },
    });
    expect(body.projections.items.map((i: { name: string }) => i.name)).toEqual(expect.arrayContaining(['directory', 'grants', 'policy-sets', 'sessions', 'decisions']));
    for (const item of body.projections.items) expect(item).toEqual({ name: expect.any(String), position: String(head), lag: 0 });
    // Instance-wide figures (ledger head, lag) say how much every zone did: root only, zone keys get 403.
    expectStatus(await get(t.app, '/v1/health/detailed', zone.key), 403);
  });

  it('GET /metrics: Prometheus text with writ series, no secrets', async () => {
    await get(t.app, '/v1/health', {});
    t.writ.metrics.observeExchange('allow', 0.004);
    t.writ.metrics.observeAppend(0.001);
    const res = await get(t.app, '/metrics', {});
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/^writ_exchanges_total\{decision="allow"\} [1-9]/m);
    expect(text).toMatch(/^writ_exchanges_total\{decision="deny"\} 0/m);
    expect(text).toMatch(/^writ_exchange_duration_seconds_bucket\{le="0.005",decision="allow"\} 1/m);
    expect(text).toMatch(/^writ_ledger_append_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^writ_projection_lag_events\{projection="directory"\} 0/m);
    expect(text).toMatch(/^writ_http_requests_total\{method="GET",route="\/v1\/health",status="200"\} [1-9]/m);
    expect(text).not.toContain(t.rootToken);
  });

  it('request metrics use route templates, never raw URLs', async () => {
    await get(t.app, '/v1/zones/zone_secretish/applications', t.root);
    await get(t.app, '/no/such/path/with-id-123', {});
    const text = (await get(t.app, '/metrics', {})).body;
    expect(text).toContain('route="/v1/zones/:zone_id/applications",status="404"');
    expect(text).toContain('route="unmatched",status="404"');
    expect(text).not.toContain('zone_secretish');
    expect(text).not.toContain('with-id-123');
  });
});

describe('health with redis', () => {
  let redis: RedisHandle;
  let t: TestWrit;
  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestWrit({ ledger: 'memory', redisUrl: redis.url });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('ready checks redis; detailed reports its latency', async () => {
    expect(expectStatus(await get(t.app, '/v1/health/ready', {}), 200).checks.redis).toBe('ok');
    const detailed = expectStatus(await get(t.app, '/v1/health/detailed', t.root), 200);
    expect(detailed.dependencies.redis).toEqual({ status: 'ok', latency_ms: expect.any(Number) });
  });

  it('503 when redis is configured but down', async () => {
    vi.spyOn(t.writ.redis!, 'ping').mockRejectedValue(new Error('connection refused'));
    const body = expectStatus(await get(t.app, '/v1/health/ready', {}), 503);
    expect(body.checks.redis).toBe('unavailable');
    vi.restoreAllMocks();
  });
});
