import type { EventStore } from '../store/event-store.js';
import { loadAggregate } from '../app/command-handler.js';
import { streams } from '../domain/streams.js';
import { applicationDecider } from '../domain/application/index.js';
import { resourceDecider } from '../domain/resource/index.js';
import { grantDecider } from '../domain/grant/index.js';
import { sessionDecider } from '../domain/session/index.js';
import { buildPolicyInput, policyInputDigest, type PolicyInput } from '../decision/policy-input.js';
import type { AuditReadModels } from './audit-ports.js';
import type { RecordedDecision } from './decision-record.js';

/** A fact the policy input needs that the ledger did not hold as of the decision's position. */
export type MissingFact = 'application' | 'resource';

/** The policy input of a recorded decision, rebuilt from the ledger as of the position its read models stood at. */
export interface InputAsOf {
  /** Where the read models stood when the decision was taken (`ledger_position`). */
  position: bigint;
  /** The rebuilt input (claims `{}`: they are never recorded), or null when a fact it needs was missing. */
  input: PolicyInput | null;
  /** sha256 of the canonical redaction-safe input, comparable with the recorded `input_digest`. */
  digest: string | null;
  missing: MissingFact[];
  /** Every stream read, in the order read: the evidence the explanation rests on. */
  streams: string[];
}

/**
 * Rebuild a decision's policy input as of its `ledger_position` P, reading only the streams that fed it: the
 * application and resource streams, the streams of the grants ever issued for (zone, application, resource)
 * at or before P (found through the grants read model's index), and the session stream — each read up to P.
 *
 * A session that did not exist at P was proposed by the exchange itself (no `session_id` in the request): the
 * STS put it in the input as active, started at the decision time, so that is what is rebuilt.
 *
 * The same `buildPolicyInput` as the STS assembles the document, so an intact ledger gives the recorded digest.
 */
export async function policyInputAsOf(
  store: EventStore,
  models: Pick<AuditReadModels, 'grants'>,
  rec: RecordedDecision,
): Promise<InputAsOf> {
  const d = rec.data;
  const P = BigInt(d.ledger_position);
  const read: string[] = [];
  const missing: MissingFact[] = [];

  const appStream = streams.application(d.application_id);
  read.push(appStream);
  const app = (await loadAggregate(store, appStream, applicationDecider, P)).state;
  if (app.status !== 'active' || app.zone_id !== d.zone_id) missing.push('application');

  let resource: { id: string; identifier: string; scopes: readonly string[] } | null = null;
  if (d.resource.id !== null) {
    const resStream = streams.resource(d.resource.id);
    read.push(resStream);
    const res = (await loadAggregate(store, resStream, resourceDecider, P)).state;
    if (res.status === 'active' && res.zone_id === d.zone_id) resource = { id: res.resource_id, identifier: res.identifier, scopes: res.scopes };
  }
  if (!resource) missing.push('resource');

  const grants: Array<{ grant_id: string; scopes: readonly string[]; user_id: string | null }> = [];
  if (d.resource.id !== null) {
    // A per-user grant applies only to that user; an application subject gets any-user grants only.
    const userId = d.subject_type === 'user' ? d.subject_id : null;
    for (const issue of models.grants.everFor(d.zone_id, d.application_id, d.resource.id)) {
      if (issue.issued_position > P) continue;
      const grantStream = streams.grant(issue.grant_id);
      read.push(grantStream);
      const g = (await loadAggregate(store, grantStream, grantDecider, P)).state;
      if (g.status !== 'active') continue;
      if (g.user_id !== null && g.user_id !== userId) continue;
      grants.push({ grant_id: g.grant_id, scopes: g.scopes, user_id: g.user_id });
    }
  }

  let session: PolicyInput['session'] = null;
  if (d.session_id !== null) {
    const sessionStream = streams.session(d.session_id);
    read.push(sessionStream);
    const s = (await loadAggregate(store, sessionStream, sessionDecider, P)).state;
    // A session that did not exist at P was proposed by this exchange: the STS put it in the input as active,
    // started at the decision time (and, on allow, started it with that time: `session_opened`).
    session = s.status === 'none' ? { id: d.session_id, status: 'active', started_at: d.occurred_at } : { id: s.session_id, status: s.status, started_at: s.started_at };
  }

  if (missing.length > 0 || app.status !== 'active' || !resource) {
    return { position: P, input: null, digest: null, missing, streams: read };
  }
  const input = buildPolicyInput({
    zoneId: d.zone_id,
    requestId: d.request_id,
    application: { id: app.application_id, name: app.name },
    subject: { id: d.subject_id, type: d.subject_type },
    actor: d.actor_id === null ? null : { id: d.actor_id },
    resource,
    requestedScopes: d.requested_scopes,
    grants,
    session,
    time: d.occurred_at,
  });
  return { position: P, input, digest: policyInputDigest(input), missing, streams: read };
}
