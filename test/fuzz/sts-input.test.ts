import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_TYPE, startFuzzWorld, Stats, TOKEN_EXCHANGE, type FuzzWorld } from './fuzz-support.js';
import { checkBatch, failureReport, runProperty, STS, STS_CONCURRENT, type BatchSpec } from './requests.js';
import { fuzzOptions } from './fuzz-env.js';

/**
 * Properties of the STS endpoints (token exchange, introspection, revocation) under random form fields
 * (real, expired, forged, unsigned and JWT-ish subject tokens, wrong grant and token types, duplicated and
 * empty parameters, prototype keys, raw bodies), content types, Basic credentials and X-Request-IDs (fresh,
 * reused, malformed):
 *
 * - never 5xx; every refusal in the error shape with request_id == X-Request-ID;
 * - a 400/401/409/415/429 appends nothing; a 403 `access_denied` appends exactly its deny; a 200 appended
 *   its allow (and its new session) and nothing else, and the mandate (`typ: at+jwt`) carries the recorded jti;
 * - introspection never appends;
 * - sent concurrently (ids shared inside a batch): one decision per request id at most, and the ledger holds
 *   exactly the decisions and sessions that were answered.
 */
let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('STS fuzz', () => {
  it('never 5xx, always the error shape, only decisions are recorded', async () => {
    const result = await runProperty(world, STS, fuzzOptions(300, 0x5eed_a2));
    if (result.failed) expect.fail(failureReport(result));
    const seen = (pred: (k: string) => boolean) => result.stats.count(pred);
    for (const outcome of ['token 200', 'token 403 access_denied', 'token 401 invalid_token', 'token 401 invalid_client', 'token 400 invalid_request', 'introspect 200']) {
      expect(seen((k) => k.endsWith(outcome)), `${outcome}: ${JSON.stringify(result.stats)}`).toBeGreaterThan(0);
    }
  }, 120_000);

  it('concurrent exchanges: one decision per request id, the ledger holds exactly what was answered', async () => {
    const result = await runProperty(world, STS_CONCURRENT, fuzzOptions(40, 0x5eed_a4));
    if (result.failed) expect.fail(failureReport(result));
    const seen = (pred: (k: string) => boolean) => result.stats.count(pred);
    expect(seen((k) => k.endsWith(' 200')), JSON.stringify(result.stats)).toBeGreaterThan(10);
    expect(seen((k) => k.endsWith(' duplicate_request_id')), JSON.stringify(result.stats)).toBeGreaterThan(0);
  }, 120_000);

  it('rate limited: a 429 appends nothing, answered decisions are all recorded', async () => {
    const limited = await startFuzzWorld({ rateLimitPerSecond: 2 });
    try {
      const form = (scope: string) =>
        new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: limited.tokens.valid!, subject_token_type: JWT_TYPE, resource: 'resource://payments', scope }).toString();
      const batch: BatchSpec = {
        items: Array.from({ length: 12 }, (_, i) => ({
          spec: {
            label: 'sts POST /v1/sts/token',
            method: 'POST',
            path: '/v1/sts/token',
            query: '',
            headers: { authorization: limited.basic(limited.appId, limited.appSecret), 'content-type': 'application/x-www-form-urlencoded' },
            rid: { kind: 'fresh' as const },
            payload: form(i % 3 === 0 ? 'payments:admin' : 'payments:read'),
            rule: 'token' as const,
          },
          share: null,
        })),
      };
      const stats = new Stats();
      expect(await checkBatch(limited, batch, stats)).toEqual([]);
      expect(stats.count((k) => k.endsWith('rate_limited')), JSON.stringify(stats)).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  }, 60_000);
});
