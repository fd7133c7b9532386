import type { JSONWebKeySet } from 'jose';
import type { EventStore } from '../store/event-store.js';
import { authorizationServerMetadata, type AuthorizationServerMetadata } from './authorization-server-metadata.js';
import { DecisionRecorder } from './decision-recorder.js';
import { TokenExchangeGrant } from './grant-types/token-exchange.js';
import { introspect, type ClientRequest, type IntrospectionResponse } from './introspection.js';
import type { RateLimiter } from './rate-limiter.js';
import { RequestIdGuard } from './request-id-guard.js';
import { revoke } from './revocation.js';
import type { RevocationBus } from './revocation-bus.js';
import type { SigningKeys } from './signing-keys.js';
import type { StsLogger, StsMetrics, StsPolicies, StsProjectionRunner, StsReadModels } from './sts-ports.js';
import { SubjectTokenVerifier } from './subject-token-verifier.js';
import { TokenEndpoint, type TokenRequest, type TokenResponse } from './token-endpoint.js';

/**
 * The security token service: RFC 8693 token exchange, RFC 7662 introspection, RFC 7009 revocation, the
 * JWKS of mandate keys and RFC 8414 metadata. Routes (src/api/routes/sts/) only translate HTTP to these
 * calls; everything the STS decides lives here and in the modules it wires.
 */
export interface Sts {
  /** `POST /v1/sts/token`. Resolves with the token response or throws an ApiError (OAuth error). */
  exchange(req: TokenRequest): Promise<TokenResponse>;
  /** `POST /v1/sts/introspect`. */
  introspect(req: ClientRequest): Promise<IntrospectionResponse>;
  /** `POST /v1/sts/revoke`. Resolves (200) for unknown or invalid tokens too, per RFC 7009. */
  revoke(req: ClientRequest): Promise<void>;
  /** `GET /.well-known/jwks.json`. */
  jwks(): JSONWebKeySet;
  /** `GET /.well-known/oauth-authorization-server`. */
  metadata(): AuthorizationServerMetadata;
  close(): Promise<void>;
}

/** Configuration the STS reads (a subset of WritConfig). */
export interface StsConfig {
  /** `iss` of mandates and base of the endpoint URLs in the metadata. */
  issuer: string;
  /** Lifetime of mandates, seconds (at most 900). */
  mandateTtlSeconds: number;
  rateLimitPerSecond: number;
  dataDir: string;
}

export interface StsDeps {
  config: StsConfig;
  store: EventStore;
  models: StsReadModels;
  runner: StsProjectionRunner;
  policies: StsPolicies;
  keys: SigningKeys;
  revocations: RevocationBus;
  rateLimiter: RateLimiter;
  metrics?: StsMetrics;
  logger?: StsLogger;
  /** Clock (tests). */
  now?: () => Date;
  /** Verified subject tokens kept (default 10,000). */
  tokenCacheSize?: number;
}

export function createSts(deps: StsDeps): Sts {
  const now = deps.now ?? (() => new Date());
  const issuer = deps.config.issuer.replace(/\/$/, '');
  if (!(deps.config.mandateTtlSeconds > 0 && deps.config.mandateTtlSeconds <= 900)) {
    throw new Error(`mandateTtlSeconds must be within (0, 900], got ${deps.config.mandateTtlSeconds}`);
  }
  const headPosition = () => deps.store.headPosition();
  const verifier = new SubjectTokenVerifier(deps.models.directory, { now, ...(deps.tokenCacheSize ? { cacheSize: deps.tokenCacheSize } : {}) });
  const recorder = new DecisionRecorder(deps.store, { ...(deps.metrics ? { metrics: deps.metrics } : {}), ...(deps.logger ? { logger: deps.logger } : {}) });
  const requestIds = new RequestIdGuard((id) => deps.models.decisions.get(id) !== undefined);

  const tokenExchange = new TokenExchangeGrant({
    config: { issuer, mandateTtlSeconds: deps.config.mandateTtlSeconds },
    models: deps.models,
    runner: deps.runner,
    headPosition,
    policies: deps.policies,
    verifier,
    recorder,
    keys: deps.keys,
    revocations: deps.revocations,
    requestIds,
    now,
  });
  const tokenEndpoint = new TokenEndpoint({
    directory: deps.models.directory,
    rateLimiter: deps.rateLimiter,
    grantTypes: [tokenExchange],
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const metadata = Object.freeze(authorizationServerMetadata(issuer));
  const common = { issuer, models: deps.models, runner: deps.runner, keys: deps.keys, revocations: deps.revocations, now };

  return {
    exchange: (req) => tokenEndpoint.handle(req),
    introspect: (req) => introspect({ ...common, headPosition }, req),
    revoke: (req) => revoke({ ...common, store: deps.store, ...(deps.logger ? { logger: deps.logger } : {}) }, req),
    jwks: () => deps.keys.jwks(),
    metadata: () => metadata,
    async close() {
      await deps.keys.close();
      await deps.rateLimiter.close();
    },
  };
}

export type { TokenRequest, TokenResponse } from './token-endpoint.js';
export type { ClientRequest, IntrospectionResponse } from './introspection.js';
export type { AuthorizationServerMetadata } from './authorization-server-metadata.js';
