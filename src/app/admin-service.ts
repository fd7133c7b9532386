import { importJWK } from 'jose';
import type { EventStore } from '../store/event-store.js';
import type { ReadModels } from '../projections/read-models.js';
import type { ProjectionRunner } from '../projections/projection-runner.js';
import { handleCommand } from './command-handler.js';
import { streams } from '../domain/streams.js';
import { zoneDecider } from '../domain/zone/index.js';
import { applicationDecider } from '../domain/application/index.js';
import { resourceDecider } from '../domain/resource/index.js';
import { grantDecider } from '../domain/grant/index.js';
import { policySetDecider } from '../domain/policy-set/index.js';
import { sessionDecider } from '../domain/session/index.js';
import { DomainError } from '../domain/domain-error.js';
import { generateSalt, generateSecret, hashSecret } from '../crypto/secret-hash.js';
import { newId } from '../crypto/ids.js';
import { formatAdminKey } from './admin-authenticator.js';
import { ApiError } from '../api/api-error.js';
import type { PolicyVersionSource } from './policy-version-source.js';

/** Dependencies of the admin service; `now` is injectable so tests control time. */
export interface AdminServiceDeps {
  store: EventStore;
  models: ReadModels;
  runner: ProjectionRunner;
  policySource: PolicyVersionSource;
  /** Called after a session is revoked so every instance stops honouring its mandates at once. */
  onSessionRevoked?: (sessionId: string) => Promise<void>;
  now?: () => Date;
}

/** Audit metadata written with every admin event: who did it, under which request. */
export interface Actor {
  key_id: string;
  request_id: string;
}

/**
 * The admin use cases: each reads what it needs, lets the aggregate's decider decide, appends, and
 * waits until the local read models include the write, so a client that reads after writing sees it.
 */
