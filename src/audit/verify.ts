import { createReadStream } from 'node:fs';
import { CsvReader, CsvSyntaxError } from './csv.js';
import { COLUMNS, EXPORT_FORMAT_VERSION, GENESIS_HASH, recordFromCsv, referenceRecordHash } from './export-record.js';
import type { ExportFormat } from './export.js';

/**
 * Verification of a tamper-evident export (NDJSON or CSV; the format is recognised from the content). One pass,
 * constant memory. The first break of the chain is reported with its kind:
 *
 * - `edited`: a record's content no longer hashes to its `hash`, or it was re-hashed and the next record's
 *   `prev_hash` no longer points at it;
 * - `deleted`: a `seq` is missing and never shows up later;
 * - `reordered`: a `seq` is missing at its place but shows up later;
 * - `inserted`: a record repeats an earlier `seq`, or data follows the trailer;
 * - `truncated`: the input ends without the `export_end` trailer, or the trailer counts more records than came;
 * - `malformed`: a line or row that is not a record at all.
 *
 * `first_bad_seq` is the sequence number at which the chain first breaks: the edited record, the first missing
 * one, the first one out of place, or (truncation) the first one that should have followed.
 */
export type TamperKind = 'edited' | 'deleted' | 'reordered' | 'inserted' | 'truncated' | 'malformed';

/** Outcome of verifying an export. */
export interface VerifyResult {
  ok: boolean;
  format: ExportFormat | null;
  /** Records read (decisions and trailer), intact or not. */
  records: number;
  /** Decision records the trailer vouches for (only when the export verified). */
  count?: number;
  /** Hash of the trailer: the digest of the whole export (only when it verified). */
  final_hash?: string;
  first_bad_seq?: number;
  reason?: TamperKind;
  /** What exactly is wrong, for people. */
  detail?: string;
}

type Parsed = { record: Record<string, unknown> } | { error: string };

/** The chain check itself, fed one record at a time in file order. */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private records = 0;
  private trailer: { count: number; hash: string } | null = null;
  private bad: { seq: number; reason: TamperKind; detail: string } | null = null;
  /** A seq missing at its place: `deleted` unless it turns up later (then `reordered`). */
  private missing: { seq: number; detail: string } | null = null;

  constructor(private readonly format: ExportFormat) {}

  add(parsed: Parsed): void {
    this.records++;
    if (this.bad) return;
    if (this.missing) {
      if ('record' in parsed && parsed.record.seq === this.missing.seq) {
        this.fail(this.missing.seq, 'reordered', `record ${this.missing.seq} is not at its place: it comes later in the export`);
      }
      return;
    }
    if (this.trailer) {
      this.fail(this.expectedSeq, 'inserted', 'data follows the export_end trailer');
      return;
    }
    if ('error' in parsed) {
      this.fail(this.expectedSeq, 'malformed', parsed.error);
      return;
    }
    const r = parsed.record;
    const seq = r.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof r.hash !== 'string' || typeof r.prev_hash !== 'string') {
      this.fail(this.expectedSeq, 'malformed', 'record lacks seq, prev_hash or hash');
      return;
    }
    if (referenceRecordHash(r) !== r.hash) {
      this.fail(this.expectedSeq, 'edited', `record at seq ${this.expectedSeq} does not match its hash`);
      return;
    }
    if (seq > this.expectedSeq) {
      this.missing = { seq: this.expectedSeq, detail: `seq ${this.expectedSeq} is missing (next record has seq ${seq})` };
      return;
    }
    if (seq < this.expectedSeq) {
      this.fail(this.expectedSeq, 'inserted', `a record with seq ${seq} appears again at seq ${this.expectedSeq}`);
      return;
    }
    if (r.prev_hash !== this.prevHash) {
      // This record is intact (its hash verified), so the one before it changed and was re-hashed.
      const seqBefore = Math.max(1, seq - 1);
      this.fail(seqBefore, 'edited', `record ${seq} does not chain to record ${seqBefore}: record ${seqBefore} was altered`);
      return;
    }
    if (r.type === 'export_end') {
      if (r.format_version !== EXPORT_FORMAT_VERSION) {
        this.fail(seq, 'malformed', `unknown export format version ${JSON.stringify(r.format_version)}`);
        return;
      }
      const count = r.count;
      const decisions = seq - 1;
      if (count !== decisions || r.last_hash !== this.prevHash) {
        if (typeof count === 'number' && count > decisions) this.fail(seq, 'truncated', `the trailer counts ${count} records, ${decisions} came`);
        else this.fail(seq, 'edited', 'the trailer does not match the records before it');
        return;
      }
      this.trailer = { count: decisions, hash: r.hash };
    } else if (r.type !== 'decision') {
      this.fail(seq, 'malformed', `unknown record type ${JSON.stringify(r.type)}`);
      return;
    }
    this.prevHash = r.hash;
    this.expectedSeq = seq + 1;
  }

  /**
   * The input's last line, which did not end with a line break. If it is not a record, the export was cut
   * inside it: truncated, not malformed.
   */
  addFinal(parsed: Parsed): void {
    const broken = 'error' in parsed || referenceRecordHash(parsed.record) !== parsed.record.hash;
    if (broken && !this.bad && !this.missing && !this.trailer) {
      this.records++;
      this.fail(this.expectedSeq, 'truncated', `the export ends inside record ${this.expectedSeq}`);
      return;
    }
    this.add(parsed);
  }

  /** The input ended inside a quoted CSV field. */
  cutShort(detail: string): void {
    if (!this.bad && !this.missing && !this.trailer) this.fail(this.expectedSeq, 'truncated', detail);
    else if (!this.bad) this.malformed(detail);
  }

  /** Record a failure that is not about one record (a CSV syntax error, an unreadable header). */
  malformed(detail: string): void {
    if (!this.bad) this.fail(this.expectedSeq, 'malformed', detail);
  }

  finish(): VerifyResult {
    if (!this.bad && this.missing) this.fail(this.missing.seq, 'deleted', this.missing.detail);
    if (!this.bad && !this.trailer) {
      this.fail(this.expectedSeq, 'truncated', 'the export ends without its export_end trailer');
    }
    if (this.bad) {
      return { ok: false, format: this.format, records: this.records, first_bad_seq: this.bad.seq, reason: this.bad.reason, detail: this.bad.detail };
    }
    return { ok: true, format: this.format, records: this.records, count: this.trailer!.count, final_hash: this.trailer!.hash };
  }

  private fail(seq: number, reason: TamperKind, detail: string): void {
    if (!this.bad) this.bad = { seq, reason, detail };
  }
}

