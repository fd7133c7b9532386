import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Writ } from '../../../app/writ.js';
import { EXPORT_CONTENT_TYPE } from '../../../audit/export.js';
import { zoneGuard } from '../../plugins/admin-auth.js';
import { errors, ZoneParams } from '../../schemas/common.js';
import { adminBodies } from '../admin/admin-bodies.js';
import {
  DecisionListQuerySchema,
  DecisionListSchema,
  ExplanationSchema,
  ExportQuery,
  ReplayBody,
  ReplayResultSchema,
  RequestParams,
  StateQuery,
  TraceSchema,
  ZoneStateSchema,
} from './audit-schemas.js';

/** Default page size of the JSON decision list. */
const DEFAULT_LIMIT = 100;

/** Send text chunks as a streamed body (backpressure from the socket pauses the generator). */
function stream(reply: FastifyReply, contentType: string, filename: string, chunks: AsyncIterable<string>): FastifyReply {
  reply.type(contentType);
  reply.header('content-disposition', `attachment; filename="${filename}"`);
  reply.header('cache-control', 'no-store');
  return reply.send(Readable.from(chunks, { objectMode: false }));
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/**
 * The audit API (API.md, Audit): trace, list, explain, replay, export, state as of. Every route needs an admin
 * key for the zone (`zoneGuard`, before anything is read); a decision of another zone is `request_not_found`.
 */
export async function auditRoutes(app: FastifyInstance, { writ }: { writ: Writ }): Promise<void> {
  await app.register(async (child) => {
    adminBodies(child, { bundles: false });
    await routes(child, writ);
  });
}

async function routes(app: FastifyInstance, writ: Writ): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['audit'];
  const security = [{ adminKey: [] }];

  r.get(
    '/v1/zones/:zone_id/audit/decisions',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'List recorded decisions',
        description: 'Filters narrow; `order=desc` lists newest first. `format=csv` streams every match (header row first; `limit` caps the rows).',
        params: ZoneParams,
        querystring: DecisionListQuerySchema,
        response: { 200: DecisionListSchema.describe('JSON page (CSV when format=csv)'), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const zoneId = request.params.zone_id;
      const { format, limit, order, ...filter } = request.query;
      if (format === 'csv') {
        // Validate the cursor and times now: once streaming, an error can only cut the body short.
        writ.audit.listDecisions(zoneId, { ...filter, limit: 1 });
        return stream(reply, 'text/csv; charset=utf-8', `writ-decisions-${zoneId}-${stamp()}.csv`, writ.audit.decisionsCsv(zoneId, filter, limit ?? Number.POSITIVE_INFINITY));
      }
      return writ.audit.listDecisions(zoneId, { ...filter, limit: limit ?? DEFAULT_LIMIT, order });
    },
  );

  r.get(
    '/v1/zones/:zone_id/audit/decisions/:request_id',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'The trace of one decision, by request ID',
        description: '404 `request_not_found` when this zone recorded no decision under this request ID.',
        params: RequestParams,
        response: { 200: TraceSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => writ.audit.trace(request.params.zone_id, request.params.request_id),
  );

  r.get(
    '/v1/zones/:zone_id/audit/decisions/:request_id/explain',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Explain a decision as things stood when it was taken',
        description:
          'Rebuilds the policy input from the ledger as of the decision\'s ledger position (only the streams that fed it), compares its digest with the recorded one and re-evaluates it with the recorded policy-set version. `policy_input` never holds claims.',
        params: RequestParams,
        response: { 200: ExplanationSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => writ.audit.explain(request.params.zone_id, request.params.request_id),
  );

  r.post(
    '/v1/zones/:zone_id/audit/replay',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Replay recorded decisions: integrity check, or impact of a candidate version',
        description:
          'Without `candidate_version`, every decision in range is re-evaluated with its recorded version: any mismatch is an integrity alarm. With it, the counts say how many decisions would flip. 404 `policy_version_not_found`.',
        params: ZoneParams,
        body: ReplayBody,
        response: { 200: ReplayResultSchema, ...errors(400, 401, 403, 404, 415) },
      },
    },
    async (request) => {
      const b = request.body ?? {};
      return writ.audit.replay(request.params.zone_id, {
        since: b.since,
        until: b.until,
        candidate_version: b.candidate_version,
        ...(b.max_items !== undefined ? { maxItems: b.max_items } : {}),
      });
    },
  );

  r.get(
    '/v1/zones/:zone_id/audit/export',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Tamper-evident export of decisions (streamed NDJSON or CSV)',
        description:
          'Every record carries `seq` (1..n), `prev_hash` (64 zeros first) and `hash` = sha256 of the canonical JSON of the record without `hash`; a final `export_end` record (count, last_hash) is chained too. Check with `writ audit verify <file>`.',
        params: ZoneParams,
        querystring: ExportQuery,
        response: errors(400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const zoneId = request.params.zone_id;
      const { format, since, until } = request.query;
      const chunks = writ.audit.export(zoneId, { format, since, until });
      return stream(reply, EXPORT_CONTENT_TYPE[format], `writ-audit-${zoneId}-${stamp()}.${format}`, chunks);
    },
  );

  r.get(
    '/v1/zones/:zone_id/state',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'The zone as of a time or a ledger position',
        description: 'The fold of the events up to the position (a time means the last position recorded at or before it).',
        params: ZoneParams,
        querystring: StateQuery,
        response: { 200: ZoneStateSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => writ.audit.stateAsOf(request.params.zone_id, request.query.as_of ?? String(await writ.store.headPosition())),
  );
}
