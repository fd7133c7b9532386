import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFuzzWorld, type FuzzWorld } from './fuzz-support.js';
import { ADMIN, failureReport, runProperty } from './requests.js';
import { fuzzOptions } from './fuzz-env.js';

/**
 * Property: whatever is sent to the admin API (every route, random methods, path parameters, query strings,
 * Authorization headers, content types and bodies: valid-ish shapes with wrong types, huge and unicode strings,
 * deep nesting, duplicate and prototype-pollution keys), writ answers without a 5xx, every refusal is
 * `{error: <snake_case>, error_description, request_id == X-Request-ID, details}`, refusals and reads leave the
 * ledger untouched, and Object.prototype stays clean.
 */
let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('admin API fuzz', () => {
  it('never 5xx, always the error shape, refusals and reads append nothing', async () => {
    const result = await runProperty(world, ADMIN, fuzzOptions(300, 0x5eed_a1));
    if (result.failed) expect.fail(failureReport(result));
    // The generator reaches past validation and authentication, not only the first refusal.
    const seen = (pred: (k: string) => boolean) => result.stats.count(pred);
    expect(seen((k) => / 20[01]( |$)/.test(k) && k.includes('{zone_id}')), JSON.stringify(result.stats)).toBeGreaterThan(10);
    expect(seen((k) => k.includes(' POST ') && / 201( |$)/.test(k)), JSON.stringify(result.stats)).toBeGreaterThan(0);
    for (const code of ['invalid_request', 'invalid_token', 'zone_forbidden', 'authentication_required']) {
      expect(seen((k) => k.endsWith(` ${code}`)), `${code}: ${JSON.stringify(result.stats)}`).toBeGreaterThan(0);
    }
  }, 120_000);
});
