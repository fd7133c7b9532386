import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Writ } from '../../../app/writ.js';
import { ErrorBody } from '../../schemas/common.js';

/** Options of {@link stsRoutes}. */
export interface StsRouteOptions {
  writ: Pick<Writ, 'sts'>;
}

const tags = ['sts'];
const clientAuth: Array<Record<string, string[]>> = [{ clientBasic: [] }, {}];

const optionalParam = (description: string) => z.string().optional().describe(description);

/** RFC 8693 §2.1 token-exchange request (form-encoded). Unknown parameters are ignored (RFC 6749 §3.2). */
const TokenForm = z.object({
  grant_type: optionalParam('urn:ietf:params:oauth:grant-type:token-exchange'),
  subject_token: optionalParam('JWT from a trusted issuer of the client\'s zone'),
  subject_token_type: optionalParam('urn:ietf:params:oauth:token-type:jwt or urn:ietf:params:oauth:token-type:access_token'),
  actor_token: optionalParam('optional JWT of the party acting for the subject (delegation)'),
  actor_token_type: optionalParam('required with actor_token'),
  // Repeated resources are parsed as a list so the STS can answer invalid_target rather than a schema error.
  resource: z.union([z.string(), z.array(z.string())]).optional().describe('resource identifier, e.g. resource://payments'),
  audience: optionalParam('optional; must equal resource when given'),
  scope: optionalParam('space-separated scopes'),
  requested_token_type: optionalParam('optional; writ issues urn:ietf:params:oauth:token-type:jwt'),
  session_id: optionalParam('continue an existing session of this client and subject'),
  client_id: optionalParam('client_secret_post authentication'),
  client_secret: optionalParam('client_secret_post authentication'),
});

const TokenResponse = z.object({
  access_token: z.string(),
  issued_token_type: z.literal('urn:ietf:params:oauth:token-type:jwt'),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string(),
  session_id: z.string(),
  request_id: z.string(),
});

/** RFC 7662 / RFC 7009 request: the token, an optional hint, and optionally client_secret_post credentials. */
const TokenForm7662 = z.object({
  token: optionalParam('the mandate'),
  token_type_hint: optionalParam('ignored: writ issues one token type'),
  client_id: optionalParam('client_secret_post authentication'),
  client_secret: optionalParam('client_secret_post authentication'),
});

const IntrospectionResponse = z.object({
  active: z.boolean(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  sub: z.string().optional(),
  aud: z.string().optional(),
  exp: z.number().int().optional(),
  iat: z.number().int().optional(),
  jti: z.string().optional(),
  sid: z.string().optional(),
  zone_id: z.string().optional(),
  token_type: z.literal('Bearer').optional(),
  iss: z.string().optional(),
  act: z.object({ sub: z.string() }).optional(),
});

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

const Metadata = z.record(z.string(), z.unknown()).describe('RFC 8414 authorization server metadata');

const err = (description: string) => ErrorBody.describe(description);

/**
 * The STS over HTTP (API.md, "STS"): RFC 8693 token exchange, RFC 7662 introspection, RFC 7009 revocation,
 * the mandate JWKS and RFC 8414 metadata. Routes only translate HTTP to `writ.sts`; OAuth errors are ApiErrors
 * rendered by the common error handler as `{error, error_description, request_id, details}`.
 */
export async function stsRoutes(app: FastifyInstance, { writ }: StsRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  // OAuth endpoints take application/x-www-form-urlencoded only (RFC 6749 §3.2): anything else is 415.
  for (const type of ['application/json', 'text/plain']) if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);

  // RFC 6749 §5.1: token responses (and errors) must not be cached; the same holds for introspection answers.
  const noStore = async (_request: FastifyRequest, reply: { header(k: string, v: string): unknown }) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
  };

  r.post(
    '/v1/sts/token',
    {
      onRequest: noStore,
      schema: {
        tags,
        security: clientAuth,
        summary: 'Token exchange (RFC 8693)',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenForm,
        response: {
          200: TokenResponse,
          400: err('invalid_request, unsupported_grant_type, invalid_target or invalid_scope'),
          401: err('invalid_client, or invalid_token with details.reason'),
          403: err('access_denied with details.diagnostics (the decision is recorded)'),
          409: err('duplicate_request_id: this X-Request-ID already has a decision'),
          415: err('unsupported_media_type: use application/x-www-form-urlencoded'),
          429: err('rate_limited with Retry-After and details.category'),
          503: err('temporarily_unavailable: nothing was recorded or issued'),
        },
      },
    },
    async (request) =>
      writ.sts.exchange({ requestId: request.id, authorization: request.headers.authorization, body: (request.body ?? {}) as Record<string, unknown> }),
  );

  r.post(
    '/v1/sts/introspect',
    {
      onRequest: noStore,
      schema: {
        tags,
        security: clientAuth,
        summary: 'Mandate introspection (RFC 7662)',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenForm7662,
        response: {
          200: IntrospectionResponse,
          400: err('invalid_request'),
          401: err('invalid_client'),
          415: err('unsupported_media_type'),
        },
      },
    },
    async (request) =>
      writ.sts.introspect({ requestId: request.id, authorization: request.headers.authorization, body: (request.body ?? {}) as Record<string, unknown> }),
  );

  r.post(
    '/v1/sts/revoke',
    {
      onRequest: noStore,
      schema: {
        tags,
        security: clientAuth,
        summary: 'Mandate revocation (RFC 7009): revokes the mandate\'s session',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenForm7662,
        response: {
          200: z.void().describe('revoked, or the token was invalid or not this client\'s (RFC 7009 §2.2)'),
          400: err('invalid_request'),
          401: err('invalid_client'),
          415: err('unsupported_media_type'),
          503: err('temporarily_unavailable: not revoked, retry'),
        },
      },
    },
    async (request, reply) => {
      await writ.sts.revoke({ requestId: request.id, authorization: request.headers.authorization, body: (request.body ?? {}) as Record<string, unknown> });
      // RFC 7009 §2.2: 200, and the body is ignored: send none.
      return reply.code(200).send();
    },
  );

  r.get(
    '/.well-known/jwks.json',
    { schema: { tags, summary: 'Public keys of mandate signatures (RFC 7517)', response: { 200: Jwks } } },
    async (_request, reply) => {
      // Short: a rotation must reach resource servers well within a mandate's lifetime.
      reply.header('cache-control', 'public, max-age=60');
      return writ.sts.jwks() as z.infer<typeof Jwks>;
    },
  );

  r.get(
    '/.well-known/oauth-authorization-server',
    { schema: { tags, summary: 'Authorization server metadata (RFC 8414)', response: { 200: Metadata } } },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return writ.sts.metadata() as unknown as Record<string, unknown>;
    },
  );
}
