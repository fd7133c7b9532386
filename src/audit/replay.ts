import { loadAggregate } from '../app/command-handler.js';
import { policySetDecider } from '../domain/policy-set/index.js';
import { streams } from '../domain/streams.js';
import type { AuditContext } from './audit-ports.js';
import { AuditError } from './audit-errors.js';
import { scanStart, zoneDecisions, type DecisionRange, type ProjectionPosition } from './decision-scan.js';
import { sameScopes } from './explain.js';
import { policyInputAsOf } from './input-as-of.js';
import { decideExchange, type ExchangeOutcome } from '../decision/decide-exchange.js';

/** Why a decision is listed in a replay's items. */
export type ReplayItemKind =
  | 'flipped_to_allow'
  | 'flipped_to_deny'
  | 'scopes_changed'
  | 'input_digest_mismatch'
  | 'input_not_reconstructible'
  | 'policy_unavailable';

/** One decision whose replay differs from its record. */
export interface ReplayItem {
  request_id: string;
  occurred_at: string;
  kind: ReplayItemKind;
  recorded: { decision: 'allow' | 'deny'; granted_scopes: string[]; policy_set_version: number | null };
  /** Null when the input could not be rebuilt or the version not loaded. */
  replayed: (ExchangeOutcome & { policy_set_version: number | null }) | null;
  input_digest_matches: boolean;
}

/** Result of a replay (API.md, Audit: `POST .../audit/replay`). */
export interface ReplayResult {
  /** The version every decision was re-evaluated with; null: each with its recorded version. */
  candidate_version: number | null;
  since: string | null;
  until: string | null;
  evaluated: number;
  /** Same decision and scopes as recorded (and, without a candidate, the same input digest). */
  matches_recorded: number;
  /** Decisions that do not match. Without a candidate every one is an integrity alarm. */
  mismatches: number;
  flipped_to_allow: number;
  flipped_to_deny: number;
  /** The decisions that do not match, in ledger order, at most `max_items`. */
  items: ReplayItem[];
  items_truncated: boolean;
}

/** Progress of a running replay. */
export interface ReplayProgress {
  evaluated: number;
  mismatches: number;
  /** Ledger position of the last decision evaluated. */
  position: string;
}

export interface ReplayOptions extends DecisionRange {
  candidate_version?: number | undefined;
  /** Items listed at most (default 1000); the counts always cover every decision. */
  maxItems?: number;
  onProgress?: (p: ReplayProgress) => void;
  /** Decisions between progress calls (default 100). */
  progressEvery?: number;
  /** Where the read models stand; lets the scan skip the ledger before the first decision in range. */
  runner?: ProjectionPosition;
}

/**
 * Replay the zone's recorded decisions with `occurred_at` in range. Each decision's input is rebuilt as of its
 * own `ledger_position` (as explain does) and decided again, with the recorded version (an integrity check:
 * any difference means the ledger or the engine no longer gives what was recorded) or with a candidate version
 * (impact analysis: which decisions would flip).
 */
export async function replayDecisions(ctx: AuditContext, zoneId: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const candidate = options.candidate_version ?? null;
  if (candidate !== null) {
    const policySet = (await loadAggregate(ctx.store, streams.policySet(zoneId), policySetDecider)).state;
    if (policySet.status !== 'initialized' || !policySet.versions.has(candidate)) {
      throw new AuditError('policy_version_not_found', `policy-set version ${candidate} does not exist in this zone`, { version: candidate });
    }
  }
  const maxItems = options.maxItems ?? 1000;
  const every = options.progressEvery ?? 100;
  const range: DecisionRange = { since: options.since, until: options.until };
  const result: ReplayResult = {
    candidate_version: candidate,
    since: options.since ?? null,
    until: options.until ?? null,
    evaluated: 0,
    matches_recorded: 0,
    mismatches: 0,
    flipped_to_allow: 0,
    flipped_to_deny: 0,
    items: [],
    items_truncated: false,
  };
  const head = await ctx.store.headPosition();
  const after = scanStart(ctx.models, options.runner, zoneId, range);
  let position = -1n;

  for await (const src of zoneDecisions(ctx.store, zoneId, range, { after, upTo: head })) {
    const d = src.data;
    position = src.position;
    const rebuilt = await policyInputAsOf(ctx.store, ctx.models, { position: src.position, recordedAt: src.recordedAt, data: d });
    const digestMatches = d.input_digest !== null && rebuilt.digest === d.input_digest;
    const version = candidate ?? d.policy_set_version;
    let outcome: ExchangeOutcome | null = null;
    let unavailable = false;
    if (rebuilt.input) {
      try {
        outcome = await decideExchange(ctx.policies, zoneId, version, rebuilt.input);
      } catch {
        unavailable = true;
      }
    }
    result.evaluated++;

    let kind: ReplayItemKind | null = null;
    if (unavailable) kind = 'policy_unavailable';
    else if (!outcome) kind = 'input_not_reconstructible';
    else if (outcome.decision !== d.decision) kind = outcome.decision === 'allow' ? 'flipped_to_allow' : 'flipped_to_deny';
    else if (!sameScopes(outcome.scopes, d.granted_scopes)) kind = 'scopes_changed';
    // Replaying with the recorded versions checks the ledger itself: the rebuilt input must hash as recorded.
    else if (candidate === null && !digestMatches) kind = 'input_digest_mismatch';

    if (kind === null) {
      result.matches_recorded++;
    } else {
      result.mismatches++;
      if (kind === 'flipped_to_allow') result.flipped_to_allow++;
      if (kind === 'flipped_to_deny') result.flipped_to_deny++;
      if (result.items.length < maxItems) {
        result.items.push({
          request_id: d.request_id,
          occurred_at: d.occurred_at,
          kind,
          recorded: { decision: d.decision, granted_scopes: d.granted_scopes, policy_set_version: d.policy_set_version },
          replayed: outcome ? { ...outcome, policy_set_version: version } : null,
          input_digest_matches: digestMatches,
        });
      } else {
        result.items_truncated = true;
      }
    }
    if (options.onProgress && result.evaluated % every === 0) {
      options.onProgress({ evaluated: result.evaluated, mismatches: result.mismatches, position: position.toString() });
    }
  }
  options.onProgress?.({ evaluated: result.evaluated, mismatches: result.mismatches, position: position.toString() });
  return result;
}
