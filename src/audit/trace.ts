import type { EventStore } from '../store/event-store.js';
import type { Diagnostic } from '../domain/events.js';
import { readDecision, type RecordedDecision } from './decision-record.js';

/**
 * The trace of one decision (API.md, Audit): everything the ledger recorded about it. Subject and resource are
 * flat (ids and identifier as strings) so the trace reads well in a terminal and in the console; `position`
 * is where the decision sits in the ledger, `ledger_position` where the read models stood when it was taken.
 */
export interface DecisionTrace {
  request_id: string;
  zone_id: string;
  occurred_at: string;
  recorded_at: string;
  decision: 'allow' | 'deny';
  application_id: string;
  session_id: string | null;
  session_opened: boolean;
  /** Subject id (never its claims). */
  subject: string;
  subject_type: 'user' | 'application';
  actor_id: string | null;
  /** Resource identifier as requested (`resource://...`). */
  resource: string;
  resource_id: string | null;
  requested_scopes: string[];
  granted_scopes: string[];
  policy_set_version: number | null;
  policy_set_digest: string | null;
  determining_policies: string[];
  diagnostics: Diagnostic[];
  grant_ids: string[];
  input_digest: string | null;
  mandate?: { jti: string; exp: string };
  position: string;
  ledger_position: string;
}

/** Shape a recorded decision as its trace. */
export function toTrace(rec: RecordedDecision): DecisionTrace {
  const d = rec.data;
  return {
    request_id: d.request_id,
    zone_id: d.zone_id,
    occurred_at: d.occurred_at,
    recorded_at: rec.recordedAt,
    decision: d.decision,
    application_id: d.application_id,
    session_id: d.session_id,
    session_opened: d.session_opened ?? false,
    subject: d.subject_id,
    subject_type: d.subject_type,
    actor_id: d.actor_id,
    resource: d.resource.identifier,
    resource_id: d.resource.id,
    requested_scopes: d.requested_scopes,
    granted_scopes: d.granted_scopes,
    policy_set_version: d.policy_set_version,
    policy_set_digest: d.policy_set_digest,
    determining_policies: d.determining_policies,
    diagnostics: d.diagnostics,
    grant_ids: d.grant_ids,
    input_digest: d.input_digest,
    ...(d.mandate ? { mandate: { jti: d.mandate.jti, exp: d.mandate.exp } } : {}),
    position: rec.position.toString(),
    ledger_position: d.ledger_position,
  };
}

/** The trace of a request ID in a zone (one stream read); 404 `request_not_found` otherwise. */
export async function traceDecision(store: EventStore, zoneId: string, requestId: string): Promise<DecisionTrace> {
  return toTrace(await readDecision(store, zoneId, requestId));
}
