import type { WritEvent } from '../domain/events.js';
import { decodeDecisionCursor, encodeDecisionCursor } from './decision-cursor.js';
import { assertSnapshotVersion, type EventPosition, type ReadModel } from './read-model.js';
import { StringTable } from './string-table.js';
import { KeyColumn, type KeyColumnSnapshot } from './key-column.js';
import { PackedColumn, unpackColumn } from './packed-column.js';
import { TypedColumn } from './typed-column.js';

/** What the audit list shows of a decision. The full record (policies, diagnostics, digests) is its stream. */
export interface DecisionSummary {
  request_id: string;
  zone_id: string;
  occurred_at: string;
  decision: 'allow' | 'deny';
  application_id: string;
  subject_id: string;
  session_id: string | null;
  resource_id: string | null;
  resource_identifier: string;
  requested_scopes: string[];
  granted_scopes: string[];
  policy_set_version: number | null;
  mandate: { jti: string; exp: string } | null;
  /** Ledger position of the DecisionRecorded event. */
  position: bigint;
}

/** A mandate by its `jti`: what introspection and revocation need to find its session. */
export interface MandateRef {
  request_id: string;
  zone_id: string;
  session_id: string | null;
  application_id: string;
  subject_id: string;
  exp: string;
}

/**
 * Filters of the audit decision list. `since` is inclusive and `until` exclusive (RFC 3339, compared at
 * millisecond precision on occurred_at); `resource` matches the resource identifier or id; `subject` the
 * subject id.
 */
export interface DecisionFilter {
  since?: string;
  until?: string;
  decision?: 'allow' | 'deny';
  application_id?: string;
  subject?: string;
  resource?: string;
  limit: number;
  cursor?: string;
}

/** One page of the decision list, in position order; `next_cursor` is null on the last page. */
export interface DecisionPage {
  items: DecisionSummary[];
  next_cursor: string | null;
}

/**
 * JSON form, columnar: one entry per field so that the checkpoint store writes each as its own part. Numeric
 * columns are PackedColumns (base64 of the typed array, see packed-column.ts); strings that repeat are ids into
 * `strings` (0 = null, i = strings[i - 1]) and scope lists ids into `scope_lists` (0 = the empty list).
 */
export interface DecisionsSnapshot {
  version: number;
  rows: number;
  strings: string[];
  scope_lists: string[][];
  request_id: KeyColumnSnapshot;
  /** Empty (null) without a mandate. */
  jti: KeyColumnSnapshot;
  /** [row, occurred_at] for times not in the 24-character toISOString form (kept verbatim). */
  occurred_raw: Array<[number, string]>;
  exp_raw: Array<[number, string]>;
  /** Float64: ledger positions. */
  position: PackedColumn | string;
  /** Float64: occurred_at in epoch milliseconds. */
  occurred: PackedColumn | string;
  /** Float64: mandate exp in epoch milliseconds, NaN without a mandate. */
  exp: PackedColumn | string;
  zone: PackedColumn | string;
  /** 1 allow, 0 deny. */
  decision: PackedColumn | string;
  application: PackedColumn | string;
  subject: PackedColumn | string;
  session: PackedColumn | string;
  resource_identifier: PackedColumn | string;
  resource_id: PackedColumn | string;
  requested: PackedColumn | string;
  granted: PackedColumn | string;
  /** 0 = null. */
  policy_version: PackedColumn | string;
}

const VERSION = 3;

/**
 * The audit list of decisions, kept columnar: a ledger holds millions of decisions, so a row is a few typed-array
 * slots (interned ids for everything that repeats) and the bytes of its request id and jti (key-column.ts), not an
 * object. Typed arrays also cost the garbage collector nothing to mark, which keeps pauses off the STS hot path:
 * a decision costs ~150 bytes and no JS object at all.
 *
 * Lookups by request id and jti are hash probes; the list scans the zone's rows from the cursor on, comparing
 * interned ids (a few nanoseconds a row).
 */
export class DecisionsModel implements ReadModel<DecisionsSnapshot> {
  readonly name = 'decisions';
  readonly version = VERSION;

