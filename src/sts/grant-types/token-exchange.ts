import { randomUUID } from 'node:crypto';
import { ApiError } from '../../api/api-error.js';
import { newId } from '../../crypto/ids.js';
import { buildPolicyInput, policyInputDigest } from '../../decision/policy-input.js';
import type { Diagnostic } from '../../domain/events.js';
import { checkSessionContinuation, type SessionState } from '../../domain/session/index.js';
import { isResourceIdentifier, isScope } from '../../domain/validation.js';
import type { PolicyInput } from '../../policy/policy-engine.js';
import type { AuthenticatedClient } from '../client-authentication.js';
import type { DecisionRecorder } from '../decision-recorder.js';
import { signMandate, type MandateClaims } from '../mandate.js';
import { accessDenied, duplicateRequestId, invalidRequest, invalidScope, invalidTarget, temporarilyUnavailable } from '../oauth-errors.js';
import type { RequestIdGuard } from '../request-id-guard.js';
import type { RevocationBus } from '../revocation-bus.js';
import { decideExchange } from '../../decision/decide-exchange.js';
import type { SigningKeys } from '../signing-keys.js';
import type { StsGrant, StsPolicies, StsProjectionRunner, StsReadModels, StsResource } from '../sts-ports.js';
import type { SubjectTokenVerifier, VerifiedSubject } from '../subject-token-verifier.js';
import { formParam, runChecks, type Check, type GrantTypeHandler, type TokenRequest, type TokenResponse } from '../token-endpoint.js';

/**
 * RFC 8693 token exchange: a client trades a subject token (a JWT from a trusted issuer of its zone) for a
 * mandate on one resource. The grant type is the ordered list {@link TOKEN_EXCHANGE_CHECKS}, then
 * record-before-issue:
 *
 *   required_parameters -> subject_token_type -> subject_token -> actor_token -> resource -> scope ->
 *   session -> request_id -> grants -> policy (with scope clamp) -> record -> issue
 *
 * Everything up to `request_id` refuses malformed or unauthenticated requests without recording them. From
 * `session` on, the outcome is a decision: allowed or denied, it is recorded in the ledger before answering.
 *
 * Sessions: without `session_id` the exchange proposes a new session (fresh id). The policy input then holds
 * `{id: <new id>, status: 'active', started_at: <decision time>}`; an allow appends SessionStarted with that
 * time and records `session_opened: true`; a deny opens nothing and records the proposed id with
 * `session_opened: false`. Either way the session did not exist at `ledger_position`, which is how explain
 * recognises a proposed session. With `session_id`, the session must be this client's and this subject's
 * (else 400 `invalid_request`, same answer for unknown and foreign sessions); a revoked one is a recorded
 * deny with diagnostic `session_revoked`, decided by writ before any policy runs.
 */

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const ACCEPTED_TOKEN_TYPES = new Set([TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN]);
export { NO_POLICY_SET, SESSION_REVOKED_POLICY } from '../../decision/decide-exchange.js';
const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_SCOPES = 200;

export interface TokenExchangeDeps {
  config: { issuer: string; mandateTtlSeconds: number };
  models: StsReadModels;
  runner: StsProjectionRunner;
  /** Ledger head, to catch the read models up when something was just written elsewhere. */
  headPosition: () => Promise<bigint>;
  policies: StsPolicies;
  verifier: SubjectTokenVerifier;
  recorder: DecisionRecorder;
  keys: SigningKeys;
  revocations: RevocationBus;
  requestIds: RequestIdGuard;
  now: () => Date;
}

/** Everything the checks establish, in the order they establish it. */
export interface ExchangeContext {
  readonly request: TokenRequest;
  readonly client: AuthenticatedClient;
  readonly deps: TokenExchangeDeps;
  /** Decision time: policy `context.time`, `occurred_at`, `iat`. */
  time: Date;
  params: {
    subjectToken: string;
    subjectTokenType: string;
    actorToken?: string;
    resource: string;
    scope?: string;
    sessionId?: string;
  };
  subject?: VerifiedSubject;
  actor?: VerifiedSubject;
  resource?: StsResource;
  requestedScopes?: string[];
  session?: { id: string; status: 'active' | 'revoked'; started_at: string; isNew: boolean };
  /** Read-model position the decision is taken at (recorded as ledger_position). */
  ledgerPosition?: bigint;
  requestIdClaimed?: boolean;
  grants?: StsGrant[];
  policySet?: { version: number; digest: string } | null;
  input?: PolicyInput;
  outcome?: { decision: 'allow' | 'deny'; scopes: string[]; determiningPolicies: string[]; diagnostics: Diagnostic[] };
}