export class AdminService {
  private readonly now: () => Date;
  constructor(private readonly deps: AdminServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private time(): string {
    return this.now().toISOString();
  }

  private async settle(position: bigint | undefined): Promise<void> {
    if (position !== undefined) await this.deps.runner.waitFor(position);
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * Run `fn` after every earlier call with the same key has finished. Uniqueness rules that span streams (one
   * resource per identifier) are checked against read models; serializing them per key closes the race between
   * concurrent requests on one instance. Across instances it stays a check, not a guarantee.
   */
  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private meta(actor: Actor): Record<string, unknown> {
    return { request_id: actor.request_id, actor_key_id: actor.key_id };
  }

  /** 404 unless the zone exists (callers have already checked the principal may address it). */
  requireZone(zoneId: string) {
    const zone = this.deps.models.directory.getZone(zoneId);
    if (!zone) throw new DomainError('zone_not_found', 'zone not found');
    return zone;
  }

  async createZone(input: { name: string }, actor: Actor) {
    // Load the built-in policy first: a zone must never be recorded without the policy set it starts on.
    const builtin = await this.deps.policySource.builtin();
    const zone_id = newId('zone');
    const created_at = this.time();
    await handleCommand(this.deps.store, streams.zone(zone_id), zoneDecider, { type: 'CreateZone', zone_id, name: input.name, created_at }, { metadata: this.meta(actor) });
    const out = await handleCommand(
      this.deps.store,
      streams.policySet(zone_id),
      policySetDecider,
      { type: 'InitializePolicySet', zone_id, digest: builtin.digest, bundle_base64: builtin.bundleBase64, entrypoints: builtin.entrypoints, created_at },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    return { zone_id, name: input.name, created_at, active_policy_version: 1 };
  }

  async issueAdminKey(zoneId: string, input: { name: string }, actor: Actor) {
    this.requireZone(zoneId);
    const key_id = newId('key');
    const secret = generateSecret();
    const secret_salt = generateSalt();
    const out = await handleCommand(
      this.deps.store,
      streams.zone(zoneId),
      zoneDecider,
      { type: 'IssueAdminKey', zone_id: zoneId, key_id, name: input.name, secret_salt, secret_hash: hashSecret(secret, secret_salt), issued_at: this.time() },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    return { key_id, zone_id: zoneId, name: input.name, token: formatAdminKey(key_id, secret) };
  }

  async addTrustedIssuer(zoneId: string, input: { issuer: string; jwks: { keys: Record<string, unknown>[] }; audience?: string | null }, actor: Actor) {
    this.requireZone(zoneId);
    await assertPublicJwks(input.jwks);
    const issuer_id = newId('iss');
    const added_at = this.time();
    const out = await handleCommand(
      this.deps.store,
      streams.zone(zoneId),
      zoneDecider,
      { type: 'AddTrustedIssuer', zone_id: zoneId, issuer_id, issuer: input.issuer, jwks: input.jwks, audience: input.audience ?? null, added_at },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    return { issuer_id, zone_id: zoneId, issuer: input.issuer, audience: input.audience ?? null, key_count: input.jwks.keys.length, added_at };
  }

  /** Revoke a zone admin key; it stops authenticating as soon as the local directory includes the revocation. */
  async revokeAdminKey(zoneId: string, keyId: string, actor: Actor) {
    this.requireZone(zoneId);
    const existing = this.deps.models.directory.getAdminKey(keyId);
    // Another zone's key is reported exactly like an unknown one.
    if (!existing || existing.zone_id !== zoneId) throw new DomainError('admin_key_not_found', 'admin key not found');
    const out = await handleCommand(this.deps.store, streams.zone(zoneId), zoneDecider, { type: 'RevokeAdminKey', zone_id: zoneId, key_id: keyId, revoked_at: this.time() }, { metadata: this.meta(actor) });
    await this.settle(out.position);
    return this.deps.models.directory.getAdminKey(keyId)!;
  }

  /** Stop trusting an issuer of subject tokens. */
  async removeTrustedIssuer(zoneId: string, issuerId: string, actor: Actor) {
    this.requireZone(zoneId);
    const existing = this.deps.models.directory.getIssuer(issuerId);
    if (!existing || existing.zone_id !== zoneId) throw new DomainError('issuer_not_found', 'trusted issuer not found');
    const out = await handleCommand(this.deps.store, streams.zone(zoneId), zoneDecider, { type: 'RemoveTrustedIssuer', zone_id: zoneId, issuer_id: issuerId, removed_at: this.time() }, { metadata: this.meta(actor) });
    await this.settle(out.position);
    return { issuer_id: issuerId, status: 'removed' as const };
  }

  async registerApplication(zoneId: string, input: { name: string }, actor: Actor) {
    this.requireZone(zoneId);
    const application_id = newId('app');
    const client_secret = generateSecret();
    const secret_salt = generateSalt();
    const registered_at = this.time();
    const out = await handleCommand(
      this.deps.store,
      streams.application(application_id),
      applicationDecider,
      { type: 'RegisterApplication', zone_id: zoneId, application_id, name: input.name, secret_salt, secret_hash: hashSecret(client_secret, secret_salt), registered_at },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    return { application_id, zone_id: zoneId, name: input.name, client_secret, registered_at };
  }

  async registerResource(zoneId: string, input: { identifier: string; scopes: string[]; upstream_url?: string | null }, actor: Actor) {
    this.requireZone(zoneId);
    // The identifier's uniqueness is checked against the read model, so two concurrent registrations of one
    // identifier are serialized here until the first is visible (on this instance; see the note on `serialize`).
    return this.serialize(`resource\u0000${zoneId}\u0000${input.identifier}`, () => this.registerResourceNow(zoneId, input, actor));
  }

  private async registerResourceNow(zoneId: string, input: { identifier: string; scopes: string[]; upstream_url?: string | null }, actor: Actor) {
    const resource_id = newId('res');
    const registered_at = this.time();
    const conflicting = this.deps.models.directory.findResourceByIdentifier(zoneId, input.identifier);
    const out = await handleCommand(
      this.deps.store,
      streams.resource(resource_id),
      resourceDecider,
      {
        type: 'RegisterResource',
        zone_id: zoneId,
        resource_id,
        identifier: input.identifier,
        scopes: input.scopes,
        upstream_url: input.upstream_url ?? null,
        registered_at,
        conflicting_resource_id: conflicting?.resource_id ?? null,
      },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    return this.deps.models.directory.getResource(resource_id)!;
  }

  async issueGrant(zoneId: string, input: { application_id: string; resource_id: string; scopes: string[]; user_id?: string | null }, actor: Actor) {
    this.requireZone(zoneId);
    const app = this.deps.models.directory.getApplication(input.application_id);
    const res = this.deps.models.directory.getResource(input.resource_id);
    const grant_id = newId('grt');
    const out = await handleCommand(
      this.deps.store,
      streams.grant(grant_id),
      grantDecider,
      {
        type: 'IssueGrant',
        zone_id: zoneId,
        grant_id,
        application_id: input.application_id,
        resource_id: input.resource_id,
        scopes: input.scopes,
        user_id: input.user_id ?? null,
        issued_at: this.time(),
        application: app ? { zone_id: app.zone_id } : null,
        resource: res ? { zone_id: res.zone_id, scopes: res.scopes } : null,
      },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    return this.deps.models.grants.get(grant_id)!;
  }

  async revokeGrant(zoneId: string, grantId: string, actor: Actor) {
    this.requireZone(zoneId);
    const existing = this.deps.models.grants.get(grantId);
    // Another zone's grant is reported exactly like an unknown one.
    if (!existing || existing.zone_id !== zoneId) throw new DomainError('grant_not_found', 'grant not found');
    const out = await handleCommand(this.deps.store, streams.grant(grantId), grantDecider, { type: 'RevokeGrant', zone_id: zoneId, grant_id: grantId, revoked_at: this.time() }, { metadata: this.meta(actor) });
    await this.settle(out.position);
    return this.deps.models.grants.get(grantId)!;
  }

  /** Create a policy-set version from Rego modules (compiled by the opa CLI) or an uploaded OPA bundle. */
  async createPolicyVersion(zoneId: string, input: { modules: Record<string, string>; data?: unknown } | { bundle: Uint8Array }, actor: Actor) {
    this.requireZone(zoneId);
    const prepared = 'bundle' in input ? await this.deps.policySource.fromBundle(input.bundle) : await this.deps.policySource.fromRego(input.modules, input.data);
    const created_at = this.time();
    const out = await handleCommand(
      this.deps.store,
      streams.policySet(zoneId),
      policySetDecider,
      { type: 'CreatePolicyVersion', zone_id: zoneId, digest: prepared.digest, bundle_base64: prepared.bundleBase64, entrypoints: prepared.entrypoints, origin: prepared.origin, created_at },
      { metadata: this.meta(actor) },
    );
    await this.settle(out.position);
    const created = out.events.find((e) => e.type === 'PolicyVersionCreated');
    if (!created || created.type !== 'PolicyVersionCreated') throw new Error('policy version was not created');
    return { version: created.data.version, digest: created.data.digest, entrypoints: created.data.entrypoints, created_at };
  }

  async activatePolicyVersion(zoneId: string, version: number, actor: Actor) {
    this.requireZone(zoneId);
    const out = await handleCommand(this.deps.store, streams.policySet(zoneId), policySetDecider, { type: 'ActivatePolicyVersion', zone_id: zoneId, version, activated_at: this.time() }, { metadata: this.meta(actor) });
    await this.settle(out.position);
    const activated = out.events.find((e) => e.type === 'PolicyVersionActivated');
    if (!activated || activated.type !== 'PolicyVersionActivated') throw new Error('policy version was not activated');
    return { active_version: activated.data.version, previous_version: activated.data.previous_version };
  }

  async revokeSession(zoneId: string, sessionId: string, reason: string | null, actor: Actor) {
    this.requireZone(zoneId);
    const session = this.deps.models.sessions.get(sessionId);
    if (!session || session.zone_id !== zoneId) throw new DomainError('session_not_found', 'session not found');
    const out = await handleCommand(this.deps.store, streams.session(sessionId), sessionDecider, { type: 'RevokeSession', zone_id: zoneId, session_id: sessionId, reason, revoked_at: this.time() }, { metadata: this.meta(actor) });
    await this.deps.onSessionRevoked?.(sessionId);
    await this.settle(out.position);
    return { session_id: sessionId, status: 'revoked' as const };
  }
}

/** Trusted issuers publish public keys only: a private or symmetric key in a JWKS is a configuration mistake we refuse. */
async function assertPublicJwks(jwks: { keys: Record<string, unknown>[] }): Promise<void> {
  for (const [i, key] of jwks.keys.entries()) {
    if (key.kty === 'oct' || 'd' in key || 'k' in key) {
      throw new ApiError(400, 'invalid_jwks', `jwks.keys[${i}] is not a public asymmetric key`, { index: i });
    }
    try {
      await importJWK(key as Parameters<typeof importJWK>[0], typeof key.alg === 'string' ? key.alg : defaultAlg(key));
    } catch {
      throw new ApiError(400, 'invalid_jwks', `jwks.keys[${i}] is not a valid JWK`, { index: i });
    }
  }
}

/** jose needs an algorithm to import a key that does not name one; pick the usual one for its type. */
function defaultAlg(key: Record<string, unknown>): string {
  if (key.kty === 'RSA') return 'RS256';
  if (key.kty === 'OKP') return 'EdDSA';
  if (key.kty === 'EC') return key.crv === 'P-384' ? 'ES384' : key.crv === 'P-521' ? 'ES512' : 'ES256';
  return 'unsupported';
}
