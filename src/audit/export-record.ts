import { canonicalJson } from '../crypto/canonical-json.js';
import * as nodeCrypto from 'node:crypto';
import { sha256Hex } from '../crypto/secret-hash.js';
import type { EventData } from '../domain/events.js';
import { csvCell, csvRow, type CsvValue } from './csv.js';

/**
 * The records of a tamper-evident export and their hash chain. One record per recorded decision, then one
 * trailer. Every record carries `seq` (1..n+1), `prev_hash` (64 zeros for the first) and `hash`: sha256 hex of
 * the canonical JSON of the record without `hash` — which includes `prev_hash`, so each record commits to
 * everything before it. The trailer (`export_end`, with the count of decision records and the last decision's
 * hash) is chained too: without it an export cut short would verify as intact.
 *
 * NDJSON and CSV hold the same records: the CSV columns are typed (see {@link COLUMNS}) so that a CSV row
 * decodes back to exactly the object that was hashed, and either format verifies on its own.
 */

/** `prev_hash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** Export format version, in the trailer; a verifier refuses versions it does not know. */
export const EXPORT_FORMAT_VERSION = 1;

/** One decision as exported (flat: CSV-friendly, and nothing to lose between formats). */
export interface DecisionExportRecord {
  seq: number;
  type: 'decision';
  /** Ledger position of the DecisionRecorded event (decimal string). */
  position: string;
  recorded_at: string;
  request_id: string;
  zone_id: string;
  occurred_at: string;
  decision: 'allow' | 'deny';
  application_id: string;
  subject_id: string;
  subject_type: 'user' | 'application';
  actor_id: string | null;
  session_id: string | null;
  session_opened: boolean;
  resource_id: string | null;
  resource_identifier: string;
  requested_scopes: string[];
  granted_scopes: string[];
  determining_policies: string[];
  diagnostics: Array<{ reason: string; message?: string; scope?: string }>;
  policy_set_version: number | null;
  policy_set_digest: string | null;
  ledger_position: string;
  input_digest: string | null;
  grant_ids: string[];
  mandate_jti: string | null;
  mandate_exp: string | null;
  prev_hash: string;
}

/** The last record: how many decision records precede it and the hash of the last one. */
export interface TrailerExportRecord {
  seq: number;
  type: 'export_end';
  format_version: number;
  count: number;
  last_hash: string;
  prev_hash: string;
}

export type ExportRecord = DecisionExportRecord | TrailerExportRecord;
export type HashedRecord = ExportRecord & { hash: string };

/** How a CSV column's text maps to a value: strings, integers, or JSON (arrays, objects, booleans). */
type ColumnKind = 'string' | 'integer' | 'json';

/** CSV columns in order. A record type uses a subset; the others are empty (null) in its rows. */
export const COLUMNS: ReadonlyArray<{ name: string; kind: ColumnKind }> = [
  { name: 'seq', kind: 'integer' },
  { name: 'type', kind: 'string' },
  { name: 'position', kind: 'string' },
  { name: 'recorded_at', kind: 'string' },
  { name: 'request_id', kind: 'string' },
  { name: 'zone_id', kind: 'string' },
  { name: 'occurred_at', kind: 'string' },
  { name: 'decision', kind: 'string' },
  { name: 'application_id', kind: 'string' },
  { name: 'subject_id', kind: 'string' },
  { name: 'subject_type', kind: 'string' },
  { name: 'actor_id', kind: 'string' },
  { name: 'session_id', kind: 'string' },
  { name: 'session_opened', kind: 'json' },
  { name: 'resource_id', kind: 'string' },
  { name: 'resource_identifier', kind: 'string' },
  { name: 'requested_scopes', kind: 'json' },
  { name: 'granted_scopes', kind: 'json' },
  { name: 'determining_policies', kind: 'json' },
  { name: 'diagnostics', kind: 'json' },
  { name: 'policy_set_version', kind: 'integer' },
  { name: 'policy_set_digest', kind: 'string' },
  { name: 'ledger_position', kind: 'string' },
  { name: 'input_digest', kind: 'string' },
  { name: 'grant_ids', kind: 'json' },
  { name: 'mandate_jti', kind: 'string' },
  { name: 'mandate_exp', kind: 'string' },
  { name: 'format_version', kind: 'integer' },
  { name: 'count', kind: 'integer' },
  { name: 'last_hash', kind: 'string' },
  { name: 'prev_hash', kind: 'string' },
  { name: 'hash', kind: 'string' },
];

