import { z } from 'zod';
import { PathId, TimeString } from './common.js';

/**
 * Request and response schemas of the admin API (API.md, Admin). Response schemas name every field a client
 * may see: serialization drops anything else, so secrets, salts and hashes held by read models never leave
 * through a GET even if a handler passed a whole record.
 */

const Name = z.string().trim().min(1).max(200);
/** Ids in bodies follow the same grammar as path ids. */
const BodyId = PathId;

// --- whoami ---------------------------------------------------------------------------------------------

export const Whoami = z.object({
  key_id: z.string(),
  kind: z.enum(['root', 'zone']),
  zone_id: z.string().optional(),
});

// --- zones ----------------------------------------------------------------------------------------------

export const CreateZoneBody = z.strictObject({ name: Name });

export const Zone = z.object({
  zone_id: z.string(),
  name: z.string(),
  created_at: TimeString,
  active_policy_version: z.number().int().nullable(),
});

// --- admin keys -----------------------------------------------------------------------------------------

export const CreateAdminKeyBody = z.strictObject({ name: Name });

/** Shown once: `token` (`<key_id>.<secret>`) is never stored or shown again. */
export const AdminKeyCreated = z.object({
  key_id: z.string(),
  zone_id: z.string(),
  name: z.string(),
  token: z.string().describe('`<key_id>.<secret>`; shown once, store it now'),
});

export const AdminKey = z.object({
  key_id: z.string(),
  zone_id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'revoked']),
  issued_at: TimeString,
  revoked_at: TimeString.nullable(),
});

export const AdminKeyParams = z.object({ zone_id: PathId, key_id: PathId });

// --- issuers --------------------------------------------------------------------------------------------

/** A JWK as published: an object; private members are refused by the service (400 `invalid_jwks`). */
const Jwk = z.record(z.string(), z.unknown());

export const CreateIssuerBody = z.strictObject({
  issuer: z.string().min(1).max(2000).describe('the `iss` value of subject tokens'),
  jwks: z.object({ keys: z.array(Jwk).min(1).max(100) }),
  audience: z.string().min(1).max(2000).nullable().optional().describe('when set, subject tokens must carry it in `aud`'),
});

export const IssuerCreated = z.object({
  issuer_id: z.string(),
  zone_id: z.string(),
  issuer: z.string(),
  audience: z.string().nullable(),
  key_count: z.number().int(),
  added_at: TimeString,
});

export const Issuer = z.object({
  issuer_id: z.string(),
  zone_id: z.string(),
  issuer: z.string(),
  audience: z.string().nullable(),
  jwks: z.object({ keys: z.array(Jwk) }).describe('public keys only'),
  added_at: TimeString,
});

export const IssuerParams = z.object({ zone_id: PathId, issuer_id: PathId });

export const IssuerRemoved = z.object({ issuer_id: z.string(), status: z.literal('removed') });

// --- applications ---------------------------------------------------------------------------------------

export const CreateApplicationBody = z.strictObject({ name: Name });

export const ApplicationCreated = z.object({
  application_id: z.string(),
  zone_id: z.string(),
  name: z.string(),
  client_secret: z.string().describe('shown once, store it now'),
  registered_at: TimeString,
});

export const Application = z.object({
  application_id: z.string(),
  zone_id: z.string(),
  name: z.string(),
  registered_at: TimeString,
});

export const ApplicationParams = z.object({ zone_id: PathId, application_id: PathId });

// --- resources ------------------------------------------------------------------------------------------

/** Grammar checks are the domain's, so clients get the specific codes (`invalid_resource_identifier`, `invalid_scope`). */
export const CreateResourceBody = z.strictObject({
  identifier: z.string().min(1).max(2000).describe('`resource://<slug>`'),
  scopes: z.array(z.string().max(200)).max(200),
  upstream_url: z.url().max(2000).nullable().optional(),
});

export const Resource = z.object({
  resource_id: z.string(),
  zone_id: z.string(),
  identifier: z.string(),
  scopes: z.array(z.string()),
  upstream_url: z.string().nullable(),
  registered_at: TimeString,
});

export const ResourceParams = z.object({ zone_id: PathId, resource_id: PathId });

// --- grants ---------------------------------------------------------------------------------------------

export const CreateGrantBody = z.strictObject({
  application_id: BodyId,
  resource_id: BodyId,
  scopes: z.array(z.string().max(200)).max(200),
  user_id: BodyId.nullable().optional().describe('grant for this user only; omitted: any user of the application'),
});

