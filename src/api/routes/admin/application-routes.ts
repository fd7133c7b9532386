import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApplicationView } from '../../../projections/directory-model.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import { Application, ApplicationCreated, ApplicationParams, CreateApplicationBody } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Client applications: the client secret is shown once, at registration; reads never show secrets or hashes. */
export async function applicationRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: applications'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones/:zone_id/applications',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Register an application; its client_secret is shown once',
        params: ZoneParams,
        body: CreateApplicationBody,
        response: { 201: ApplicationCreated, ...errors(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const created = await writ.admin.registerApplication(request.params.zone_id, { name: request.body.name }, actorOf(request, requireAdmin(request)));
      return reply.status(201).send(created);
    },
  );

  r.get(
    '/v1/zones/:zone_id/applications',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'List applications', params: ZoneParams, querystring: Paging, response: { 200: listOf(Application), ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const result = page(writ.models.directory.listApplications(request.params.zone_id), (a) => a.application_id, request.query);
      return { items: result.items.map(applicationView), next_cursor: result.next_cursor };
    },
  );

  r.get(
    '/v1/zones/:zone_id/applications/:application_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'One application', params: ApplicationParams, response: { 200: Application, ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const a = writ.models.directory.getApplication(request.params.application_id);
      if (!a || a.zone_id !== request.params.zone_id) throw new ApiError(404, 'application_not_found', 'application not found');
      return applicationView(a);
    },
  );
}

function applicationView(a: ApplicationView) {
  return { application_id: a.application_id, zone_id: a.zone_id, name: a.name, registered_at: a.registered_at };
}
