import type { FastifyInstance } from 'fastify';
import type { Writ } from '../../../app/writ.js';
import { whoamiRoutes } from './whoami-routes.js';
import { zoneRoutes } from './zone-routes.js';
import { adminKeyRoutes } from './admin-key-routes.js';
import { issuerRoutes } from './issuer-routes.js';
import { applicationRoutes } from './application-routes.js';
import { resourceRoutes } from './resource-routes.js';
import { grantRoutes } from './grant-routes.js';
import { policySetRoutes, policyVersionUploadRoutes } from './policy-set-routes.js';
import { sessionRoutes } from './session-routes.js';
import { adminBodies } from './admin-bodies.js';

/** Options every admin area receives. */
export interface AdminRouteOptions {
  writ: Writ;
}

/**
 * The admin API (API.md, Admin): one file per area. Every route authenticates in `onRequest`, before its body
 * is read; zone routes also check there that the key may address the zone (see admin-auth.ts).
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions): Promise<void> {
  // Each area is its own encapsulation context, so its accepted content types are its own.
  const jsonOnly = async (child: FastifyInstance, area: (a: FastifyInstance, o: AdminRouteOptions) => Promise<void>) => {
    adminBodies(child, { bundles: false });
    await area(child, opts);
  };
  for (const area of [whoamiRoutes, zoneRoutes, adminKeyRoutes, issuerRoutes, applicationRoutes, resourceRoutes, grantRoutes, policySetRoutes, sessionRoutes]) {
    await app.register(async (child) => jsonOnly(child, area));
  }
  // Policy-set versions may also be uploaded as raw OPA bundles.
  await app.register(async (child) => {
    adminBodies(child, { bundles: true });
    await policyVersionUploadRoutes(child, opts);
  });
}
