import type { DecisionSummary } from '../projections/decisions-model.js';
import { InvalidCursorError } from '../projections/decision-cursor.js';
import type { AuditReadModels } from './audit-ports.js';
import { AuditError } from './audit-errors.js';
import { csvRow } from './csv.js';

/** One row of the audit decision list. Subject and resource are flat strings, as in the trace. */
export interface DecisionListItem {
  request_id: string;
  occurred_at: string;
  decision: 'allow' | 'deny';
  application_id: string;
  /** Subject id. */
  subject: string;
  session_id: string | null;
  /** Resource identifier. */
  resource: string;
  resource_id: string | null;
  requested_scopes: string[];
  granted_scopes: string[];
  policy_set_version: number | null;
  mandate: { jti: string; exp: string } | null;
  /** Ledger position of the decision. */
  position: string;
}

/** Filters of `GET .../audit/decisions` (times already normalised). `since` inclusive, `until` exclusive. */
export interface DecisionListQuery {
  since?: string | undefined;
  until?: string | undefined;
  decision?: 'allow' | 'deny' | undefined;
  application_id?: string | undefined;
  subject?: string | undefined;
  /** Resource identifier or id. */
  resource?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  /** `asc` (default): oldest first. `desc`: newest first (what `writ audit tail` and the console ask for). */
  order?: 'asc' | 'desc' | undefined;
}

export interface DecisionListPage {
  items: DecisionListItem[];
  next_cursor: string | null;
}

type Decisions = AuditReadModels['decisions'];

/** Rows the read model is asked for at once while scanning. */
const SCAN_PAGE = 1000;
/**
 * Newest-first pages are found by widening time windows back from the top of the range; a decision's
 * `occurred_at` is taken moments before its position is assigned, so a window's upper edge is extended by
 * this much past the cursor's time to never miss a decision that was recorded just before it.
 */
const CLOCK_SLACK_MS = 60_000;
const WINDOWS_MS = [60_000, 3_600_000, 86_400_000, 30 * 86_400_000, Number.POSITIVE_INFINITY];
const DESC_PREFIX = 'dd1.';

export function toListItem(s: DecisionSummary): DecisionListItem {
  return {
    request_id: s.request_id,
    occurred_at: s.occurred_at,
    decision: s.decision,
    application_id: s.application_id,
    subject: s.subject_id,
    session_id: s.session_id,
    resource: s.resource_identifier,
    resource_id: s.resource_id,
    requested_scopes: s.requested_scopes,
    granted_scopes: s.granted_scopes,
    policy_set_version: s.policy_set_version,
    mandate: s.mandate,
    position: s.position.toString(),
  };
}

function invalidCursor(): AuditError {
  return new AuditError('invalid_request', 'cursor is not valid', { issues: [{ path: 'querystring.cursor', message: 'not a cursor returned by this list' }] });
}

