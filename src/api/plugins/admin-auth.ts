import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Writ } from '../../app/writ.js';
import type { AdminPrincipal, AuthOutcome } from '../../app/admin-authenticator.js';
import type { Actor } from '../../app/admin-service.js';
import { ApiError } from '../api-error.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The runtime the admin guards consult (authenticator and directory). */
    writAdminAuth: Writ;
  }
  interface FastifyRequest {
    /** Cached outcome of authenticating this request's Authorization header; computed on first use. */
    adminAuthOutcome: AuthOutcome | null;
  }
}

/**
 * Admin authentication, shared by the admin and audit routes. The plugin only decorates: nothing is
 * authenticated until a route asks (`requireAdmin`, `requireZoneAccess`, `requireRoot`), so public routes
 * (health, STS, JWKS) never pay for it and never answer 401.
 *
 * Registered with `skip-override` so the decorations apply to the whole app, not only inside this plugin.
 */
export async function adminAuth(app: FastifyInstance, opts: { writ: Writ }): Promise<void> {
  app.decorate('writAdminAuth', opts.writ);
  app.decorateRequest('adminAuthOutcome', null);
}
Object.assign(adminAuth, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'writ-admin-auth' });

const AUTH_TEXT = {
  authentication_required: 'an admin key is required: Authorization: Bearer <admin key>',
  invalid_token: 'the admin key is not valid',
} as const;

/** The caller's admin principal, or 401 (`authentication_required` without a header, `invalid_token` otherwise). */
export function requireAdmin(request: FastifyRequest): AdminPrincipal {
  let outcome = request.adminAuthOutcome;
  if (!outcome) {
    outcome = request.server.writAdminAuth.auth.authenticate(request.headers.authorization);
    request.adminAuthOutcome = outcome;
  }
  if (!outcome.ok) throw new ApiError(401, outcome.code, AUTH_TEXT[outcome.code]);
  return outcome.principal;
}

/** Root-only routes (creating and listing zones): a zone key gets 403 `zone_forbidden`. */
export function requireRoot(request: FastifyRequest): AdminPrincipal {
  const principal = requireAdmin(request);
  if (principal.kind !== 'root') throw forbidden();
  return principal;
}

/**
 * The caller may act on `zoneId`: root may address any zone, a zone key only its own. A zone key asking for
 * another zone gets 403 `zone_forbidden` whether or not that zone exists, so zone ids cannot be probed; only
 * then is a missing zone reported (404 `zone_not_found`).
 */
export function requireZoneAccess(request: FastifyRequest, zoneId: string): AdminPrincipal {
  const principal = requireAdmin(request);
  if (principal.kind === 'zone' && principal.zone_id !== zoneId) throw forbidden();
  if (!request.server.writAdminAuth.models.directory.getZone(zoneId)) throw new ApiError(404, 'zone_not_found', 'zone not found');
  return principal;
}

/** Audit metadata of an admin write: which key, under which request. */
export function actorOf(request: FastifyRequest, principal: AdminPrincipal): Actor {
  return { key_id: principal.key_id, request_id: request.id };
}

function forbidden(): ApiError {
  return new ApiError(403, 'zone_forbidden', 'this admin key may not act on this zone');
}

/**
 * Route-level `onRequest` guards. They run before the body is parsed or validated, so an unauthenticated or
 * foreign caller is refused (401/403) without writ reading its payload, and always gets the same answer
 * whatever the payload holds.
 */
export async function adminGuard(request: FastifyRequest): Promise<void> {
  requireAdmin(request);
}

export async function rootGuard(request: FastifyRequest): Promise<void> {
  requireRoot(request);
}

/** Guard of every `/v1/zones/:zone_id/...` route (params are already split, unvalidated, at onRequest). */
export async function zoneGuard(request: FastifyRequest): Promise<void> {
  const zoneId = (request.params as { zone_id?: unknown } | undefined)?.zone_id;
  requireZoneAccess(request, typeof zoneId === 'string' ? zoneId : '');
}
