import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { findOpaCli } from '../../src/policy/rego-compiler.js';
import { bundleWithRevision, createZone, expectError, expectStatus, get, policyInput, post, type ZoneFixture } from './helpers.js';

const opaAvailable = await findOpaCli().then(
  () => true,
  () => false,
);

const ALLOW_READ = `package writ.authz

result := {
  "decision": "allow",
  "scopes": ["payments:read"],
  "determining_policies": ["allow_read"],
  "diagnostics": [],
}
`;

describe('policy sets', () => {
  let t: TestWrit;
  let zone: ZoneFixture;
  let base: string;
  beforeAll(async () => {
    t = await startTestWrit({ ledger: 'memory' });
    zone = await createZone(t);
    base = `/v1/zones/${zone.zone_id}`;
  });
  afterAll(async () => t?.close());

  function upload(bytes: Buffer, contentType = 'application/gzip') {
    return t.app.inject({ method: 'POST', url: `${base}/policy-sets/versions`, headers: { ...zone.key, 'content-type': contentType }, payload: bytes });
  }

  it('a new zone has the built-in version 1, active', async () => {
    const set = expectStatus(await get(t.app, `${base}/policy-sets`, zone.key), 200);
    expect(set.active_version).toBe(1);
    expect(set.versions).toEqual([
      { version: 1, digest: expect.stringMatching(/^[0-9a-f]{64}$/), origin: 'builtin', entrypoints: expect.arrayContaining(['writ/authz/result']), created_at: expect.any(String), activated_at: expect.any(String) },
    ]);
  });

  it('uploads a bundle, activates it, rolls back', async () => {
    const created = expectStatus(await upload(await bundleWithRevision('v2')), 201);
    expect(created).toEqual({ version: 2, digest: expect.stringMatching(/^[0-9a-f]{64}$/), entrypoints: expect.arrayContaining(['writ/authz/result']), created_at: expect.any(String) });
    let set = expectStatus(await get(t.app, `${base}/policy-sets`, zone.key), 200);
    expect(set.active_version).toBe(1);
    expect(set.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);

    expect(expectStatus(await post(t.app, `${base}/policy-sets/versions/2/activate`, zone.key), 200)).toEqual({ active_version: 2, previous_version: 1 });
    set = expectStatus(await get(t.app, `${base}/policy-sets`, zone.key), 200);
    expect(set.active_version).toBe(2);
    expect(expectStatus(await get(t.app, base, zone.key), 200).active_policy_version).toBe(2);
    expectError(await post(t.app, `${base}/policy-sets/versions/2/activate`, zone.key), 409, 'policy_version_already_active');
    // A client that always sends a JSON content type with an empty body still works.
    const rollback = await t.app.inject({ method: 'POST', url: `${base}/policy-sets/versions/1/activate`, headers: { ...zone.key, 'content-type': 'application/json' } });
    expect(expectStatus(rollback, 200)).toEqual({ active_version: 1, previous_version: 2 });
    expectError(await post(t.app, `${base}/policy-sets/versions/99/activate`, zone.key), 404, 'policy_version_not_found');
    expectError(await post(t.app, `${base}/policy-sets/versions/zero/activate`, zone.key), 400, 'invalid_request');
  });

  it('the same content twice is 409 policy_version_exists (versions are content-addressed)', async () => {
    const body = expectError(await upload(Buffer.from(await loadDefaultBundle())), 409, 'policy_version_exists');
    expect(body.details.version).toBe(1);
    expectStatus(await upload(await bundleWithRevision('twice')), 201);
    expectError(await upload(await bundleWithRevision('twice'), 'application/octet-stream'), 409, 'policy_version_exists');
  });

  it('bad bundles are 422 invalid_bundle', async () => {
    expectError(await upload(Buffer.from('definitely not gzip, just text of some length')), 422, 'invalid_bundle');
    const { gzipSync } = await import('node:zlib');
    expectError(await upload(gzipSync(Buffer.from('not a tar archive'.repeat(100)))), 422, 'invalid_bundle');
  });

  it('a JSON body that is neither Rego nor a bundle is 400 with issues', async () => {
    const res = expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: 'nope' }), 400, 'invalid_request');
    expect(res.details.issues.length).toBeGreaterThan(0);
    expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: {} }), 400, 'invalid_request');
    expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, [1, 2]), 400, 'invalid_request');
  });

  it.runIf(opaAvailable)('compiles Rego; compile errors are 422 invalid_policy with located messages', async () => {
    const created = expectStatus(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: { 'authz.rego': ALLOW_READ } }), 201);
    expect(created.entrypoints).toContain('writ/authz/result');

    const broken = expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: { 'broken.rego': 'package writ.authz\n\nresult := {\n' } }), 422, 'invalid_policy');
    expect(broken.details.errors[0]).toMatchObject({ file: 'broken.rego', row: expect.any(Number), message: expect.any(String) });

    const clock = 'package writ.authz\n\nresult := {"decision": "allow", "determining_policies": [], "diagnostics": [], "t": time.now_ns()}\n';
    const nondet = expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: { 'clock.rego': clock } }), 422, 'invalid_policy');
    expect(nondet.details.errors[0]).toMatchObject({ file: 'clock.rego', row: 3 });

    const noEntry = expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: { 'other.rego': 'package other\n\nx := 1\n' } }), 422, 'invalid_policy');
    expect(noEntry.details.errors.length).toBeGreaterThan(0);
    expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: { '../escape.rego': ALLOW_READ } }), 422, 'invalid_policy');
  });

  it('Rego without an opa CLI is 501 compiler_unavailable', async () => {
    const saved = process.env.WRIT_OPA_PATH;
    process.env.WRIT_OPA_PATH = '/nonexistent/opa';
    try {
      expectError(await post(t.app, `${base}/policy-sets/versions`, zone.key, { modules: { 'authz.rego': ALLOW_READ } }), 501, 'compiler_unavailable');
    } finally {
      if (saved === undefined) delete process.env.WRIT_OPA_PATH;
      else process.env.WRIT_OPA_PATH = saved;
    }
  });

  describe('simulate', () => {
    it('evaluates a version against an input and records nothing', async () => {
      const head = await t.writ.store.headPosition();
      const allow = expectStatus(await post(t.app, `${base}/policy-sets/versions/1/simulate`, zone.key, { input: policyInput(zone.zone_id) }), 200);
      expect(allow).toMatchObject({ version: 1, decision: 'allow', scopes: ['payments:read'], determining_policies: expect.any(Array), diagnostics: expect.any(Array) });
      const deny = expectStatus(await post(t.app, `${base}/policy-sets/versions/1/simulate`, zone.key, { input: policyInput(zone.zone_id, { requested: ['payments:write'] }) }), 200);
      expect(deny).toMatchObject({ version: 1, decision: 'deny', scopes: [] });
      expect(deny.diagnostics.map((d: { reason: string }) => d.reason)).toContain('scope_not_granted');
      expect(await t.writ.store.headPosition()).toBe(head);
    });

    it('refuses malformed requests', async () => {
      const url = `${base}/policy-sets/versions/1/simulate`;
      expectError(await post(t.app, url, zone.key, {}), 400, 'invalid_request');
      expectError(await post(t.app, url, zone.key, { input: policyInput(zone.zone_id), request_id: 'req_x' }), 400, 'invalid_request');
      expectError(await post(t.app, url, zone.key, { input: { hello: 'world' } }), 400, 'invalid_request');
      expectError(await post(t.app, url, zone.key, { request_id: 'bad id with spaces' }), 400, 'invalid_request');
      expectError(await post(t.app, `${base}/policy-sets/versions/42/simulate`, zone.key, { input: policyInput(zone.zone_id) }), 404, 'policy_version_not_found');
    });

    it('an unknown request id is 404 request_not_found', async () => {
      expectError(await post(t.app, `${base}/policy-sets/versions/1/simulate`, zone.key, { request_id: 'req_never_recorded' }), 404, 'request_not_found');
    });
  });
});
