import type { EventStore } from '../store/event-store.js';
import { decodeEvent, type EventData } from '../domain/events.js';
import { streams } from '../domain/streams.js';
import { requestNotFound } from './audit-errors.js';

/** A recorded decision and where it sits in the ledger. */
export interface RecordedDecision {
  /** Position of the DecisionRecorded event. */
  position: bigint;
  /** When the ledger stored it. */
  recordedAt: string;
  data: EventData<'DecisionRecorded'>;
}

/**
 * The decision recorded under a request ID: one read of the `decision-<request_id>` stream. A decision of
 * another zone is reported exactly like a missing one (404 `request_not_found`), so request IDs of other
 * zones cannot be probed.
 */
export async function readDecision(store: EventStore, zoneId: string, requestId: string): Promise<RecordedDecision> {
  for await (const e of store.readStream(streams.decision(requestId), { maxCount: 1 })) {
    const event = decodeEvent(e.type, e.data);
    if (event.type !== 'DecisionRecorded' || event.data.zone_id !== zoneId) break;
    return { position: e.position, recordedAt: e.recordedAt, data: event.data };
  }
  throw requestNotFound(requestId);
}