/** RFC 8693 §2.1 parameters; `resource` must be exactly one `resource://` identifier. */
function requiredParameters(ctx: ExchangeContext): void {
  const body = ctx.request.body;
  if (Array.isArray(body.resource)) throw invalidTarget('exactly one resource per exchange');
  const subjectToken = formParam(body, 'subject_token');
  const subjectTokenType = formParam(body, 'subject_token_type');
  const resource = formParam(body, 'resource');
  const missing = [
    ...(subjectToken === undefined ? ['subject_token'] : []),
    ...(subjectTokenType === undefined ? ['subject_token_type'] : []),
    ...(resource === undefined ? ['resource'] : []),
  ];
  if (missing.length > 0) throw invalidRequest(`missing required parameter(s): ${missing.join(', ')}`, { missing });
  const actorToken = formParam(body, 'actor_token');
  const actorTokenType = formParam(body, 'actor_token_type');
  if (actorToken !== undefined && actorTokenType === undefined) {
    throw invalidRequest('actor_token_type is required with actor_token', { missing: ['actor_token_type'] });
  }
  if (actorToken === undefined && actorTokenType !== undefined) throw invalidRequest('actor_token_type without actor_token');
  if (actorTokenType !== undefined && !ACCEPTED_TOKEN_TYPES.has(actorTokenType)) {
    throw invalidRequest('unsupported actor_token_type', { parameter: 'actor_token_type' });
  }
  const requestedTokenType = formParam(body, 'requested_token_type');
  if (requestedTokenType !== undefined && !ACCEPTED_TOKEN_TYPES.has(requestedTokenType)) {
    throw invalidRequest('unsupported requested_token_type; writ issues urn:ietf:params:oauth:token-type:jwt', {
      parameter: 'requested_token_type',
    });
  }
  const audience = formParam(body, 'audience');
  if (audience !== undefined && audience !== resource) throw invalidTarget('audience, when given, must equal resource');
  const sessionId = formParam(body, 'session_id');
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) throw invalidRequest('malformed session_id', { parameter: 'session_id' });
  const scope = formParam(body, 'scope');
  ctx.params = {
    subjectToken: subjectToken!,
    subjectTokenType: subjectTokenType!,
    resource: resource!,
    ...(actorToken !== undefined ? { actorToken } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(sessionId !== undefined ? { sessionId } : {}),
  };
}

function subjectTokenType(ctx: ExchangeContext): void {
  if (!ACCEPTED_TOKEN_TYPES.has(ctx.params.subjectTokenType)) {
    throw invalidRequest('unsupported subject_token_type; use urn:ietf:params:oauth:token-type:jwt or :access_token', {
      parameter: 'subject_token_type',
    });
  }
}

async function subjectToken(ctx: ExchangeContext): Promise<void> {
  ctx.subject = await ctx.deps.verifier.verify(ctx.client.zoneId, ctx.params.subjectToken, 'subject_token');
}

async function actorToken(ctx: ExchangeContext): Promise<void> {
  if (ctx.params.actorToken === undefined) return;
  ctx.actor = await ctx.deps.verifier.verify(ctx.client.zoneId, ctx.params.actorToken, 'actor_token');
}

/** The resource must be a registered resource of the client's own zone (another zone's is "unknown"). */
function resource(ctx: ExchangeContext): void {
  const identifier = ctx.params.resource;
  if (!isResourceIdentifier(identifier)) throw invalidTarget('resource must be a resource:// identifier');
  const found = ctx.deps.models.directory.findResourceByIdentifier(ctx.client.zoneId, identifier);
  if (!found || found.zone_id !== ctx.client.zoneId) throw invalidTarget('unknown resource');
  ctx.resource = found;
}

function scope(ctx: ExchangeContext): void {
  const raw = ctx.params.scope;
  if (raw === undefined || raw.trim() === '') throw invalidScope('scope is required: one or more space-separated scopes');
  const scopes = raw.split(' ').filter((s) => s.length > 0);
  const bad = scopes.filter((s) => !isScope(s));
  if (bad.length > 0) throw invalidScope('malformed scope(s)', [...new Set(bad)].slice(0, 20));
  const unique = [...new Set(scopes)];
  if (unique.length > MAX_SCOPES) throw invalidScope(`at most ${MAX_SCOPES} scopes per exchange`);
  ctx.requestedScopes = unique;
}

/**
 * From here on the read models are read without awaiting in between (session, request id, grants, policy
 * version), so the decision sees one consistent state, at `ledgerPosition`.
 */