/** Keys of each record type, sorted (canonical order), without `hash`. */
export const DECISION_KEYS: readonly string[] = [
  'seq', 'type', 'position', 'recorded_at', 'request_id', 'zone_id', 'occurred_at', 'decision', 'application_id',
  'subject_id', 'subject_type', 'actor_id', 'session_id', 'session_opened', 'resource_id', 'resource_identifier',
  'requested_scopes', 'granted_scopes', 'determining_policies', 'diagnostics', 'policy_set_version',
  'policy_set_digest', 'ledger_position', 'input_digest', 'grant_ids', 'mandate_jti', 'mandate_exp', 'prev_hash',
].sort();
export const TRAILER_KEYS: readonly string[] = ['seq', 'type', 'format_version', 'count', 'last_hash', 'prev_hash'].sort();

/** The CSV header row. */
export const CSV_HEADER = csvRow(COLUMNS.map((c) => c.name));

/** sha256 hex of a string (one-shot where Node has it: half the cost of a Hash object per record). */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256 = typeof oneShot === 'function' ? (text: string) => oneShot('sha256', text, 'hex') : sha256Hex;

/** A record encoded for an export: its line (NDJSON or CSV row) and its hash. */
export interface EncodedRecord {
  line: string;
  hash: string;
}

/** Where a DecisionRecorded event sits in the ledger. */
export interface DecisionSource {
  position: bigint;
  recordedAt: string;
  data: EventData<'DecisionRecorded'>;
}

/** The export record of one decision (its `seq` and `prev_hash` come from the chain). */
export function decisionRecord(src: DecisionSource, seq: number, prevHash: string): DecisionExportRecord {
  const d = src.data;
  return {
    seq,
    type: 'decision',
    position: src.position.toString(),
    recorded_at: src.recordedAt,
    request_id: d.request_id,
    zone_id: d.zone_id,
    occurred_at: d.occurred_at,
    decision: d.decision,
    application_id: d.application_id,
    subject_id: d.subject_id,
    subject_type: d.subject_type,
    actor_id: d.actor_id,
    session_id: d.session_id,
    session_opened: d.session_opened ?? false,
    resource_id: d.resource.id,
    resource_identifier: d.resource.identifier,
    requested_scopes: d.requested_scopes,
    granted_scopes: d.granted_scopes,
    determining_policies: d.determining_policies,
    diagnostics: d.diagnostics,
    policy_set_version: d.policy_set_version,
    policy_set_digest: d.policy_set_digest,
    ledger_position: d.ledger_position,
    input_digest: d.input_digest,
    grant_ids: d.grant_ids,
    mandate_jti: d.mandate?.jti ?? null,
    mandate_exp: d.mandate?.exp ?? null,
    prev_hash: prevHash,
  };
}

export function trailerRecord(seq: number, count: number, lastHash: string, prevHash: string): TrailerExportRecord {
  return { seq, type: 'export_end', format_version: EXPORT_FORMAT_VERSION, count, last_hash: lastHash, prev_hash: prevHash };
}

/**
 * Canonical JSON of a record (without `hash`): equal to `canonicalJson(record)` (a test holds it to that), but
 * written for the record's known shape — an object literal with its keys in sorted order serializes in V8's
 * fast path, which is what keeps an export above 100,000 records/s.
 */
