import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { Writ } from '../../../app/writ.js';

// Read once at start: the page is static, self-contained (no external assets) and small.
const PAGE = readFileSync(new URL('../../../console/console.html', import.meta.url), 'utf8');

/** GET /console: the request-trace page. It calls the audit API with the admin key the user pastes. */
export async function consoleRoutes(app: FastifyInstance, _opts: { writ: Writ }): Promise<void> {
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => {
    return reply
      .type('text/html; charset=utf-8')
      // The page runs only its own inline script and talks only to this origin.
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(PAGE);
  });
}
