import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SessionView } from '../../../projections/sessions-model.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import { RevokeSessionBody, Session, SessionParams, SessionQuery, SessionRevoked } from '../../schemas/admin.js';
import { errors, listOf, page, Paging, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/** Sessions opened by token exchanges: list, read, revoke (every mandate of a revoked session stops working). */
export async function sessionRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: sessions'];
  const security = [{ adminKey: [] }];

  r.get(
    '/v1/zones/:zone_id/sessions',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'List sessions',
        params: ZoneParams,
        querystring: Paging.extend(SessionQuery.shape),
        response: { 200: listOf(Session), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const result = page(writ.models.sessions.list(request.params.zone_id, filter), (s) => s.session_id, { limit, cursor });
      return { items: result.items.map(sessionView), next_cursor: result.next_cursor };
    },
  );

  r.get(
    '/v1/zones/:zone_id/sessions/:session_id',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'One session', params: SessionParams, response: { 200: Session, ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const s = writ.models.sessions.get(request.params.session_id);
      if (!s || s.zone_id !== request.params.zone_id) throw new ApiError(404, 'session_not_found', 'session not found');
      return sessionView(s);
    },
  );

  r.post(
    '/v1/zones/:zone_id/sessions/:session_id/revoke',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Revoke a session (idempotent)',
        params: SessionParams,
        body: RevokeSessionBody,
        response: { 200: SessionRevoked, ...errors(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request) =>
      writ.admin.revokeSession(request.params.zone_id, request.params.session_id, request.body?.reason ?? null, actorOf(request, requireAdmin(request))),
  );
}

function sessionView(s: SessionView) {
  return {
    session_id: s.session_id,
    zone_id: s.zone_id,
    application_id: s.application_id,
    subject: s.subject_id,
    subject_type: s.subject_type,
    status: s.status,
    started_at: s.started_at,
    revoked_at: s.revoked_at,
    reason: s.reason,
  };
}
