import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { adminGuard, requireAdmin } from '../../plugins/admin-auth.js';
import { Whoami } from '../../schemas/admin.js';
import { errors } from '../../schemas/common.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** `GET /v1/auth/whoami`: which admin key is calling, and for which zone. */
export async function whoamiRoutes(app: FastifyInstance, _opts: AdminRouteOptions): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/auth/whoami',
    {
      onRequest: adminGuard,
      schema: {
        tags: ['admin'],
        summary: 'The calling admin key',
        security: [{ adminKey: [] }],
        response: { 200: Whoami, ...errors(401) },
      },
    },
    async (request) => {
      const p = requireAdmin(request);
      return p.kind === 'root' ? { key_id: p.key_id, kind: p.kind } : { key_id: p.key_id, kind: p.kind, zone_id: p.zone_id };
    },
  );
}
