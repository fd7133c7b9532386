import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { IssuerView } from '../../../projections/directory-model.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import { CreateIssuerBody, Issuer, IssuerCreated, IssuerParams, IssuerRemoved } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Trusted issuers of subject tokens: add, list, read, remove (replacing an issuer's keys is remove + add). */
export async function issuerRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: issuers'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones/:zone_id/issuers',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Trust an issuer of subject tokens (public JWKS only)',
        params: ZoneParams,
        body: CreateIssuerBody,
        response: { 201: IssuerCreated, ...errors(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const created = await writ.admin.addTrustedIssuer(request.params.zone_id, { issuer: b.issuer, jwks: b.jwks, audience: b.audience ?? null }, actorOf(request, requireAdmin(request)));
      return reply.status(201).send(created);
    },
  );

  r.get(
    '/v1/zones/:zone_id/issuers',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'List trusted issuers', params: ZoneParams, querystring: Paging, response: { 200: listOf(Issuer), ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const result = page(writ.models.directory.listIssuers(request.params.zone_id), (i) => i.issuer_id, request.query);
      return { items: result.items.map(issuerView), next_cursor: result.next_cursor };
    },
  );

  r.get(
    '/v1/zones/:zone_id/issuers/:issuer_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'One trusted issuer', params: IssuerParams, response: { 200: Issuer, ...errors(400, 401, 403, 404) } },
    },
    async (request) => issuerView(findIssuer(writ.models.directory.getIssuer(request.params.issuer_id), request.params.zone_id)),
  );

  r.delete(
    '/v1/zones/:zone_id/issuers/:issuer_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'Stop trusting an issuer', params: IssuerParams, response: { 200: IssuerRemoved, ...errors(400, 401, 403, 404) } },
    },
    async (request) => writ.admin.removeTrustedIssuer(request.params.zone_id, request.params.issuer_id, actorOf(request, requireAdmin(request))),
  );
}

function findIssuer(issuer: IssuerView | undefined, zoneId: string): IssuerView {
  if (!issuer || issuer.zone_id !== zoneId) throw new ApiError(404, 'issuer_not_found', 'trusted issuer not found');
  return issuer;
}

function issuerView(i: IssuerView) {
  return { issuer_id: i.issuer_id, zone_id: i.zone_id, issuer: i.issuer, audience: i.audience, jwks: { keys: i.jwks.keys.map((k) => ({ ...k })) }, added_at: i.added_at };
}
