import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AdminKeyView } from '../../../projections/directory-model.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import { AdminKey, AdminKeyCreated, AdminKeyParams, CreateAdminKeyBody } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Zone admin keys (`<key_id>.<secret>`): the token is shown once, at creation. */
export async function adminKeyRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: admin keys'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones/:zone_id/admin-keys',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Issue an admin key for this zone; the token is shown once',
        params: ZoneParams,
        body: CreateAdminKeyBody,
        response: { 201: AdminKeyCreated, ...errors(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const created = await writ.admin.issueAdminKey(request.params.zone_id, { name: request.body.name }, actorOf(request, requireAdmin(request)));
      return reply.status(201).send(created);
    },
  );

  r.get(
    '/v1/zones/:zone_id/admin-keys',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'List the zone\'s admin keys (never their secrets)', params: ZoneParams, querystring: Paging, response: { 200: listOf(AdminKey), ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const result = page(writ.models.directory.listAdminKeys(request.params.zone_id), (k) => k.key_id, request.query);
      return { items: result.items.map(keyView), next_cursor: result.next_cursor };
    },
  );

  r.delete(
    '/v1/zones/:zone_id/admin-keys/:key_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'Revoke an admin key', params: AdminKeyParams, response: { 200: AdminKey, ...errors(400, 401, 403, 404, 409) } },
    },
    async (request) => {
      const { zone_id, key_id } = request.params;
      const key = writ.models.directory.getAdminKey(key_id);
      if (!key || key.zone_id !== zone_id) throw new ApiError(404, 'admin_key_not_found', 'admin key not found');
      return keyView(await writ.admin.revokeAdminKey(zone_id, key_id, actorOf(request, requireAdmin(request))));
    },
  );
}

function keyView(k: AdminKeyView) {
  return { key_id: k.key_id, zone_id: k.zone_id, name: k.name, status: k.status, issued_at: k.issued_at, revoked_at: k.revoked_at };
}
