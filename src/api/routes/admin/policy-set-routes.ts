import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { PolicyInputSchema, type PolicyInput } from '../../../policy/policy-engine.js';
import { actorOf, requireAdmin, zoneGuard } from '../../plugins/admin-auth.js';
import {
  Activated,
  CreatePolicyVersionBody,
  PolicyModulesBody,
  PolicySet,
  PolicyVersionCreated,
  PolicyVersionParams,
  SimulateBody,
  SimulateResult,
} from '../../schemas/admin.js';
import { errors, ZoneParams } from '../../schemas/common.js';
import { ApiError } from '../../api-error.js';
import type { AdminRouteOptions } from './admin-routes.js';

/**
 * Policy sets: immutable, content-addressed versions (Rego compiled here, or an uploaded OPA bundle), one of
 * them active. Simulate evaluates a version without recording anything.
 */
export async function policySetRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: policy sets'];
  const security = [{ adminKey: [] }];

  r.get(
    '/v1/zones/:zone_id/policy-sets',
    {
      onRequest: zoneGuard,
      schema: { tags, security, summary: 'The zone\'s policy-set versions and the active one', params: ZoneParams, response: { 200: PolicySet, ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const set = writ.models.policySets.get(request.params.zone_id);
      return {
        active_version: set?.active_version ?? null,
        versions: (set?.versions ?? []).map((v) => ({
          version: v.version,
          digest: v.digest,
          origin: v.origin,
          entrypoints: [...v.entrypoints],
          created_at: v.created_at,
          activated_at: v.activated_at,
        })),
      };
    },
  );

  r.post(
    '/v1/zones/:zone_id/policy-sets/versions/:version/activate',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Make a version the active one (rolling back is activating an older version)',
        params: PolicyVersionParams,
        response: { 200: Activated, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => writ.admin.activatePolicyVersion(request.params.zone_id, request.params.version, actorOf(request, requireAdmin(request))),
  );

  r.post(
    '/v1/zones/:zone_id/policy-sets/versions/:version/simulate',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Evaluate a version against an input, or against the recorded input of a past decision; records nothing',
        description: '`request_id`: the redaction-safe input of that decision (claims are `{}`); 404 `request_not_found` when this zone recorded none.',
        params: PolicyVersionParams,
        body: SimulateBody,
        response: { 200: SimulateResult, ...errors(400, 401, 403, 404, 413, 415, 422) },
      },
    },
    async (request) => {
      const { zone_id: zoneId, version } = request.params;
      if (!writ.models.policySets.getVersion(zoneId, version)) {
        throw new ApiError(404, 'policy_version_not_found', `policy-set version ${version} not found`, { version });
      }
      let input: PolicyInput;
      if (request.body.request_id !== undefined) {
        input = await writ.audit.reconstructInput(zoneId, request.body.request_id);
      } else {
        const parsed = PolicyInputSchema.safeParse(request.body.input);
        if (!parsed.success) {
          throw new ApiError(400, 'invalid_request', 'input is not a policy input document (API.md, Policy decision contract)', {
            issues: parsed.error.issues.map((i) => ({ path: ['body', 'input', ...i.path].join('.'), message: i.message })),
          });
        }
        input = parsed.data;
      }
      const result = await writ.policies.evaluate(zoneId, version, input);
      return { version, decision: result.decision, scopes: result.scopes, determining_policies: result.determining_policies, diagnostics: result.diagnostics };
    },
  );
}

/**
 * `POST /v1/zones/{zone_id}/policy-sets/versions`, in a context of its own: it is the one admin route that also
 * accepts raw bundle bytes (application/gzip), so no other route parses them.
 */
export async function policyVersionUploadRoutes(app: FastifyInstance, { writ }: AdminRouteOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin: policy sets'];
  const security = [{ adminKey: [] }];

  r.post(
    '/v1/zones/:zone_id/policy-sets/versions',
    {
      onRequest: zoneGuard,
      schema: {
        tags,
        security,
        summary: 'Create a version from Rego source (JSON) or an OPA bundle (application/gzip); it is not activated',
        description:
          '422 `invalid_policy` (`details.errors: [{file, row, message}]`) when the Rego does not compile or calls a refused built-in; ' +
          '422 `invalid_bundle` (`details.reason`) for a bundle writ cannot run; 409 `policy_version_exists` for content already recorded; ' +
          '501 `compiler_unavailable` when Rego is sent to a server without the opa CLI.',
        params: ZoneParams,
        body: CreatePolicyVersionBody,
        response: { 201: PolicyVersionCreated, ...errors(400, 401, 403, 404, 409, 413, 415, 422, 501) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const input = Buffer.isBuffer(body) ? { bundle: new Uint8Array(body) } : PolicyModulesBody.parse(body);
      const created = await writ.admin.createPolicyVersion(request.params.zone_id, input, actorOf(request, requireAdmin(request)));
      return reply.status(201).send(created);
    },
  );
}
