import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../crypto/secret-hash.js';

import type { PolicyInput } from '../policy/policy-engine.js';

/**
 * The policy input document of the decision contract (docs/api.md, "Policy decision contract") is typed
 * once, by the policy port. The STS builds it live; explain rebuilds it from the ledger as of a past
 * position. Both go through `buildPolicyInput` so the recorded digest can be compared byte for byte.
 */
export type { PolicyInput };

/** The facts a decision is taken on; claims are only present during live evaluation. */
export interface PolicyFacts {
  zoneId: string;
  requestId: string;
  application: { id: string; name: string };
  subject: { id: string; type: 'user' | 'application'; claims?: Record<string, unknown> };
  actor: { id: string; claims?: Record<string, unknown> } | null;
  resource: { id: string; identifier: string; scopes: readonly string[] };
  requestedScopes: readonly string[];
  grants: ReadonlyArray<{ grant_id: string; scopes: readonly string[]; user_id: string | null }>;
  session: { id: string; status: 'active' | 'revoked'; started_at: string } | null;
  time: string;
}

/**
 * Build the input in a canonical order: grants sorted by id, scopes in request order (requested) or
 * sorted (resource/grants), so that live and rebuilt inputs are identical whatever order read models
 * returned them in.
 */
export function buildPolicyInput(f: PolicyFacts): PolicyInput {
  return {
    schema_version: '1',
    zone_id: f.zoneId,
    request_id: f.requestId,
    application: { id: f.application.id, name: f.application.name },
    subject: { id: f.subject.id, type: f.subject.type, claims: f.subject.claims ?? {} },
    actor: f.actor ? { id: f.actor.id, claims: f.actor.claims ?? {} } : null,
    resource: { id: f.resource.id, identifier: f.resource.identifier, scopes: [...f.resource.scopes].sort() },
    requested_scopes: [...f.requestedScopes],
    grants: [...f.grants]
      .map((g) => ({ grant_id: g.grant_id, scopes: [...g.scopes].sort(), user_id: g.user_id }))
      .sort((a, b) => (a.grant_id < b.grant_id ? -1 : a.grant_id > b.grant_id ? 1 : 0)),
    session: f.session ? { id: f.session.id, status: f.session.status, started_at: f.session.started_at } : null,
    context: { time: f.time },
  };
}

/** The input without subject and actor claims: what may be recorded, exported and shown to auditors. */
export function redactPolicyInput(input: PolicyInput): PolicyInput {
  return {
    ...input,
    subject: { ...input.subject, claims: {} },
    actor: input.actor ? { id: input.actor.id, claims: {} } : null,
  };
}

/** sha256 of the canonical redaction-safe input: recorded with each decision, recomputed by explain. */
export function policyInputDigest(input: PolicyInput): string {
  return sha256Hex(canonicalJson(redactPolicyInput(input)));
}
