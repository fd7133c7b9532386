import { PolicyInputSchema } from '../../../policy/policy-engine.js';
import { z } from 'zod';
import { REQUEST_ID } from '../../../domain/validation.js';
import { PathId } from '../../schemas/common.js';

/** Schemas of the audit API (API.md, Audit). Response schemas name every field: anything else is stripped. */

const Rfc3339 = z
  .string()
  .max(64)
  .refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), 'expected an RFC 3339 time')
  .describe('RFC 3339 time');

export const RequestParams = z.object({
  zone_id: PathId,
  request_id: z.string().regex(REQUEST_ID, 'not a request ID').describe('the X-Request-ID of the exchange'),
});

export const DecisionListQuerySchema = z.object({
  since: Rfc3339.optional().describe('occurred_at at or after (inclusive)'),
  until: Rfc3339.optional().describe('occurred_at before (exclusive)'),
  decision: z.enum(['allow', 'deny']).optional(),
  application_id: PathId.optional(),
  subject: z.string().min(1).max(512).optional().describe('subject id'),
  resource: z.string().min(1).max(2000).optional().describe('resource identifier (resource://...) or resource id'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('page size, default 100 (JSON); with format=csv, rows at most (default: all)'),
  cursor: z.string().min(1).max(512).optional().describe('opaque: next_cursor of the previous page'),
  order: z.enum(['asc', 'desc']).default('asc').describe('asc: oldest first; desc: newest first'),
  format: z.enum(['json', 'csv']).default('json').describe('csv streams every match with a header row'),
});

const Diagnostic = z.object({ reason: z.string(), message: z.string().optional(), scope: z.string().optional() });
const Mandate = z.object({ jti: z.string(), exp: z.string() });

export const DecisionListItemSchema = z.object({
  request_id: z.string(),
  occurred_at: z.string(),
  decision: z.enum(['allow', 'deny']),
  application_id: z.string(),
  subject: z.string().describe('subject id'),
  session_id: z.string().nullable(),
  resource: z.string().describe('resource identifier'),
  resource_id: z.string().nullable(),
  requested_scopes: z.array(z.string()),
  granted_scopes: z.array(z.string()),
  policy_set_version: z.number().int().nullable(),
  mandate: Mandate.nullable(),
  position: z.string().describe('ledger position of the decision'),
});

export const DecisionListSchema = z.object({ items: z.array(DecisionListItemSchema), next_cursor: z.string().nullable() });

export const TraceSchema = z.object({
  request_id: z.string(),
  zone_id: z.string(),
  occurred_at: z.string(),
  recorded_at: z.string(),
  decision: z.enum(['allow', 'deny']),
  application_id: z.string(),
  session_id: z.string().nullable(),
  session_opened: z.boolean(),
  subject: z.string().describe('subject id (claims are never recorded)'),
  subject_type: z.enum(['user', 'application']),
  actor_id: z.string().nullable(),
  resource: z.string().describe('resource identifier'),
  resource_id: z.string().nullable(),
  requested_scopes: z.array(z.string()),
  granted_scopes: z.array(z.string()),
  policy_set_version: z.number().int().nullable(),
  policy_set_digest: z.string().nullable(),
  determining_policies: z.array(z.string()),
  diagnostics: z.array(Diagnostic),
  grant_ids: z.array(z.string()),
  input_digest: z.string().nullable(),
  mandate: Mandate.optional(),
  position: z.string().describe('ledger position of the decision'),
  ledger_position: z.string().describe('ledger position the read models stood at when it was decided'),
});

// The policy input document has one schema, the policy port's.
export { PolicyInputSchema };

export const ExplanationSchema = z.object({
  request_id: z.string(),
  final_decision: z.enum(['allow', 'deny']),
  occurred_at: z.string(),
  as_of: z.object({ position: z.string(), time: z.string().nullable() }),
  policy_set_version: z.number().int().nullable(),
  policy_set_digest: z.string().nullable(),
  policy_input: PolicyInputSchema.nullable().describe('rebuilt from the ledger as of as_of.position; claims are {}'),
  input_digest_matches: z.boolean(),
  recorded_input_digest: z.string().nullable(),
  rebuilt_input_digest: z.string().nullable(),
  reevaluation: z.object({
    decision: z.enum(['allow', 'deny']).nullable(),
    scopes: z.array(z.string()),
    determining_policies: z.array(z.string()),
    diagnostics: z.array(Diagnostic),
    matches_recorded: z.boolean().nullable(),
  }),
  denied: z.array(z.object({ policy_input: PolicyInputSchema.nullable(), determining_policies: z.array(z.string()), diagnostics: z.array(Diagnostic) })),
  requested_scopes: z.array(z.string()),
  granted_scopes: z.array(z.string()),
  missing_facts: z.array(z.string()),
  streams_read: z.array(z.string()),
});

export const ReplayBody = z
  .object({
    since: Rfc3339.optional(),
    until: Rfc3339.optional(),
    candidate_version: z.number().int().positive().optional().describe('omit to re-evaluate with the recorded versions (integrity check)'),
    max_items: z.number().int().min(0).max(10_000).optional().describe('items listed at most (default 1000)'),
  })
  .strict()
  .nullish()
  .describe('optional: no body replays everything with the recorded versions');

const Outcome = z.object({
  decision: z.enum(['allow', 'deny']),
  scopes: z.array(z.string()),
  determining_policies: z.array(z.string()),
  diagnostics: z.array(Diagnostic),
  policy_set_version: z.number().int().nullable(),
});

export const ReplayResultSchema = z.object({
  candidate_version: z.number().int().nullable(),
  since: z.string().nullable(),
  until: z.string().nullable(),
  evaluated: z.number().int(),
  matches_recorded: z.number().int(),
  mismatches: z.number().int(),
  flipped_to_allow: z.number().int(),
  flipped_to_deny: z.number().int(),
  items: z.array(
    z.object({
      request_id: z.string(),
      occurred_at: z.string(),
      kind: z.enum(['flipped_to_allow', 'flipped_to_deny', 'scopes_changed', 'input_digest_mismatch', 'input_not_reconstructible', 'policy_unavailable']),
      recorded: z.object({ decision: z.enum(['allow', 'deny']), granted_scopes: z.array(z.string()), policy_set_version: z.number().int().nullable() }),
      replayed: Outcome.nullable(),
      input_digest_matches: z.boolean(),
    }),
  ),
  items_truncated: z.boolean(),
});

export const ExportQuery = z.object({
  since: Rfc3339.optional().describe('occurred_at at or after (inclusive)'),
  until: Rfc3339.optional().describe('occurred_at before (exclusive)'),
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
});

export const StateQuery = z.object({
  as_of: z.string().min(1).max(64).optional().describe('a ledger position (decimal) or an RFC 3339 time; default: now'),
});

export const ZoneStateSchema = z.object({
  zone_id: z.string(),
  as_of: z.object({ position: z.string(), time: z.string().nullable() }),
  zone: z.object({ name: z.string(), created_at: z.string() }).nullable(),
  applications: z.array(z.object({ application_id: z.string(), name: z.string(), registered_at: z.string() })),
  resources: z.array(
    z.object({ resource_id: z.string(), identifier: z.string(), scopes: z.array(z.string()), upstream_url: z.string().nullable(), registered_at: z.string() }),
  ),
  grants: z.array(
    z.object({
      grant_id: z.string(),
      application_id: z.string(),
      resource_id: z.string(),
      scopes: z.array(z.string()),
      user_id: z.string().nullable(),
      status: z.enum(['active', 'revoked']),
      issued_at: z.string(),
      revoked_at: z.string().nullable(),
    }),
  ),
  sessions: z.array(
    z.object({
      session_id: z.string(),
      application_id: z.string(),
      subject_id: z.string(),
      subject_type: z.enum(['user', 'application']),
      status: z.enum(['active', 'revoked']),
      started_at: z.string(),
      revoked_at: z.string().nullable(),
      reason: z.string().nullable(),
    }),
  ),
  active_policy_version: z.number().int().nullable(),
  policy_versions: z.array(
    z.object({ version: z.number().int(), digest: z.string(), origin: z.enum(['builtin', 'rego', 'bundle']), created_at: z.string(), activated_at: z.string().nullable() }),
  ),
});
