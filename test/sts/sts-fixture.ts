import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import formbody from '@fastify/formbody';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Redis } from 'ioredis';
import { registerErrorHandler } from '../../src/api/plugins/error-handler.js';
import { requestIdFor } from '../../src/api/plugins/request-id.js';
import { stsRoutes } from '../../src/api/routes/sts/sts-routes.js';
import { newId } from '../../src/crypto/ids.js';
import { generateSalt, generateSecret, hashSecret, sha256Hex } from '../../src/crypto/secret-hash.js';
import { makeEvent, type WritEvent } from '../../src/domain/events.js';
import { streams } from '../../src/domain/streams.js';
import { loadDefaultBundle } from '../../src/policy/default-policy.js';
import { OpaWasmEngine } from '../../src/policy/opa-wasm-engine.js';
import { POLICY_ENTRYPOINT } from '../../src/policy/policy-engine.js';
import { PolicyRegistry } from '../../src/policy/policy-registry.js';
import { createReadModels, type ReadModels } from '../../src/projections/read-models.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createRateLimiter, type RateLimiter } from '../../src/sts/rate-limiter.js';
import { createRevocationBus, type RevocationBus } from '../../src/sts/revocation-bus.js';
import { SigningKeys } from '../../src/sts/signing-keys.js';
import { createSts, type Sts } from '../../src/sts/sts.js';
import type { StsPolicies } from '../../src/sts/sts-ports.js';

/**
 * A minimal writ runtime for the STS tests: a real ledger (memory store unless one is handed in), the real
 * read models and projection runner, opa-wasm with the built-in default policy, signing keys on disk, and a
 * Fastify app with the STS routes and the common error handler, driven through `app.inject`.
 *
 * It exists because the central harness (test/support/harness.ts) needs the whole runtime (audit, health,
 * console...) to be importable; the STS suites only need the pieces above. Zones, apps, resources and grants
 * are seeded by appending domain events directly.
 */

export const ISSUER = 'http://writ.test';
export const SUBJECT_ISSUER = 'https://idp.example.test';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export interface SeededClient {
  applicationId: string;
  secret: string;
  /** `Basic ...` header value. */
  basic: string;
}

export interface IdentityProvider {
  issuer: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** Sign a subject token; `claims` override the defaults (sub user-1, 5 min lifetime). */
  sign(claims?: JWTPayload, header?: { kid?: string; alg?: string }): Promise<string>;
}