  private readonly strings = new StringTable();
  private readonly scopeLists = new ScopeListTable();
  private readonly position = new TypedColumn(Float64Array);
  private readonly zone = new TypedColumn(Uint32Array);
  private readonly occurred = new TypedColumn(Float64Array);
  private readonly decision = new TypedColumn(Uint8Array);
  private readonly application = new TypedColumn(Uint32Array);
  private readonly subject = new TypedColumn(Uint32Array);
  private readonly session = new TypedColumn(Uint32Array);
  private readonly resourceIdentifier = new TypedColumn(Uint32Array);
  private readonly resourceId = new TypedColumn(Uint32Array);
  private readonly requested = new TypedColumn(Uint32Array);
  private readonly granted = new TypedColumn(Uint32Array);
  private readonly policyVersion = new TypedColumn(Uint32Array);
  /** NaN without a mandate. */
  private readonly exp = new TypedColumn(Float64Array);
  /** Request ids and jtis with their lookup index, outside the JS heap's object graph (see key-column.ts). */
  private readonly requestIds = new KeyColumn();
  private readonly jtis = new KeyColumn();
  /** Times that toISOString would not give back verbatim (other precisions); rare, so a sparse map. */
  private readonly occurredRaw = new Map<number, string>();
  private readonly expRaw = new Map<number, string>();
  private readonly rowsByZone = new Map<number, TypedColumn<Uint32Array>>();

  apply(event: WritEvent, at: EventPosition): void {
    if (event.type !== 'DecisionRecorded') return;
    const d = event.data;
    const position = Number(at.position);
    // Positions are stored as doubles: exact up to 2^53, far beyond any ledger (and checked, not assumed).
    if (!Number.isSafeInteger(position)) throw new RangeError(`decision position ${at.position} exceeds 2^53`);
    const row = this.requestIds.push(d.request_id);
    this.position.push(position);
    const zone = this.strings.intern(d.zone_id);
    this.zone.push(zone);
    this.occurred.push(timeMs(d.occurred_at));
    if (!isCanonicalTime(d.occurred_at)) this.occurredRaw.set(row, d.occurred_at);
    this.decision.push(d.decision === 'allow' ? 1 : 0);
    this.application.push(this.strings.intern(d.application_id));
    this.subject.push(this.strings.intern(d.subject_id));
    this.session.push(this.strings.intern(d.session_id));
    this.resourceIdentifier.push(this.strings.intern(d.resource.identifier));
    this.resourceId.push(this.strings.intern(d.resource.id));
    this.requested.push(this.scopeLists.intern(d.requested_scopes));
    this.granted.push(this.scopeLists.intern(d.granted_scopes));
    this.policyVersion.push(d.policy_set_version ?? 0);
    if (d.mandate) {
      this.jtis.push(d.mandate.jti);
      this.exp.push(timeMs(d.mandate.exp));
      if (!isCanonicalTime(d.mandate.exp)) this.expRaw.set(row, d.mandate.exp);
    } else {
      this.jtis.push(null);
      this.exp.push(NaN);
    }
    this.zoneRows(zone).push(row);
  }

  get(requestId: string): DecisionSummary | undefined {
    const row = this.requestIds.find(requestId);
    return row === undefined ? undefined : this.summary(row);
  }

  byJti(jti: string): MandateRef | undefined {
    const row = this.jtis.find(jti);
    if (row === undefined) return undefined;
    return {
      request_id: this.requestIds.get(row)!,
      zone_id: this.strings.get(this.zone.get(row))!,
      session_id: this.strings.get(this.session.get(row)),
      application_id: this.strings.get(this.application.get(row))!,
      subject_id: this.strings.get(this.subject.get(row))!,
      exp: this.expRaw.get(row) ?? new Date(this.exp.get(row)).toISOString(),
    };
  }

  /** Number of decisions held (all zones). */
  get size(): number {
    return this.requestIds.size;
  }