async function session(ctx: ExchangeContext): Promise<void> {
  const { deps, client, subject } = ctx;
  const sessionId = ctx.params.sessionId;
  if (sessionId === undefined) {
    ctx.ledgerPosition = deps.runner.position;
    ctx.session = { id: newId('ses'), status: 'active', started_at: ctx.time.toISOString(), isNew: true };
    return;
  }
  let view = deps.models.sessions.get(sessionId);
  // Just started on another instance, or just revoked (the bus is faster than the projections): catch the
  // read models up to the ledger head so the recorded state (and explain's rebuild of it) shows the same.
  if (!view || (view.status === 'active' && deps.revocations.isRevoked(sessionId))) {
    await catchUp(deps);
    view = deps.models.sessions.get(sessionId);
  }
  ctx.ledgerPosition = deps.runner.position;
  const state: SessionState = view
    ? view.status === 'revoked'
      ? { ...view, status: 'revoked', revoked_at: view.revoked_at ?? '', reason: view.reason }
      : { ...view, status: 'active' }
    : { status: 'none' };
  const continuation = checkSessionContinuation(state, {
    zone_id: client.zoneId,
    application_id: client.applicationId,
    subject_id: subject!.id,
  });
  if (continuation === 'session_not_found' || continuation === 'session_mismatch') {
    // One answer for both: a caller learns nothing about sessions that are not its own.
    throw invalidRequest('session_id is not a session of this client and subject', { reason: 'session_not_found' });
  }
  const revoked = continuation === 'session_revoked' || deps.revocations.isRevoked(sessionId);
  ctx.session = { id: sessionId, status: revoked ? 'revoked' : 'active', started_at: view!.started_at, isNew: false };
}

function requestId(ctx: ExchangeContext): void {
  if (!ctx.deps.requestIds.claim(ctx.request.requestId)) throw duplicateRequestId(ctx.request.requestId);
  ctx.requestIdClaimed = true;
}

function grants(ctx: ExchangeContext): void {
  const userId = ctx.subject!.type === 'user' ? ctx.subject!.id : null;
  ctx.grants = ctx.deps.models.grants.activeFor(ctx.client.zoneId, ctx.client.applicationId, ctx.resource!.resource_id, userId);
}

