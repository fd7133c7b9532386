import {
  CSV_HEADER,
  GENESIS_HASH,
  csvDecision,
  csvRecord,
  ndjsonDecision,
  ndjsonRecord,
  trailerRecord,
  type DecisionSource,
  type ExportRecord,
} from './export-record.js';

/** Formats of an export: one JSON record per line, or CSV with a header row. Both hash-chained alike. */
export type ExportFormat = 'ndjson' | 'csv';

/** Media type of each format. */
export const EXPORT_CONTENT_TYPE: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** Text handed to the consumer per chunk: large enough that per-chunk overhead vanishes, small enough to stay constant memory. */
const CHUNK_CHARS = 64 * 1024;

/**
 * A tamper-evident export of decisions, as text chunks: each decision becomes a record chained to the previous
 * one by `prev_hash`, numbered by `seq` from 1, and a final `export_end` trailer (count and last hash, chained
 * too) marks the export complete. Memory is constant whatever the number of records: nothing is held but the
 * current chunk and the previous hash.
 *
 * A consumer that stops early (client gone) simply stops pulling; a source that fails ends the export without a
 * trailer, which `verify` reports as truncated.
 */
export async function* exportChunks(decisions: AsyncIterable<DecisionSource>, format: ExportFormat): AsyncGenerator<string> {
  const encode = format === 'ndjson' ? ndjsonRecord : csvRecord;
  const encodeDecision = format === 'ndjson' ? ndjsonDecision : csvDecision;
  let buffer = format === 'csv' ? CSV_HEADER : '';
  let seq = 0;
  let prevHash = GENESIS_HASH;
  let lastDecisionHash = GENESIS_HASH;
  const append = (record: ExportRecord): string => {
    const { line, hash } = encode(record);
    buffer += line;
    prevHash = hash;
    return hash;
  };
  for await (const d of decisions) {
    seq++;
    const { line, hash } = encodeDecision(d, seq, prevHash);
    buffer += line;
    prevHash = lastDecisionHash = hash;
    if (buffer.length >= CHUNK_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  append(trailerRecord(seq + 1, seq, lastDecisionHash, prevHash));
  yield buffer;
}