  /**
   * A page of the zone's decisions in position order. Throws InvalidCursorError for a cursor it did not make
   * and RangeError for an unparsable time or a limit below 1.
   */
  list(zoneId: string, filter: DecisionFilter): DecisionPage {
    const limit = filter.limit;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const after = filter.cursor === undefined ? -1 : Number(decodeDecisionCursor(filter.cursor));
    const since = filter.since === undefined ? -Infinity : parseFilterTime(filter.since);
    const until = filter.until === undefined ? Infinity : parseFilterTime(filter.until);
    const empty: DecisionPage = { items: [], next_cursor: null };

    const zone = this.strings.lookup(zoneId);
    const rows = zone === undefined ? undefined : this.rowsByZone.get(zone);
    if (!rows) return empty;
    // A filter value never interned matches nothing: answer without scanning.
    const app = filter.application_id === undefined ? 0 : this.strings.lookup(filter.application_id);
    const subject = filter.subject === undefined ? 0 : this.strings.lookup(filter.subject);
    let resource = 0;
    if (filter.resource !== undefined) resource = this.strings.lookup(filter.resource) ?? -1;
    if (app === undefined || subject === undefined || resource === -1) return empty;
    const wantDecision = filter.decision === undefined ? -1 : filter.decision === 'allow' ? 1 : 0;

    const rowIds = rows.raw();
    const n = rows.size;
    const pos = this.position.raw();
    const occurred = this.occurred.raw();
    const decision = this.decision.raw();
    const appCol = this.application.raw();
    const subjectCol = this.subject.raw();
    const resIdent = this.resourceIdentifier.raw();
    const resId = this.resourceId.raw();

    // Rows are in position order: binary search the cursor.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pos[rowIds[mid]!]! <= after) lo = mid + 1;
      else hi = mid;
    }
    const items: DecisionSummary[] = [];
    let more = false;
    for (let i = lo; i < n; i++) {
      const r = rowIds[i]!;
      if (wantDecision !== -1 && decision[r] !== wantDecision) continue;
      if (app !== 0 && appCol[r] !== app) continue;
      if (subject !== 0 && subjectCol[r] !== subject) continue;
      if (resource !== 0 && resIdent[r] !== resource && resId[r] !== resource) continue;
      const t = occurred[r]!;
      if (t < since || t >= until) continue;
      // One match past the page tells whether a next page exists, so the last page never comes back empty.
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(this.summary(r));
    }
    return { items, next_cursor: more ? encodeDecisionCursor(items[items.length - 1]!.position) : null };
  }

  reset(): void {
    this.strings.reset();
    this.scopeLists.reset();
    for (const c of this.columns()) c.clear();
    this.requestIds.reset();
    this.jtis.reset();
    this.occurredRaw.clear();
    this.expRaw.clear();
    this.rowsByZone.clear();
  }

  snapshot(): DecisionsSnapshot {
    // Copies only (memcpy for the typed columns, pointer copies for the strings): the text is produced later,
    // by the checkpoint store, while this model keeps folding.
    const n = this.requestIds.size;
    const pack = (c: TypedColumn<Float64Array | Uint32Array | Uint8Array>) => PackedColumn.of(c.raw(), n);
    return {
      version: VERSION,
      rows: n,
      strings: this.strings.toJSON(),
      scope_lists: this.scopeLists.toJSON(),
      request_id: this.requestIds.snapshot(),
      jti: this.jtis.snapshot(),
      occurred_raw: [...this.occurredRaw],
      exp_raw: [...this.expRaw],
      position: pack(this.position),
      occurred: pack(this.occurred),
      exp: pack(this.exp),
      zone: pack(this.zone),
      decision: pack(this.decision),
      application: pack(this.application),
      subject: pack(this.subject),
      session: pack(this.session),
      resource_identifier: pack(this.resourceIdentifier),
      resource_id: pack(this.resourceId),
      requested: pack(this.requested),
      granted: pack(this.granted),
      policy_version: pack(this.policyVersion),
    };
  }

  restore(s: DecisionsSnapshot): void {
    assertSnapshotVersion(this.name, VERSION, s);
    this.reset();
    const n = s.rows;
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('decisions snapshot: bad row count');
    // unpackColumn checks each column's length against the row count.
    this.position.load(unpackColumn(s.position, n));
    this.occurred.load(unpackColumn(s.occurred, n));
    this.exp.load(unpackColumn(s.exp, n));
    this.zone.load(unpackColumn(s.zone, n));
    this.decision.load(unpackColumn(s.decision, n));
    this.application.load(unpackColumn(s.application, n));
    this.subject.load(unpackColumn(s.subject, n));
    this.session.load(unpackColumn(s.session, n));
    this.resourceIdentifier.load(unpackColumn(s.resource_identifier, n));
    this.resourceId.load(unpackColumn(s.resource_id, n));
    this.requested.load(unpackColumn(s.requested, n));
    this.granted.load(unpackColumn(s.granted, n));
    this.policyVersion.load(unpackColumn(s.policy_version, n));
    this.strings.load(s.strings);
    this.scopeLists.load(s.scope_lists);
    this.requestIds.restore(s.request_id, n);
    this.jtis.restore(s.jti, n);
    for (const [row, text] of s.occurred_raw) this.occurredRaw.set(row, text);
    for (const [row, text] of s.exp_raw) this.expRaw.set(row, text);
    for (let r = 0; r < n; r++) {
      this.zoneRows(this.zone.get(r)).push(r);
    }
  }

  private summary(row: number): DecisionSummary {
    const jti = this.jtis.get(row);
    const policyVersion = this.policyVersion.get(row);
    return {
      request_id: this.requestIds.get(row)!,
      zone_id: this.strings.get(this.zone.get(row))!,
      occurred_at: this.occurredRaw.get(row) ?? new Date(this.occurred.get(row)).toISOString(),
      decision: this.decision.get(row) === 1 ? 'allow' : 'deny',
      application_id: this.strings.get(this.application.get(row))!,
      subject_id: this.strings.get(this.subject.get(row))!,
      session_id: this.strings.get(this.session.get(row)),
      resource_id: this.strings.get(this.resourceId.get(row)),
      resource_identifier: this.strings.get(this.resourceIdentifier.get(row)) ?? '',
      requested_scopes: [...this.scopeLists.get(this.requested.get(row))],
      granted_scopes: [...this.scopeLists.get(this.granted.get(row))],
      policy_set_version: policyVersion === 0 ? null : policyVersion,
      mandate:
        jti === null || jti === undefined
          ? null
          : { jti, exp: this.expRaw.get(row) ?? new Date(this.exp.get(row)).toISOString() },
      position: BigInt(this.position.get(row)),
    };
  }

  private zoneRows(zone: number): TypedColumn<Uint32Array> {
    let rows = this.rowsByZone.get(zone);
    if (!rows) this.rowsByZone.set(zone, (rows = new TypedColumn(Uint32Array, 64)));
    return rows;
  }

  private columns(): Array<TypedColumn<Float64Array | Uint32Array | Uint8Array>> {
    return [
      this.position, this.zone, this.occurred, this.decision, this.application, this.subject, this.session,
      this.resourceIdentifier, this.resourceId, this.requested, this.granted, this.policyVersion, this.exp,
    ];
  }
}

