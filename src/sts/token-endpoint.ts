import { ApiError } from '../api/api-error.js';
import { authenticateClient, readClientCredentials, type AuthenticatedClient, type PresentedCredentials } from './client-authentication.js';
import { invalidRequest, rateLimited, unsupportedGrantType } from './oauth-errors.js';
import type { RateLimiter } from './rate-limiter.js';
import type { StsDirectory, StsMetrics } from './sts-ports.js';

/**
 * The token endpoint (`POST /v1/sts/token`) as an ordered list of named checks. The endpoint's own checks
 * apply to every grant type; the grant type's module then runs its checks and issues. Each check either
 * passes (possibly enriching the context) or throws the OAuth error that answers the request, so the order
 * of this list is the order in which a client learns what is wrong.
 */

/** A token request as the HTTP layer hands it over (form fields already parsed). */
export interface TokenRequest {
  /** The HTTP request id: also the decision's id in the ledger. */
  requestId: string;
  authorization: string | undefined;
  body: Readonly<Record<string, unknown>>;
}

/** RFC 8693 §2.2.1 successful response, plus writ's `session_id` and `request_id`. */
export interface TokenResponse {
  access_token: string;
  issued_token_type: 'urn:ietf:params:oauth:token-type:jwt';
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  session_id: string;
  request_id: string;
}

/** One grant type (one module under grant-types/). */
export interface GrantTypeHandler {
  readonly grantType: string;
  /** Runs after the endpoint checks passed: the client is authenticated. */
  handle(request: TokenRequest, client: AuthenticatedClient): Promise<TokenResponse>;
}

/** A named step of an ordered check list. */
export interface Check<C> {
  readonly name: string;
  run(ctx: C): void | Promise<void>;
}

/** Run checks in order; the first to throw answers the request. */
export async function runChecks<C>(checks: readonly Check<C>[], ctx: C): Promise<void> {
  for (const check of checks) {
    const pending = check.run(ctx);
    if (pending) await pending;
  }
}

/**
 * One form parameter. RFC 6749 §3.2: parameters MUST NOT be repeated; an empty value is treated as absent
 * (§3.1). Non-string values (a JSON body sent by mistake) are refused.
 */
export function formParam(body: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === '') return undefined;
  if (Array.isArray(value)) throw invalidRequest(`parameter ${name} is repeated`, { parameter: name });
  if (typeof value !== 'string') throw invalidRequest(`parameter ${name} must be a string`, { parameter: name });
  return value;
}

interface EndpointContext {
  readonly request: TokenRequest;
  credentials?: PresentedCredentials;
  credentialsError?: ApiError;
  handler?: GrantTypeHandler;
  client?: AuthenticatedClient;
}

export interface TokenEndpointDeps {
  directory: StsDirectory;
  rateLimiter: RateLimiter;
  grantTypes: readonly GrantTypeHandler[];
  metrics?: StsMetrics;
}

export class TokenEndpoint {
  private readonly handlers: Map<string, GrantTypeHandler>;
  private readonly checks: readonly Check<EndpointContext>[];

  constructor(private readonly deps: TokenEndpointDeps) {
    this.handlers = new Map(deps.grantTypes.map((g) => [g.grantType, g]));
    this.checks = [
      { name: 'rate_limit', run: (ctx) => this.rateLimit(ctx) },
      { name: 'grant_type', run: (ctx) => this.grantType(ctx) },
      { name: 'client_authentication', run: (ctx) => this.clientAuthentication(ctx) },
    ];
  }

  /** Names of the endpoint checks, in order (documentation and tests). */
  get checkNames(): string[] {
    return this.checks.map((c) => c.name);
  }

  async handle(request: TokenRequest): Promise<TokenResponse> {
    const started = performance.now();
    try {
      const ctx: EndpointContext = { request };
      await runChecks(this.checks, ctx);
      const response = await ctx.handler!.handle(request, ctx.client!);
      this.deps.metrics?.observeExchange('allow', (performance.now() - started) / 1000);
      return response;
    } catch (err) {
      const denied = err instanceof ApiError && err.code === 'access_denied';
      this.deps.metrics?.observeExchange(denied ? 'deny' : 'error', (performance.now() - started) / 1000);
      throw err;
    }
  }

  /**
   * Per presented client id, before authentication, so that guessing secrets is rate limited too. Requests
   * without a readable client id share one bucket.
   */
  private async rateLimit(ctx: EndpointContext): Promise<void> {
    const presented = readClientCredentials(ctx.request.authorization, ctx.request.body);
    if (presented instanceof ApiError) ctx.credentialsError = presented;
    else ctx.credentials = presented;
    const key = ctx.credentials?.clientId ?? '(unauthenticated)';
    const decision = await this.deps.rateLimiter.take(key);
    if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
  }

  private grantType(ctx: EndpointContext): void {
    const grantType = formParam(ctx.request.body, 'grant_type');
    if (grantType === undefined) throw invalidRequest('grant_type is required', { parameter: 'grant_type' });
    const handler = this.handlers.get(grantType);
    if (!handler) throw unsupportedGrantType();
    ctx.handler = handler;
  }

  private clientAuthentication(ctx: EndpointContext): void {
    if (ctx.credentialsError) throw ctx.credentialsError;
    const client = authenticateClient(this.deps.directory, ctx.credentials!);
    if (client instanceof ApiError) throw client;
    ctx.client = client;
  }
}
