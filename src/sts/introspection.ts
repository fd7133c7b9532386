import { requireClient } from './client-authentication.js';
import { verifyMandate } from './mandate.js';
import { invalidRequest } from './oauth-errors.js';
import type { RevocationBus } from './revocation-bus.js';
import type { SigningKeys } from './signing-keys.js';
import type { StsProjectionRunner, StsReadModels } from './sts-ports.js';
import { formParam } from './token-endpoint.js';

/**
 * Token introspection (RFC 7662), `POST /v1/sts/introspect`, client authentication required. A mandate is
 * active when it carries our signature and issuer, has not expired, belongs to the calling client's zone
 * (a client never learns anything about another zone's mandates), its `jti` is a recorded decision's
 * mandate, and its session is not revoked (read model, or the revocation bus which is faster).
 */

/** An introspection request as the HTTP layer hands it over. */
export interface ClientRequest {
  requestId: string;
  authorization: string | undefined;
  body: Readonly<Record<string, unknown>>;
}

export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      aud: string;
      exp: number;
      iat: number;
      jti: string;
      sid: string;
      zone_id: string;
      token_type: 'Bearer';
      iss: string;
      act?: { sub: string };
    };

export interface IntrospectionDeps {
  issuer: string;
  models: StsReadModels;
  runner: StsProjectionRunner;
  headPosition: () => Promise<bigint>;
  keys: SigningKeys;
  revocations: RevocationBus;
  now: () => Date;
}

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

export async function introspect(deps: IntrospectionDeps, req: ClientRequest): Promise<IntrospectionResponse> {
  const client = requireClient(deps.models.directory, req.authorization, req.body);
  const token = formParam(req.body, 'token');
  if (token === undefined) throw invalidRequest('token is required', { missing: ['token'] });
  // token_type_hint is optional and only a hint (RFC 7662 §2.1): writ has one token type, so it is ignored.

  const verified = await verifyMandate(deps.keys, token, deps.issuer, deps.now());
  if (!verified.ok) return INACTIVE;
  const claims = verified.claims;
  if (claims.zone_id !== client.zoneId) return INACTIVE;
  if (deps.revocations.isRevoked(claims.sid)) return INACTIVE;

  let decision = deps.models.decisions.byJti(claims.jti);
  let session = deps.models.sessions.get(claims.sid);
  if (!decision || !session) {
    // Issued a moment ago (possibly by another instance): the read models may not have projected it yet.
    await catchUp(deps);
    decision = deps.models.decisions.byJti(claims.jti);
    session = deps.models.sessions.get(claims.sid);
  }
  if (!decision || decision.zone_id !== claims.zone_id || decision.session_id !== claims.sid) return INACTIVE;
  if (!session || session.status !== 'active' || deps.revocations.isRevoked(claims.sid)) return INACTIVE;

  return {
    active: true,
    scope: claims.scope,
    client_id: claims.client_id,
    sub: claims.sub,
    aud: claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    sid: claims.sid,
    zone_id: claims.zone_id,
    token_type: 'Bearer',
    iss: claims.iss,
    ...(claims.act ? { act: claims.act } : {}),
  };
}

async function catchUp(deps: IntrospectionDeps): Promise<void> {
  try {
    await deps.runner.waitFor(await deps.headPosition(), 1000);
  } catch {
    // Answer from what the read models hold: at worst "inactive", never a false "active".
  }
}
