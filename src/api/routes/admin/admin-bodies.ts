import type { FastifyInstance } from 'fastify';

const BUNDLE_TYPES = ['application/gzip', 'application/x-gzip', 'application/octet-stream'];

/**
 * Content types the admin API accepts: JSON, plus raw bundles where `bundles` is set. Anything else (text,
 * forms) is 415 `unsupported_media_type` rather than a body some route half-understands. A JSON content type
 * with an empty body counts as no body, so `DELETE`/`POST .../activate` from clients that always send the
 * header still work; routes that need a body then answer 400 with the validation issue.
 */
export function adminBodies(app: FastifyInstance, opts: { bundles: boolean }): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  if (app.hasContentTypeParser('application/x-www-form-urlencoded')) app.removeContentTypeParser('application/x-www-form-urlencoded');
  if (!opts.bundles) {
    for (const t of BUNDLE_TYPES) if (app.hasContentTypeParser(t)) app.removeContentTypeParser(t);
  }
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    json(request, text, done);
  });
}
