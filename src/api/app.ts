import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Writ } from '../app/writ.js';
import { registerErrorHandler, sendError } from './plugins/error-handler.js';
import { ApiError } from './api-error.js';
import { requestIdFor } from './plugins/request-id.js';
import { adminAuth } from './plugins/admin-auth.js';
import { observability } from './plugins/observability.js';
import { healthRoutes } from './routes/health/health-routes.js';
import { adminRoutes } from './routes/admin/admin-routes.js';
import { stsRoutes } from './routes/sts/sts-routes.js';
import { auditRoutes } from './routes/audit/audit-routes.js';
import { consoleRoutes } from './routes/console/console-routes.js';

/** Largest accepted body: policy bundles are the biggest legitimate payloads. */
export const BODY_LIMIT = 10 * 1024 * 1024;

export interface BuildAppOptions {
  /** pino options or false; tests pass false. */
  logger?: boolean | Record<string, unknown>;
}

/**
 * The HTTP application as a plain Fastify instance, without listening: tests drive it through
 * `app.inject`, `server.ts` listens. Everything it serves comes from the `writ` runtime passed in.
 */
export async function buildApp(writ: Writ, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: requestIdFor,
    bodyLimit: BODY_LIMIT,
    // Behind a proxy the client address is only used for rate-limit categories; trust nothing by default.
    trustProxy: false,
    // Request IDs may be 128 characters and appear in audit paths; the router's default cap is 100.
    routerOptions: { maxParamLength: 256 },
    // Errors raised before routing (bad percent-escapes, over-long params) get writ's error shape and
    // X-Request-ID like every other response.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      const status = (error as { statusCode?: number }).statusCode;
      const apiError = status === 414 ? new ApiError(414, 'uri_too_long', 'request path too long') : new ApiError(400, 'invalid_request', 'malformed request URL');
      void sendError(reply, request, apiError);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Bundles are uploaded as raw gzip; parse them as bytes.
  app.addContentTypeParser(['application/gzip', 'application/x-gzip', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(formbody);

  await app.register(swagger, {
    openapi: {
      info: { title: 'writ', version: '0.1.0', description: 'Event-sourced authorization ledger and RFC 8693 token-exchange STS' },
      components: { securitySchemes: { adminKey: { type: 'http', scheme: 'bearer' }, clientBasic: { type: 'http', scheme: 'basic' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(observability, { writ });
  await app.register(adminAuth, { writ });
  await app.register(healthRoutes, { writ });
  await app.register(adminRoutes, { writ });
  await app.register(stsRoutes, { writ });
  await app.register(auditRoutes, { writ });
  await app.register(consoleRoutes, { writ });
  await app.ready();
  return app;
}
