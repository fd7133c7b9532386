import type { FastifyInstance } from 'fastify';
import type { Writ } from '../../app/writ.js';

/** Route label of requests no route matched: raw URLs are caller-controlled and must not become label values. */
const UNMATCHED = 'unmatched';

/**
 * Request metrics for every route (`writ_http_requests_total{method,route,status}` and a latency histogram).
 *
 * This plugin deliberately logs nothing: request bodies carry client secrets, subject tokens and claims, and
 * headers carry admin keys. Fastify's own request log prints method, URL and status only, and server.ts redacts
 * `authorization`, `cookie` and `req.body` should anything else ever log a request.
 *
 * Registered with `skip-override` so its hooks see every route of the app, not only routes inside it.
 */
export async function observability(app: FastifyInstance, opts: { writ: Writ }): Promise<void> {
  const metrics = opts.writ.metrics;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED;
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.observeHttpRequest(method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
}
Object.assign(observability, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'writ-observability' });

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
