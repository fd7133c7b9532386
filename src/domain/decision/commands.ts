import type { EventData } from '../events.js';

/** A grant as it was in the policy input: its id and the scopes it covers. */
export type GrantInInput = { grant_id: string; scopes: readonly string[] };

/**
 * Record an authorization decision (stream `decision-<request_id>`), before any mandate leaves the process.
 *
 * The fields are those of `DecisionRecorded` except `grant_ids`, which is derived from `grants` so the two
 * cannot disagree. `grants` and `resource_scopes` are the facts the decision was taken on (the active grants
 * in the policy input and the scopes the resource defines, `[]` for an unknown resource); the decider uses
 * them to refuse, as a last line of defence against a bad policy or a bug in the STS:
 * - granted scopes outside requested ∩ (union of grant scopes) ∩ resource scopes;
 * - `allow` with no granted scope or without a mandate; `deny` with granted scopes or with a mandate.
 * Both are `invalid_request` with `details.violation`. A second decision for the same request id is
 * `duplicate_request_id`. Repeated granted scopes are dropped.
 */
export type RecordDecision = {
  type: 'RecordDecision';
  grants: readonly GrantInInput[];
  resource_scopes: readonly string[];
} & Omit<EventData<'DecisionRecorded'>, 'grant_ids'>;

/** Every command the decision aggregate accepts, tagged by `type`. */
export type DecisionCommand = RecordDecision;
