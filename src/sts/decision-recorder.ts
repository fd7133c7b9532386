import { ApiError } from '../api/api-error.js';
import { decisionDecider, type RecordDecision } from '../domain/decision/index.js';
import { DomainError } from '../domain/domain-error.js';
import type { WritEvent } from '../domain/events.js';
import { sessionDecider, type StartSession } from '../domain/session/index.js';
import { streams } from '../domain/streams.js';
import type { EventStore, EventToAppend } from '../store/event-store.js';
import { ConcurrencyError } from '../store/store-errors.js';
import { duplicateRequestId, temporarilyUnavailable } from './oauth-errors.js';
import type { StsLogger, StsMetrics } from './sts-ports.js';

/**
 * Record before issue. Every decision the token endpoint takes, allow or deny, is appended to
 * `decision-<request_id>` with `expectedRevision: 'no_stream'` before anything is answered:
 *
 * - a reused request id is a stream conflict -> 409 `duplicate_request_id`, nothing issued;
 * - any other append failure -> 503 `temporarily_unavailable` (public text; the cause goes to the log only),
 *   and the mandate, even if already signed, never leaves the process.
 *
 * An allow that opens a session also appends SessionStarted to `session-<id>`. Both appends are handed to
 * the store back to back, session first, without waiting in between: the SQLite ledger's group commit then
 * writes them in one transaction (one fsync for both) and in that order. Neither event ever carries tokens,
 * secrets or subject/actor claims: the decider's schema has no field for them.
 */
export interface DecisionRecorderOptions {
  metrics?: StsMetrics;
  logger?: StsLogger;
}

/** What a successful record returns. */
export interface RecordedDecision {
  /** Ledger position of DecisionRecorded. */
  position: bigint;
}

export class DecisionRecorder {
  constructor(
    private readonly store: EventStore,
    private readonly options: DecisionRecorderOptions = {},
  ) {}

  /**
   * Decide (validate) and append. Throws an ApiError: 409 `duplicate_request_id`, 503
   * `temporarily_unavailable`, or 500 when the decision itself is inconsistent (a bug: nothing is issued).
   */
  async record(decision: Omit<RecordDecision, 'type'>, session: Omit<StartSession, 'type'> | null): Promise<RecordedDecision> {
    const decisionEvents = this.decide(() => decisionDecider.decide({ type: 'RecordDecision', ...decision }, decisionDecider.initialState()));
    const sessionEvents = session
      ? this.decide(() => sessionDecider.decide({ type: 'StartSession', ...session }, sessionDecider.initialState()))
      : undefined;
    const metadata = { request_id: decision.request_id };
    const started = performance.now();

    const sessionAppend = session && sessionEvents
      ? this.store.appendToStream(streams.session(session.session_id), toAppend(sessionEvents, metadata), { expectedRevision: 'no_stream' })
      : undefined;
    const decisionAppend = this.store.appendToStream(streams.decision(decision.request_id), toAppend(decisionEvents, metadata), {
      expectedRevision: 'no_stream',
    });
    const [sessionOutcome, decisionOutcome] = await Promise.allSettled([sessionAppend, decisionAppend]);
    this.options.metrics?.observeAppend?.((performance.now() - started) / 1000);

    if (decisionOutcome.status === 'rejected') {
      if (decisionOutcome.reason instanceof ConcurrencyError) {
        if (sessionAppend) this.options.logger?.warn({ request_id: decision.request_id }, 'session opened for a duplicate request id; it has no mandate');
        throw duplicateRequestId(decision.request_id);
      }
      throw this.unavailable(decision.request_id, 'decision append failed', decisionOutcome.reason);
    }
    if (sessionOutcome.status === 'rejected') {
      // The decision is on record but its session is not: refuse to issue rather than hand out a mandate whose
      // session does not exist (introspection would call it inactive anyway).
      throw this.unavailable(decision.request_id, 'session append failed', sessionOutcome.reason);
    }
    return { position: decisionOutcome.value.position };
  }

  private decide(fn: () => WritEvent[]): WritEvent[] {
    try {
      return fn();
    } catch (err) {
      if (err instanceof DomainError && err.code === 'duplicate_request_id') throw duplicateRequestId(String(err.details.request_id ?? ''));
      if (err instanceof DomainError) {
        // An inconsistent decision is a bug in the STS or the policy layer: refuse to record or issue it.
        throw new ApiError(500, 'server_error', 'internal error', {}, `inconsistent decision refused: ${err.message} ${JSON.stringify(err.details)}`);
      }
      throw err;
    }
  }

  private unavailable(requestId: string, what: string, cause: unknown): ApiError {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    this.options.logger?.error({ request_id: requestId, err: detail }, `${what}; no mandate issued`);
    return temporarilyUnavailable(`${what}: ${detail}`);
  }
}

function toAppend(events: WritEvent[], metadata: Record<string, unknown>): EventToAppend[] {
  return events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown>, metadata }));
}
