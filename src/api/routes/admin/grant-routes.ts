import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { GrantView } from '../../../projections/grants-model.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import { CreateGrantBody, Grant, GrantParams, GrantQuery } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Grants: an application may request these scopes of a resource (for one user, or any). */
export async function grantRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: grants'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones/:zone_id/grants',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Issue a grant',
        description: '404 `application_not_found` / `resource_not_found`; 400 `grant_scopes_exceed_resource`, `invalid_scope`.',
        params: ZoneParams,
        body: CreateGrantBody,
        response: { 201: Grant, ...errors(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const grant = await writ.admin.issueGrant(
        request.params.zone_id,
        { application_id: b.application_id, resource_id: b.resource_id, scopes: b.scopes, user_id: b.user_id ?? null },
        actorOf(request, requireAdmin(request)),
      );
      return reply.status(201).send(grantView(grant));
    },
  );

  r.get(
    '/v1/zones/:zone_id/grants',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'List grants',
        params: ZoneParams,
        querystring: Paging.extend(GrantQuery.shape),
        response: { 200: listOf(Grant), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const result = page(writ.models.grants.list(request.params.zone_id, filter), (g) => g.grant_id, { limit, cursor });
      return { items: result.items.map(grantView), next_cursor: result.next_cursor };
    },
  );

  r.get(
    '/v1/zones/:zone_id/grants/:grant_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'One grant', params: GrantParams, response: { 200: Grant, ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const g = writ.models.grants.get(request.params.grant_id);
      if (!g || g.zone_id !== request.params.zone_id) throw new ApiError(404, 'grant_not_found', 'grant not found');
      return grantView(g);
    },
  );

  r.delete(
    '/v1/zones/:zone_id/grants/:grant_id',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Revoke a grant',
        description: 'Revoking twice: 409 `grant_already_revoked`.',
        params: GrantParams,
        response: { 200: Grant, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => grantView(await writ.admin.revokeGrant(request.params.zone_id, request.params.grant_id, actorOf(request, requireAdmin(request)))),
  );
}

function grantView(g: GrantView) {
  return {
    grant_id: g.grant_id,
    zone_id: g.zone_id,
    application_id: g.application_id,
    resource_id: g.resource_id,
    scopes: [...g.scopes],
    user_id: g.user_id,
    status: g.status,
    issued_at: g.issued_at,
    revoked_at: g.revoked_at,
  };
}