export function canonicalRecord(record: ExportRecord): string {
  if (record.type === 'export_end') {
    const t = record;
    return JSON.stringify({ count: t.count, format_version: t.format_version, last_hash: t.last_hash, prev_hash: t.prev_hash, seq: t.seq, type: t.type });
  }
  const r = record;
  return JSON.stringify({
    actor_id: r.actor_id,
    application_id: r.application_id,
    decision: r.decision,
    determining_policies: r.determining_policies,
    diagnostics: r.diagnostics.length === 0 ? r.diagnostics : r.diagnostics.map(sortedDiagnostic),
    grant_ids: r.grant_ids,
    granted_scopes: r.granted_scopes,
    input_digest: r.input_digest,
    ledger_position: r.ledger_position,
    mandate_exp: r.mandate_exp,
    mandate_jti: r.mandate_jti,
    occurred_at: r.occurred_at,
    policy_set_digest: r.policy_set_digest,
    policy_set_version: r.policy_set_version,
    position: r.position,
    prev_hash: r.prev_hash,
    recorded_at: r.recorded_at,
    request_id: r.request_id,
    requested_scopes: r.requested_scopes,
    resource_id: r.resource_id,
    resource_identifier: r.resource_identifier,
    seq: r.seq,
    session_id: r.session_id,
    session_opened: r.session_opened,
    subject_id: r.subject_id,
    subject_type: r.subject_type,
    type: r.type,
    zone_id: r.zone_id,
  });
}

/**
 * `canonicalRecord(decisionRecord(src, seq, prevHash))` in one step, straight from the event: the export's hot
 * path (one object per record instead of two).
 */
export function canonicalDecision(src: DecisionSource, seq: number, prevHash: string): string {
  const d = src.data;
  return JSON.stringify({
    actor_id: d.actor_id,
    application_id: d.application_id,
    decision: d.decision,
    determining_policies: d.determining_policies,
    diagnostics: d.diagnostics.length === 0 ? d.diagnostics : d.diagnostics.map(sortedDiagnostic),
    grant_ids: d.grant_ids,
    granted_scopes: d.granted_scopes,
    input_digest: d.input_digest,
    ledger_position: d.ledger_position,
    mandate_exp: d.mandate?.exp ?? null,
    mandate_jti: d.mandate?.jti ?? null,
    occurred_at: d.occurred_at,
    policy_set_digest: d.policy_set_digest,
    policy_set_version: d.policy_set_version,
    position: src.position.toString(),
    prev_hash: prevHash,
    recorded_at: src.recordedAt,
    request_id: d.request_id,
    requested_scopes: d.requested_scopes,
    resource_id: d.resource.id,
    resource_identifier: d.resource.identifier,
    seq,
    session_id: d.session_id,
    session_opened: d.session_opened ?? false,
    subject_id: d.subject_id,
    subject_type: d.subject_type,
    type: 'decision',
    zone_id: d.zone_id,
  });
}

/** One NDJSON line and hash for a decision, straight from the event. */
export function ndjsonDecision(src: DecisionSource, seq: number, prevHash: string): EncodedRecord {
  const canonical = canonicalDecision(src, seq, prevHash);
  const hash = sha256(canonical);
  return { line: `${canonical.slice(0, -1)},"hash":"${hash}"}\n`, hash };
}

/** One CSV row and hash for a decision, straight from the event (cells in {@link COLUMNS} order). */
export function csvDecision(src: DecisionSource, seq: number, prevHash: string): EncodedRecord {
  const canonical = canonicalDecision(src, seq, prevHash);
  const hash = sha256(canonical);
  const d = src.data;
  const line =
    `${seq},decision,${csvCell(src.position.toString())},${csvCell(src.recordedAt)},${csvCell(d.request_id)},${csvCell(d.zone_id)},` +
    `${csvCell(d.occurred_at)},${d.decision},${csvCell(d.application_id)},${csvCell(d.subject_id)},${d.subject_type},` +
    `${csvCell(d.actor_id)},${csvCell(d.session_id)},${d.session_opened ? 'true' : 'false'},${csvCell(d.resource.id)},` +
    `${csvCell(d.resource.identifier)},${csvCell(JSON.stringify(d.requested_scopes))},${csvCell(JSON.stringify(d.granted_scopes))},` +
    `${csvCell(JSON.stringify(d.determining_policies))},${csvCell(JSON.stringify(d.diagnostics.length === 0 ? d.diagnostics : d.diagnostics.map(sortedDiagnostic)))},` +
    `${d.policy_set_version === null ? '' : d.policy_set_version},${csvCell(d.policy_set_digest)},${csvCell(d.ledger_position)},` +
    `${csvCell(d.input_digest)},${csvCell(JSON.stringify(d.grant_ids))},${csvCell(d.mandate?.jti ?? null)},${csvCell(d.mandate?.exp ?? null)},` +
    `,,,${prevHash},${hash}\r\n`;
  return { line, hash };
}