function parseNdjsonLine(line: string): Parsed {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'line is not a JSON object' };
    return { record: value as Record<string, unknown> };
  } catch {
    return { error: 'line is not JSON' };
  }
}

const EXPECTED_HEADER = COLUMNS.map((c) => c.name).join(',');

/** Verify an export given as text chunks (any split). */
export async function verifyExport(chunks: AsyncIterable<string> | Iterable<string>): Promise<VerifyResult> {
  let format: ExportFormat | null = null;
  let verifier: ChainVerifier | null = null;
  // NDJSON: the incomplete last line so far. CSV: the reader, and whether the header has been checked.
  let pending = '';
  let csv: CsvReader | null = null;
  let header = false;

  const csvRows = (rows: Array<Array<string | null>>, final = false) => {
    for (const row of rows) {
      if (!header) {
        header = true;
        if (row.map((c) => c ?? '').join(',') !== EXPECTED_HEADER) verifier!.malformed('the CSV header is not the export header');
        continue;
      }
      if (row.length === 1 && row[0] === null) continue; // blank line
      if (final) verifier!.addFinal(recordFromCsv(row));
      else verifier!.add(recordFromCsv(row));
    }
  };
  const ndjsonLines = (text: string, final: boolean) => {
    pending += text;
    let start = 0;
    for (;;) {
      const nl = pending.indexOf('\n', start);
      if (nl === -1) break;
      const line = pending.slice(start, nl).trim();
      start = nl + 1;
      if (line !== '') verifier!.add(parseNdjsonLine(line));
    }
    pending = pending.slice(start);
    if (final && pending.trim() !== '') {
      verifier!.addFinal(parseNdjsonLine(pending.trim()));
      pending = '';
    }
  };

  try {
    for await (const chunk of chunks) {
      if (format === null) {
        const trimmed = chunk.replace(/^\uFEFF/, '').trimStart();
        if (trimmed === '') continue;
        format = trimmed.startsWith('{') ? 'ndjson' : 'csv';
        verifier = new ChainVerifier(format);
        if (format === 'csv') csv = new CsvReader();
        if (format === 'ndjson') {
          ndjsonLines(trimmed, false);
          continue;
        }
        csvRows(csv!.push(chunk.replace(/^\uFEFF/, '')));
        continue;
      }
      if (format === 'ndjson') ndjsonLines(chunk, false);
      else csvRows(csv!.push(chunk));
    }
    if (!verifier) return { ok: false, format: null, records: 0, first_bad_seq: 1, reason: 'truncated', detail: 'the export is empty' };
    if (format === 'ndjson') ndjsonLines('', true);
    else {
      let last: Array<string | null> | undefined;
      try {
        last = csv!.end();
      } catch (err) {
        if (!(err instanceof CsvSyntaxError)) throw err;
        verifier.cutShort(`the export ends inside a quoted field of CSV record ${err.record}`);
      }
      if (last) csvRows([last], true);
    }
  } catch (err) {
    if (!(err instanceof CsvSyntaxError) || !verifier) throw err;
    verifier.malformed(`CSV syntax error in record ${err.record}: ${err.message}`);
  }
  return verifier.finish();
}

/** Verify an export file (what `writ audit verify <file>` runs). Throws only when the file cannot be read. */
export async function verifyExportFile(path: string): Promise<VerifyResult> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  try {
    return await verifyExport(stream as AsyncIterable<string>);
  } finally {
    stream.destroy();
  }
}