/** One call to the read model, with its refusals turned into 400s. */
function listPage(decisions: Decisions, zoneId: string, q: Omit<DecisionListQuery, 'order'>) {
  try {
    return decisions.list(zoneId, {
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
      ...(q.decision !== undefined ? { decision: q.decision } : {}),
      ...(q.application_id !== undefined ? { application_id: q.application_id } : {}),
      ...(q.subject !== undefined ? { subject: q.subject } : {}),
      ...(q.resource !== undefined ? { resource: q.resource } : {}),
      limit: q.limit,
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
  } catch (err) {
    if (err instanceof InvalidCursorError) throw invalidCursor();
    if (err instanceof RangeError) throw new AuditError('invalid_request', err.message);
    throw err;
  }
}

function encodeDescCursor(position: bigint, occurredMs: number): string {
  return Buffer.from(`${DESC_PREFIX}${position}.${Math.floor(occurredMs)}`, 'utf8').toString('base64url');
}

function decodeDescCursor(cursor: string): { position: bigint; occurredMs: number } {
  if (!/^[A-Za-z0-9_-]{1,96}$/.test(cursor)) throw invalidCursor();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^dd1\.(0|[1-9]\d{0,18})\.(-?\d{1,16})$/.exec(text);
  if (!m) throw invalidCursor();
  return { position: BigInt(m[1]!), occurredMs: Number(m[2]) };
}

/** A page of the zone's decisions, oldest first (the read model's order) or newest first. */
export function listDecisions(decisions: Decisions, zoneId: string, q: DecisionListQuery): DecisionListPage {
  if (q.order !== 'desc') {
    const page = listPage(decisions, zoneId, q);
    return { items: page.items.map(toListItem), next_cursor: page.next_cursor };
  }
  return listNewestFirst(decisions, zoneId, q);
}

/**
 * Newest first, over a read model that lists oldest first: scan time windows of growing width back from the
 * top of the range, keeping only the newest `limit + 1` matches below the cursor's position. Typical tails
 * (the latest few decisions) touch one small window; the last window is the whole range.
 */
function listNewestFirst(decisions: Decisions, zoneId: string, q: DecisionListQuery): DecisionListPage {
  const bound = q.cursor === undefined ? undefined : decodeDescCursor(q.cursor);
  const userSince = q.since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(q.since);
  let until = q.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(q.until);
  if (bound) until = Math.min(until, bound.occurredMs + CLOCK_SLACK_MS);
  const anchor = Number.isFinite(until) ? until : Date.now();
  const keep = q.limit + 1;

  let newest: DecisionSummary[] = [];
  for (const width of WINDOWS_MS) {
    const since = Math.max(userSince, anchor - width);
    newest = [];
    let cursor: string | undefined;
    scan: for (;;) {
      const page = listPage(decisions, zoneId, {
        ...q,
        since: Number.isFinite(since) ? new Date(since).toISOString() : undefined,
        until: Number.isFinite(until) ? new Date(until).toISOString() : undefined,
        limit: SCAN_PAGE,
        cursor,
      });
      for (const item of page.items) {
        if (bound && item.position >= bound.position) break scan;
        newest.push(item);
        if (newest.length > keep * 4) newest = newest.slice(-keep);
      }
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    newest = newest.slice(-keep);
    if (newest.length >= keep || since <= userSince) break;
  }
  newest.reverse();
  const more = newest.length > q.limit;
  const items = newest.slice(0, q.limit);
  const last = items[items.length - 1];
  return {
    items: items.map(toListItem),
    next_cursor: more && last ? encodeDescCursor(last.position, Date.parse(last.occurred_at)) : null,
  };
}

/** Columns of the CSV form of the list. */
export const DECISION_LIST_COLUMNS = [
  'request_id', 'occurred_at', 'decision', 'application_id', 'subject', 'session_id', 'resource', 'resource_id',
  'requested_scopes', 'granted_scopes', 'policy_set_version', 'mandate_jti', 'mandate_exp', 'position',
] as const;

function listCsvRow(i: DecisionListItem): string {
  return csvRow([
    i.request_id, i.occurred_at, i.decision, i.application_id, i.subject, i.session_id, i.resource, i.resource_id,
    i.requested_scopes.join(' '), i.granted_scopes.join(' '), i.policy_set_version, i.mandate?.jti ?? null, i.mandate?.exp ?? null, i.position,
  ]);
}

/**
 * The list as CSV (header row first), streamed page by page so any number of rows takes constant memory.
 * Every match from the cursor on, oldest first; `max` caps the number of rows.
 */
export async function* decisionListCsv(decisions: Decisions, zoneId: string, q: Omit<DecisionListQuery, 'limit' | 'order'>, max = Number.POSITIVE_INFINITY): AsyncGenerator<string> {
  yield csvRow([...DECISION_LIST_COLUMNS]);
  let cursor = q.cursor;
  let sent = 0;
  let chunk = '';
  while (sent < max) {
    const page = listPage(decisions, zoneId, { ...q, limit: Math.min(SCAN_PAGE, max - sent), cursor });
    for (const s of page.items) chunk += listCsvRow(toListItem(s));
    sent += page.items.length;
    if (chunk) yield chunk;
    chunk = '';
    if (!page.next_cursor || page.items.length === 0) break;
    cursor = page.next_cursor;
    // Let the event loop breathe between pages (the STS shares it).
    await new Promise<void>((r) => setImmediate(r));
  }
}
