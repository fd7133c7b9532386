import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Writ } from '../../../app/writ.js';
import type { ZoneView } from '../../../projections/directory-model.js';
import { actorOf, requireRoot, rootGuard, zoneGuard } from '../../plugins/admin-auth.js';
import { CreateZoneBody, Zone } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Zones: created and listed by the root key only; any key may read its own zone. */
export async function zoneRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: zones'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones',
    {
      onRequest: rootGuard,
      schema: {
        tags,
        security,
        summary: 'Create a zone (root key only); it starts on the built-in default policy (version 1)',
        body: CreateZoneBody,
        response: { 201: Zone, ...errors(400, 401, 403, 413, 415) },
      },
    },
    async (request, reply) => {
      const zone = await writ.admin.createZone({ name: request.body.name }, actorOf(request, requireRoot(request)));
      return reply.status(201).send(zone);
    },
  );

  r.get(
    '/v1/zones',
    {
      onRequest: rootGuard,
      schema: { tags, security, summary: 'List zones (root key only)', querystring: Paging, response: { 200: listOf(Zone), ...errors(400, 401, 403) } },
    },
    async (request) => {
      const result = page(writ.models.directory.listZones(), (z) => z.zone_id, request.query);
      return { items: result.items.map((z) => zoneView(writ, z)), next_cursor: result.next_cursor };
    },
  );

  r.get(
    '/v1/zones/:zone_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'One zone', params: ZoneParams, response: { 200: Zone, ...errors(400, 401, 403, 404) } },
    },
    async (request) => zoneView(writ, writ.admin.requireZone(request.params.zone_id)),
  );
}

function zoneView(writ: Writ, z: ZoneView) {
  return { zone_id: z.zone_id, name: z.name, created_at: z.created_at, active_policy_version: writ.models.policySets.activeVersion(z.zone_id)?.version ?? null };
}
