import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkShape, startFuzzWorld, type FuzzRequest, type FuzzWorld } from './fuzz-support.js';
import { failureReport, RAW_PATH, runProperty } from './requests.js';
import { fuzzOptions } from './fuzz-env.js';

/**
 * Paths as clients may really send them: segments not encoded by us (broken percent-escapes, encoded slashes
 * and NULs) and path parameters over the router's 100-character limit. The router (find-my-way) refuses some of
 * these itself; writ's contract still holds for them: X-Request-ID, and `{error, error_description, request_id,
 * details}` with a snake_case code — never Fastify's default `{"error":"Bad Request","code":"FST_ERR_…"}`.
 */
let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world?.close();
});

async function send(req: FuzzRequest) {
  const res = await world.t.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers });
  return { res, shape: checkShape(req, res) };
}

describe('raw paths', () => {
  it('a path parameter over 100 characters: writ error shape with X-Request-ID (FST_ERR_MAX_PARAM_LENGTH)', async () => {
    const { res, shape } = await send({ method: 'GET', url: `/v1/zones/${'z'.repeat(101)}`, headers: { authorization: world.auth.root, 'x-request-id': 'raw-414' } });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(shape.violations, res.body).toEqual([]);
    expect(res.headers['x-request-id']).toBe('raw-414');
  });

  it('a malformed percent-escape in the path: writ error shape with X-Request-ID (FST_ERR_BAD_URL)', async () => {
    const { res, shape } = await send({ method: 'GET', url: `/v1/zones/%E0%A4%A/applications`, headers: { authorization: world.auth.root, 'x-request-id': 'raw-bad-url' } });
    expect(res.statusCode).toBe(400);
    expect(shape.violations, res.body).toEqual([]);
    expect(res.headers['x-request-id']).toBe('raw-bad-url');
  });

  it('property: any raw path keeps the contract', async () => {
    const result = await runProperty(world, RAW_PATH, fuzzOptions(200, 0x5eed_a5));
    if (result.failed) expect.fail(failureReport(result));
  }, 120_000);
});
