import { handleCommand } from '../app/command-handler.js';
import { DomainError } from '../domain/domain-error.js';
import { sessionDecider } from '../domain/session/index.js';
import { streams } from '../domain/streams.js';
import type { EventStore } from '../store/event-store.js';
import { requireClient } from './client-authentication.js';
import type { ClientRequest } from './introspection.js';
import { verifyMandateSignature } from './mandate.js';
import { invalidRequest, temporarilyUnavailable } from './oauth-errors.js';
import type { RevocationBus } from './revocation-bus.js';
import type { SigningKeys } from './signing-keys.js';
import type { StsLogger, StsProjectionRunner, StsReadModels } from './sts-ports.js';
import { formParam } from './token-endpoint.js';

/**
 * Token revocation (RFC 7009), `POST /v1/sts/revoke`, client authentication required. Revoking a mandate
 * revokes its session (SessionRevoked through the session decider), which ends every mandate of that session
 * at once; the revocation is then published on the bus so every instance stops honouring it immediately.
 *
 * Per RFC 7009 §2.2 the answer is 200 whether or not the token was valid, known, or already revoked: a
 * client cannot probe tokens with it. Only mandates issued to the calling client are acted on (§2.1: the
 * server verifies the token was issued to the client making the request). Expired mandates still revoke
 * their session: a session outlives the mandates issued in it.
 */

export interface RevocationDeps {
  issuer: string;
  store: EventStore;
  models: StsReadModels;
  runner: StsProjectionRunner;
  keys: SigningKeys;
  revocations: RevocationBus;
  now: () => Date;
  logger?: StsLogger;
}

/** Reason recorded on SessionRevoked events made by this endpoint. */
export const RFC7009_REASON = 'revoked by the client (RFC 7009)';

export async function revoke(deps: RevocationDeps, req: ClientRequest): Promise<void> {
  const client = requireClient(deps.models.directory, req.authorization, req.body);
  const token = formParam(req.body, 'token');
  if (token === undefined) throw invalidRequest('token is required', { missing: ['token'] });

  const claims = await verifyMandateSignature(deps.keys, token, deps.issuer);
  if (!claims || claims.zone_id !== client.zoneId || claims.client_id !== client.applicationId) return;

  let position: bigint | undefined;
  try {
    const outcome = await handleCommand(
      deps.store,
      streams.session(claims.sid),
      sessionDecider,
      { type: 'RevokeSession', zone_id: claims.zone_id, session_id: claims.sid, reason: RFC7009_REASON, revoked_at: deps.now().toISOString() },
      { metadata: { request_id: req.requestId, client_id: client.applicationId } },
    );
    position = outcome.position;
  } catch (err) {
    if (err instanceof DomainError && err.code === 'session_not_found') return;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    deps.logger?.error({ request_id: req.requestId, err: detail }, 'session revocation failed');
    // Not revoked: the client must know to retry (RFC 7009 §2.2.1 allows 503).
    throw temporarilyUnavailable(`session revocation failed: ${detail}`);
  }
  await deps.revocations.publish(claims.sid);
  // Read-your-writes on this instance: the sessions read model shows it revoked once we answer.
  if (position !== undefined) await deps.runner.waitFor(position, 5000).catch(() => undefined);
}