function sortedDiagnostic(d: { reason: string; message?: string; scope?: string }): Record<string, string> {
  if (d.message === undefined) return d.scope === undefined ? { reason: d.reason } : { reason: d.reason, scope: d.scope };
  return d.scope === undefined ? { message: d.message, reason: d.reason } : { message: d.message, reason: d.reason, scope: d.scope };
}

/** sha256 hex over the canonical JSON of the record without `hash`. */
export function recordHash(record: ExportRecord): string {
  return sha256(canonicalRecord(record));
}

/** Reference implementation of the hash (any key order, any shape): what a third-party verifier would write. */
export function referenceRecordHash(record: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = record;
  return sha256Hex(canonicalJson(rest));
}

/** Encode a record as one NDJSON line: its canonical JSON with `hash` appended (computed once, from that same text). */
export function ndjsonRecord(record: ExportRecord): EncodedRecord {
  const canonical = canonicalRecord(record);
  const hash = sha256(canonical);
  return { line: `${canonical.slice(0, -1)},"hash":"${hash}"}\n`, hash };
}

/** Encode a record as one CSV row (JSON columns as canonical JSON), with its hash. */
export function csvRecord(record: ExportRecord): EncodedRecord {
  const hash = recordHash(record);
  const src = record as unknown as Record<string, unknown>;
  const cells: CsvValue[] = new Array<CsvValue>(COLUMNS.length);
  for (let i = 0; i < COLUMNS.length; i++) {
    const { name, kind } = COLUMNS[i]!;
    if (name === 'hash') {
      cells[i] = hash;
      continue;
    }
    const v = src[name];
    if (v === undefined || v === null) cells[i] = null;
    else if (kind === 'json') cells[i] = name === 'diagnostics' && Array.isArray(v) ? JSON.stringify(v.map(sortedDiagnostic)) : JSON.stringify(v);
    else cells[i] = typeof v === 'number' ? v : String(v);
  }
  return { line: csvRow(cells), hash };
}

/**
 * Rebuild a record from a CSV row (cells as CsvReader returns them). Returns an error text when a cell does
 * not decode; columns that the row's type does not use must be empty.
 */
export function recordFromCsv(cells: ReadonlyArray<string | null>): { record: Record<string, unknown> } | { error: string } {
  if (cells.length !== COLUMNS.length) return { error: `row has ${cells.length} fields, expected ${COLUMNS.length}` };
  const type = cells[1];
  const keys = type === 'decision' ? DECISION_KEYS : type === 'export_end' ? TRAILER_KEYS : null;
  if (!keys) return { error: `unknown record type ${JSON.stringify(type)}` };
  const wanted = new Set([...keys, 'hash']);
  const record: Record<string, unknown> = {};
  for (let i = 0; i < COLUMNS.length; i++) {
    const { name, kind } = COLUMNS[i]!;
    const cell = cells[i]!;
    if (!wanted.has(name)) {
      if (cell !== null) return { error: `column ${name} must be empty in a ${type} record` };
      continue;
    }
    if (cell === null) {
      record[name] = null;
      continue;
    }
    switch (kind) {
      case 'string':
        record[name] = cell;
        break;
      case 'integer':
        if (!/^(0|-?[1-9]\d{0,15})$/.test(cell)) return { error: `column ${name} is not an integer` };
        record[name] = Number(cell);
        break;
      case 'json':
        try {
          record[name] = JSON.parse(cell);
        } catch {
          return { error: `column ${name} is not JSON` };
        }
        break;
    }
  }
  return { record };
}
