import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ResourceView } from '../../../projections/directory-model.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import { CreateResourceBody, Resource, ResourceParams } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Protected resources (`resource://<slug>`) and the scopes they define. */
export async function resourceRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: resources'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones/:zone_id/resources',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Register a resource',
        params: ZoneParams,
        body: CreateResourceBody,
        response: { 201: Resource, ...errors(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const created = await writ.admin.registerResource(
        request.params.zone_id,
        { identifier: b.identifier, scopes: b.scopes, upstream_url: b.upstream_url ?? null },
        actorOf(request, requireAdmin(request)),
      );
      return reply.status(201).send(resourceView(created));
    },
  );

  r.get(
    '/v1/zones/:zone_id/resources',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'List resources', params: ZoneParams, querystring: Paging, response: { 200: listOf(Resource), ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const result = page(writ.models.directory.listResources(request.params.zone_id), (x) => x.resource_id, request.query);
      return { items: result.items.map(resourceView), next_cursor: result.next_cursor };
    },
  );

  r.get(
    '/v1/zones/:zone_id/resources/:resource_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'One resource', params: ResourceParams, response: { 200: Resource, ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const x = writ.models.directory.getResource(request.params.resource_id);
      if (!x || x.zone_id !== request.params.zone_id) throw new ApiError(404, 'resource_not_found', 'resource not found');
      return resourceView(x);
    },
  );
}

function resourceView(x: ResourceView) {
  return { resource_id: x.resource_id, zone_id: x.zone_id, identifier: x.identifier, scopes: [...x.scopes], upstream_url: x.upstream_url, registered_at: x.registered_at };
}