export interface StsFixture {
  store: EventStore;
  memory: MemoryEventStore;
  models: ReadModels;
  runner: ProjectionRunner;
  keys: SigningKeys;
  revocations: RevocationBus;
  sts: Sts;
  app: FastifyInstance;
  dataDir: string;
  zoneId: string;
  idp: IdentityProvider;
  client: SeededClient;
  resourceId: string;
  /** Append events to their streams and wait until the read models include them. */
  append(stream: string, events: WritEvent[]): Promise<void>;
  addZone(name?: string): Promise<string>;
  addClient(zoneId: string, name?: string): Promise<SeededClient>;
  addResource(zoneId: string, identifier: string, scopes: string[]): Promise<string>;
  addGrant(zoneId: string, applicationId: string, resourceId: string, scopes: string[], userId?: string | null): Promise<string>;
  addIssuer(zoneId: string, idp: IdentityProvider, audience?: string | null): Promise<string>;
  /** POST /v1/sts/token with the seeded client's Basic credentials unless `headers` say otherwise. */
  exchange(form: Record<string, string | string[]>, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  post(url: string, form: Record<string, string | string[]>, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface StsFixtureOptions {
  /** Wrap the ledger (failure injection). Receives the memory store, returns what the STS and runner use. */
  wrapStore?: (store: MemoryEventStore) => EventStore;
  redis?: Redis;
  rateLimitPerSecond?: number;
  /** Shared keys directory (several instances); default a fresh temp dir. */
  dataDir?: string;
  /** Replace the policy registry (e.g. a policy that misbehaves on purpose). */
  policies?: StsPolicies;
  /** Use this ledger (several instances on one ledger). */
  sharedStore?: MemoryEventStore;
  /** Skip seeding the default zone (second instance on a shared ledger). */
  seed?: boolean;
  now?: () => Date;
}

export async function newIdentityProvider(issuer = SUBJECT_ISSUER, alg: 'ES256' | 'RS256' = 'ES256'): Promise<IdentityProvider> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `kid-${generateSecret(6)}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    issuer,
    kid,
    privateKey,
    publicJwk,
    async sign(claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: 'user-1', iss: issuer, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: header.alg ?? alg, kid: header.kid ?? kid, typ: 'JWT' })
        .sign(privateKey);
    },
  };
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export function formEncode(form: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  return params.toString();
}

/** Start the runtime and seed one zone with a client, a resource `resource://payments`, a grant and an issuer. */
export async function startStsFixture(options: StsFixtureOptions = {}): Promise<StsFixture> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'writ-sts-')));
  const memory = options.sharedStore ?? new MemoryEventStore();
  const store = options.wrapStore ? options.wrapStore(memory) : memory;
  const models = createReadModels();
  const runner = new ProjectionRunner({ store, models: models.all });
  await runner.start();
  await runner.waitFor(await store.headPosition(), 10_000);
  const policies =
    options.policies ??
    new PolicyRegistry(new OpaWasmEngine(), async (zoneId, version) => {
      const b = models.policySets.bundle(zoneId, version);
      if (!b) throw new Error(`policy version ${zoneId}/${version} not found`);
      return { digest: b.digest, bundle: Buffer.from(b.bundle_base64, 'base64') };
    });
  const keys = await SigningKeys.open(join(dataDir, 'keys'), { mandateTtlSeconds: 300 });
  const revocations = createRevocationBus(options.redis);
  const rateLimiter: RateLimiter = createRateLimiter(options.redis, { perSecond: options.rateLimitPerSecond ?? 10_000 });
  const sts = createSts({
    config: { issuer: ISSUER, mandateTtlSeconds: 300, rateLimitPerSecond: options.rateLimitPerSecond ?? 10_000, dataDir },
    store,
    models,
    runner,
    policies,
    keys,
    revocations,
    rateLimiter,
    ...(options.now ? { now: options.now } : {}),
  });
  const app = await buildStsApp(sts);

  const defaultBundle = await loadDefaultBundle();
  const now = () => new Date().toISOString();

  const append = async (stream: string, events: WritEvent[]) => {
    const r = await store.appendToStream(
      stream,
      events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown> })),
    );
    await runner.waitFor(r.position, 10_000);
  };
  const addZone = async (name = 'zone') => {
    const zoneId = newId('zone');
    await append(streams.zone(zoneId), [makeEvent('ZoneCreated', { zone_id: zoneId, name, created_at: now() })]);
    await append(streams.policySet(zoneId), [
      makeEvent('PolicyVersionCreated', {
        zone_id: zoneId,
        version: 1,
        digest: sha256Hex(defaultBundle),
        bundle_base64: Buffer.from(defaultBundle).toString('base64'),
        entrypoints: [POLICY_ENTRYPOINT],
        origin: 'builtin',
        created_at: now(),
      }),
      makeEvent('PolicyVersionActivated', { zone_id: zoneId, version: 1, previous_version: null, activated_at: now() }),
    ]);
    return zoneId;
  };
  const addClient = async (zoneId: string, name = 'billing') => {
    const applicationId = newId('app');
    const secret = generateSecret();
    const salt = generateSalt();
    await append(streams.application(applicationId), [
      makeEvent('ApplicationRegistered', {
        zone_id: zoneId,
        application_id: applicationId,
        name,
        secret_salt: salt,
        secret_hash: hashSecret(secret, salt),
        registered_at: now(),
      }),
    ]);
    return { applicationId, secret, basic: basicAuth(applicationId, secret) };
  };
  const addResource = async (zoneId: string, identifier: string, scopes: string[]) => {
    const resourceId = newId('res');
    await append(streams.resource(resourceId), [
      makeEvent('ResourceRegistered', { zone_id: zoneId, resource_id: resourceId, identifier, scopes, upstream_url: null, registered_at: now() }),
    ]);
    return resourceId;
  };
  const addGrant = async (zoneId: string, applicationId: string, resourceId: string, scopes: string[], userId: string | null = null) => {
    const grantId = newId('grt');
    await append(streams.grant(grantId), [
      makeEvent('GrantIssued', {
        zone_id: zoneId,
        grant_id: grantId,
        application_id: applicationId,
        resource_id: resourceId,
        scopes,
        user_id: userId,
        issued_at: now(),
      }),
    ]);
    return grantId;
  };
  const addIssuer = async (zoneId: string, provider: IdentityProvider, audience: string | null = null) => {
    const issuerId = newId('iss');
    await append(streams.zone(zoneId), [
      makeEvent('TrustedIssuerAdded', {
        zone_id: zoneId,
        issuer_id: issuerId,
        issuer: provider.issuer,
        jwks: { keys: [provider.publicJwk as Record<string, unknown>] },
        audience,
        added_at: now(),
      }),
    ]);
    return issuerId;
  };

  const idp = await newIdentityProvider();
  let zoneId = '';
  let client: SeededClient = { applicationId: '', secret: '', basic: '' };
  let resourceId = '';
  if (options.seed ?? true) {
    zoneId = await addZone('acme');
    client = await addClient(zoneId);
    resourceId = await addResource(zoneId, 'resource://payments', ['payments:read', 'payments:write', 'payments:admin']);
    await addGrant(zoneId, client.applicationId, resourceId, ['payments:read', 'payments:write']);
    await addIssuer(zoneId, idp);
  }

  const post = (url: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: formEncode(form),
    });

  return {
    store,
    memory,
    models,
    runner,
    keys,
    revocations,
    sts,
    app,
    dataDir,
    zoneId,
    idp,
    client,
    resourceId,
    append,
    addZone,
    addClient,
    addResource,
    addGrant,
    addIssuer,
    exchange: (form, headers) => post('/v1/sts/token', form, headers ?? { authorization: client.basic }),
    post,
    async close() {
      await app.close();
      await sts.close();
      await revocations.close();
      await runner.stop();
      if (!options.sharedStore) await memory.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The STS routes on a Fastify app configured like src/api/app.ts (ids, error shape, form parsing). */
export async function buildStsApp(sts: Sts): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, genReqId: requestIdFor });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await app.register(formbody);
  await app.register(stsRoutes, { writ: { sts } });
  await app.ready();
  return app;
}

/** A standard exchange form for the seeded resource. */
export function exchangeForm(subjectToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: JWT_TYPE,
    resource: 'resource://payments',
    scope: 'payments:read',
    ...extra,
  };
}