async function policy(ctx: ExchangeContext): Promise<void> {
  const { deps, client } = ctx;
  ctx.policySet = deps.models.policySets.activeVersion(client.zoneId) ?? null;
  ctx.input = buildPolicyInput({
    zoneId: client.zoneId,
    requestId: ctx.request.requestId,
    application: { id: client.applicationId, name: client.name },
    subject: { id: ctx.subject!.id, type: ctx.subject!.type, claims: ctx.subject!.claims as Record<string, unknown> },
    actor: ctx.actor ? { id: ctx.actor.id, claims: ctx.actor.claims as Record<string, unknown> } : null,
    resource: { id: ctx.resource!.resource_id, identifier: ctx.resource!.identifier, scopes: ctx.resource!.scopes },
    requestedScopes: ctx.requestedScopes!,
    grants: ctx.grants!,
    session: { id: ctx.session!.id, status: ctx.session!.status, started_at: ctx.session!.started_at },
    time: ctx.time.toISOString(),
  });

  try {
    const o = await decideExchange(deps.policies, client.zoneId, ctx.policySet?.version ?? null, ctx.input);
    ctx.outcome = { decision: o.decision, scopes: o.scopes, determiningPolicies: o.determining_policies, diagnostics: o.diagnostics };
  } catch (err) {
    // No policy could be consulted (version unreadable, ledger down): not a decision, nothing recorded.
    throw temporarilyUnavailable(`policy version ${ctx.policySet?.version} unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The token-exchange checks, in order. */
export const TOKEN_EXCHANGE_CHECKS: readonly Check<ExchangeContext>[] = [
  { name: 'required_parameters', run: requiredParameters },
  { name: 'subject_token_type', run: subjectTokenType },
  { name: 'subject_token', run: subjectToken },
  { name: 'actor_token', run: actorToken },
  { name: 'resource', run: resource },
  { name: 'scope', run: scope },
  { name: 'session', run: session },
  { name: 'request_id', run: requestId },
  { name: 'grants', run: grants },
  // Policy, then the scope clamp (granted never exceeds requested ∩ grants ∩ resource): decideExchange.
  { name: 'policy', run: policy },
];

/** Record the decision, then (allow only) hand out the mandate signed meanwhile. */
async function recordAndIssue(ctx: ExchangeContext): Promise<TokenResponse> {
  const { deps, client } = ctx;
  const o = ctx.outcome!;
  const s = ctx.session!;
  const allowed = o.decision === 'allow';
  const occurredAt = ctx.time.toISOString();
  const iat = Math.floor(ctx.time.getTime() / 1000);
  const exp = iat + deps.config.mandateTtlSeconds;
  // A jti needs uniqueness, not order: a UUID costs one pooled random read, a ULID sixteen.
  const jti = allowed ? `jti_${randomUUID()}` : undefined;

  // Signing runs while the ledger commits; the token is only returned once the append resolved.
  const signing = allowed
    ? signMandate(deps.keys, mandateClaims(ctx, jti!, iat, exp)).catch((err: unknown) => {
        throw new ApiError(500, 'server_error', 'internal error', {}, `mandate signing failed: ${err instanceof Error ? err.message : String(err)}`);
      })
    : undefined;
  // Never left unobserved if the append fails first.
  signing?.catch(() => undefined);

  await deps.recorder.record(
    {
      request_id: ctx.request.requestId,
      zone_id: client.zoneId,
      occurred_at: occurredAt,
      application_id: client.applicationId,
      subject_id: ctx.subject!.id,
      subject_type: ctx.subject!.type,
      actor_id: ctx.actor?.id ?? null,
      session_id: s.id,
      session_opened: allowed && s.isNew,
      resource: { id: ctx.resource!.resource_id, identifier: ctx.resource!.identifier },
      requested_scopes: ctx.requestedScopes!,
      granted_scopes: o.scopes,
      decision: o.decision,
      determining_policies: o.determiningPolicies,
      diagnostics: o.diagnostics,
      policy_set_version: ctx.policySet?.version ?? null,
      policy_set_digest: ctx.policySet?.digest ?? null,
      ledger_position: String(ctx.ledgerPosition!),
      input_digest: policyInputDigest(ctx.input!),
      mandate: allowed ? { jti: jti!, exp: new Date(exp * 1000).toISOString() } : null,
      grants: ctx.grants!.map((g) => ({ grant_id: g.grant_id, scopes: g.scopes })),
      resource_scopes: ctx.resource!.scopes,
    },
    allowed && s.isNew
      ? {
          zone_id: client.zoneId,
          session_id: s.id,
          application_id: client.applicationId,
          subject_id: ctx.subject!.id,
          subject_type: ctx.subject!.type,
          started_at: s.started_at,
        }
      : null,
  );

  if (!allowed) throw accessDenied(o.diagnostics, o.determiningPolicies);
  const accessToken = await signing!;
  return {
    access_token: accessToken,
    issued_token_type: TOKEN_TYPE_JWT,
    token_type: 'Bearer',
    expires_in: exp - iat,
    scope: o.scopes.join(' '),
    session_id: s.id,
    request_id: ctx.request.requestId,
  };
}

function mandateClaims(ctx: ExchangeContext, jti: string, iat: number, exp: number): MandateClaims {
  return {
    iss: ctx.deps.config.issuer,
    sub: ctx.subject!.id,
    aud: ctx.resource!.identifier,
    client_id: ctx.client.applicationId,
    scope: ctx.outcome!.scopes.join(' '),
    jti,
    sid: ctx.session!.id,
    iat,
    exp,
    zone_id: ctx.client.zoneId,
    policy_version: ctx.policySet!.version,
    request_id: ctx.request.requestId,
    ...(ctx.actor ? { act: { sub: ctx.actor.id } } : {}),
  };
}

async function catchUp(deps: TokenExchangeDeps): Promise<void> {
  try {
    await deps.runner.waitFor(await deps.headPosition(), 1000);
  } catch {
    // Best effort: decide on what the read models hold.
  }
}

/** The `urn:ietf:params:oauth:grant-type:token-exchange` handler. */
export class TokenExchangeGrant implements GrantTypeHandler {
  readonly grantType = TOKEN_EXCHANGE_GRANT_TYPE;

  constructor(private readonly deps: TokenExchangeDeps) {}

  async handle(request: TokenRequest, client: AuthenticatedClient): Promise<TokenResponse> {
    const ctx = { request, client, deps: this.deps, time: this.deps.now() } as ExchangeContext;
    try {
      await runChecks(TOKEN_EXCHANGE_CHECKS, ctx);
      return await recordAndIssue(ctx);
    } catch (err) {
      // A request refused before its decision was recorded may be retried with the same id.
      const recordedOrDuplicate = err instanceof ApiError && (err.code === 'access_denied' || err.code === 'duplicate_request_id');
      if (ctx.requestIdClaimed && !recordedOrDuplicate) this.deps.requestIds.release(request.requestId);
      throw err;
    }
  }
}