/**
 * Scope lists repeat (the same few requested/granted combinations over and over): one frozen array per distinct
 * list, id 0 the empty list.
 */
class ScopeListTable {
  private lists: ReadonlyArray<readonly string[]> = [[]];
  private readonly index = new Map<string, number>();

  /** Single-scope lists (most requests ask for one scope) by the scope itself: no key to build. */
  private readonly single = new Map<string, number>();

  intern(scopes: readonly string[]): number {
    if (scopes.length === 0) return 0;
    if (scopes.length === 1) {
      const only = scopes[0]!;
      let id = this.single.get(only);
      if (id === undefined) {
        id = this.add(scopes);
        this.single.set(only, id);
      }
      return id;
    }
    // Length-prefixed, so no scope content can make two different lists collide.
    let key = String(scopes.length);
    for (const s of scopes) key += `|${s.length}:${s}`;
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.add(scopes);
      this.index.set(key, id);
    }
    return id;
  }

  private add(scopes: readonly string[]): number {
    (this.lists as Array<readonly string[]>).push(Object.freeze([...scopes]));
    return this.lists.length - 1;
  }

  get(id: number): readonly string[] {
    return this.lists[id]!;
  }

  reset(): void {
    this.lists = [[]];
    this.index.clear();
    this.single.clear();
  }

  toJSON(): string[][] {
    return this.lists.slice(1).map((l) => [...l]);
  }

  load(lists: readonly string[][]): void {
    this.reset();
    for (const l of lists) {
      // Re-interning keeps ids: the snapshot holds distinct lists in id order.
      const before = this.lists.length;
      if (this.intern(l) !== before) throw new TypeError('decisions snapshot: duplicate scope list');
    }
  }
}

/** The 24-character form Date#toISOString produces: storing its milliseconds loses nothing. */
function isCanonicalTime(value: string): boolean {
  return value.length === 24 && value.charCodeAt(19) === 46 /* . */ && value.charCodeAt(23) === 90 /* Z */;
}

/**
 * Milliseconds since the epoch; digits below the millisecond are dropped (they are kept verbatim in the raw maps).
 * The canonical form is read digit by digit: Date.parse costs several times more and a rebuild does this twice
 * per decision. Values reach here validated (RFC 3339, UTC), so only the layout needs checking.
 */
function timeMs(value: string): number {
  if (!isCanonicalTime(value)) return Date.parse(value);
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  // Days from the civil date (Howard Hinnant's algorithm), exact for the proleptic Gregorian calendar.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return days * 86_400_000 + digits(value, 11, 2) * 3_600_000 + digits(value, 14, 2) * 60_000 + digits(value, 17, 2) * 1000 + digits(value, 20, 3);
}

function digits(value: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + (value.charCodeAt(i) - 48);
  return n;
}

function parseFilterTime(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not an RFC 3339 time: ${JSON.stringify(value)}`);
  return ms;
}