export const Grant = z.object({
  grant_id: z.string(),
  zone_id: z.string(),
  application_id: z.string(),
  resource_id: z.string(),
  scopes: z.array(z.string()),
  user_id: z.string().nullable(),
  status: z.enum(['active', 'revoked']),
  issued_at: TimeString,
  revoked_at: TimeString.nullable(),
});

export const GrantQuery = z.object({
  application_id: BodyId.optional(),
  resource_id: BodyId.optional(),
  user_id: BodyId.optional(),
  status: z.enum(['active', 'revoked']).optional(),
});

export const GrantParams = z.object({ zone_id: PathId, grant_id: PathId });

// --- policy sets ----------------------------------------------------------------------------------------

/**
 * Rego source: file name -> module text. Sizes are bounded here; file names and the source itself are the
 * compiler's to judge, so every problem in them comes back located as 422 `invalid_policy`.
 */
export const PolicyModulesBody = z.strictObject({
  modules: z
    .record(z.string().min(1).max(200).describe('plain file name ending in .rego'), z.string().max(1024 * 1024))
    .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 100, 'between 1 and 100 modules'),
  data: z.record(z.string(), z.unknown()).optional().describe('base document (`data`) of the bundle'),
});

const BundleBytes = { type: 'string', format: 'binary', description: 'an OPA bundle: `opa build -t wasm -e writ/authz/result` output (Content-Type: application/gzip)' };

/**
 * The body of a version upload is either JSON Rego source or raw bundle bytes (app.ts parses gzip bodies to
 * a Buffer). One schema validates both so that malformed JSON still gets precise issues; the OpenAPI document
 * shows one entry per media type.
 */
export const CreatePolicyVersionBody = z
  .unknown()
  .superRefine((body, ctx) => {
    if (Buffer.isBuffer(body)) return;
    const parsed = PolicyModulesBody.safeParse(body);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path } as Parameters<typeof ctx.addIssue>[0]);
  })
  // @fastify/swagger turns a `content` map on a body schema into one request-body entry per media type.
  .meta({
    content: {
      'application/json': { schema: z.toJSONSchema(PolicyModulesBody, { io: 'input', target: 'openapi-3.0' }) },
      'application/gzip': { schema: BundleBytes },
    },
  });

export const PolicyVersionCreated = z.object({
  version: z.number().int(),
  digest: z.string().describe('sha256 of the bundle'),
  entrypoints: z.array(z.string()),
  created_at: TimeString,
});

export const PolicyVersion = z.object({
  version: z.number().int(),
  digest: z.string(),
  origin: z.enum(['builtin', 'rego', 'bundle']),
  entrypoints: z.array(z.string()),
  created_at: TimeString,
  activated_at: TimeString.nullable().optional().describe('last time this version was made active'),
});

export const PolicySet = z.object({
  active_version: z.number().int().nullable(),
  versions: z.array(PolicyVersion),
});

export const PolicyVersionParams = z.object({ zone_id: PathId, version: z.coerce.number().int().min(1).max(1_000_000_000) });

export const Activated = z.object({ active_version: z.number().int(), previous_version: z.number().int().nullable() });

export const SimulateBody = z
  .strictObject({
    input: z.record(z.string(), z.unknown()).optional().describe('a policy input document (API.md, Policy decision contract)'),
    request_id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional().describe('re-evaluate the recorded input of this decision'),
  })
  .refine((b) => (b.input === undefined) !== (b.request_id === undefined), { message: 'give exactly one of input and request_id' });

const Diagnostic = z.object({ reason: z.string(), message: z.string().optional(), scope: z.string().optional() });

export const SimulateResult = z.object({
  version: z.number().int(),
  decision: z.enum(['allow', 'deny']),
  scopes: z.array(z.string()),
  determining_policies: z.array(z.string()),
  diagnostics: z.array(Diagnostic),
});

// --- sessions -------------------------------------------------------------------------------------------

export const SessionQuery = z.object({
  subject: z.string().min(1).max(512).optional(),
  application_id: BodyId.optional(),
  status: z.enum(['active', 'revoked']).optional(),
});

export const Session = z.object({
  session_id: z.string(),
  zone_id: z.string(),
  application_id: z.string(),
  subject: z.string(),
  subject_type: z.enum(['user', 'application']),
  status: z.enum(['active', 'revoked']),
  started_at: TimeString,
  revoked_at: TimeString.nullable(),
  reason: z.string().nullable().describe('why it was revoked, when it was'),
});

export const SessionParams = z.object({ zone_id: PathId, session_id: PathId });

export const RevokeSessionBody = z.strictObject({ reason: z.string().max(500).nullable().optional() }).nullish();

export const SessionRevoked = z.object({ session_id: z.string(), status: z.literal('revoked') });
