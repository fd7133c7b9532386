import type { EventStore, RecordedEvent } from '../store/event-store.js';
import { AuditError } from './audit-errors.js';

/**
 * Ledger positions and wall-clock times. The ledger stamps every event with `recordedAt` as it appends, in
 * position order, so "the state as of time T" is "the state as of the last position recorded at or before T",
 * found by a binary search over positions: O(log n) one-row reads, never a scan. Positions need not be dense
 * (EventStoreDB commit positions are not), so the search runs over the position space and reads "the first
 * event after x".
 */

/** The first event strictly after `position`, if any (at most `maxPosition`). */
async function firstAfter(store: EventStore, position: bigint, maxPosition?: bigint): Promise<RecordedEvent | undefined> {
  for await (const e of store.readAll({ fromPosition: position, maxCount: 1, ...(maxPosition === undefined ? {} : { maxPosition }) })) return e;
  return undefined;
}

/** The event at exactly `position`, if one is there. */
export async function eventAt(store: EventStore, position: bigint): Promise<RecordedEvent | undefined> {
  if (position < 0n) return undefined;
  const e = await firstAfter(store, position - 1n, position);
  return e && e.position === position ? e : undefined;
}

/** When the event at `position` was recorded; null for -1 (before the first event) or a position with no event. */
export async function timeOfPosition(store: EventStore, position: bigint): Promise<string | null> {
  return (await eventAt(store, position))?.recordedAt ?? null;
}

/**
 * The last position recorded at or before `time` (ISO string, compared in milliseconds), or -1n when the
 * ledger holds nothing that old. `head` bounds the search (defaults to the current head).
 */
export async function positionAtTime(store: EventStore, time: string, head?: bigint): Promise<bigint> {
  const t = Date.parse(time);
  if (Number.isNaN(t)) throw new AuditError('invalid_request', 'not an RFC 3339 time', { time });
  let hi = head ?? (await store.headPosition());
  // lo: a position recorded at or before t (or -1). Invariant: every event after hi was recorded after t.
  let lo = -1n;
  while (lo < hi) {
    const mid = lo + (hi - lo) / 2n;
    const e = await firstAfter(store, mid, hi);
    if (!e) {
      hi = mid;
    } else if (Date.parse(e.recordedAt) <= t) {
      lo = e.position;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** `as_of` of the state endpoint: a decimal position, or an RFC 3339 time. */
export type AsOf = { position: bigint } | { time: string };

/** Parse `as_of`: digits are a position, anything else must be a time. */
export function parseAsOf(value: string): AsOf {
  if (/^-?\d{1,20}$/.test(value)) return { position: BigInt(value) };
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    throw new AuditError('invalid_request', 'as_of must be a ledger position or an RFC 3339 time', {
      issues: [{ path: 'querystring.as_of', message: 'expected a decimal position or an RFC 3339 time' }],
    });
  }
  return { time: new Date(t).toISOString() };
}

/** Resolve `as_of` to a position no later than the current head. */
export async function resolveAsOf(store: EventStore, asOf: AsOf): Promise<bigint> {
  const head = await store.headPosition();
  if ('position' in asOf) return asOf.position > head ? head : asOf.position < -1n ? -1n : asOf.position;
  return positionAtTime(store, asOf.time, head);
}

/** Normalise an RFC 3339 time to the ledger's form (`toISOString`), so that string comparisons are time comparisons. */
export function normalizeTime(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new AuditError('invalid_request', `${field} is not an RFC 3339 time`, { issues: [{ path: field, message: 'expected an RFC 3339 time' }] });
  }
  return new Date(t).toISOString();
}
