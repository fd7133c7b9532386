/**
 * CSV as audit exports and decision lists write it: RFC 4180 (comma, CRLF, fields quoted when they hold a
 * comma, quote, CR or LF; quotes doubled), plus two rules that make every cell round-trip exactly, which the
 * hash chain of an export needs:
 *
 * - null is an empty unquoted field; the empty string is `""`.
 * - formula injection: a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, TAB or
 *   CR) is written with a leading `'`; so that this is reversible, a cell that itself starts with `'` gets one
 *   too. The reader removes exactly one leading `'`.
 */

/** A cell value before encoding. */
export type CsvValue = string | number | null;

const NEEDS_QUOTES = /[",\r\n]/;
/** Cells starting with one of these are defused (see the module comment). */
export const FORMULA_START = /^[=+\-@\t\r']/;

/** Encode one cell. */
export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  let s = typeof value === 'number' ? String(value) : value;
  if (s === '') return '""';
  // = + - @ TAB CR ' (FORMULA_START), tested by code point: this runs for every cell of an export.
  const c = s.charCodeAt(0);
  if (c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40 || c === 0x09 || c === 0x0d || c === 0x27) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Encode one row, CRLF-terminated. */
export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** Undo the formula guard of {@link csvCell}. */
function unguard(s: string): string {
  return s.startsWith("'") ? s.slice(1) : s;
}

/** A CSV file is not well-formed (an unterminated quote, a quote inside an unquoted field, ...). */
export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';
  constructor(
    message: string,
    /** 1-based record number (the header is record 1). */
    readonly record: number,
  ) {
    super(message);
  }
}

/**
 * Incremental CSV reader: feed it text chunks of any size, get back complete rows (cells decoded: `null` for
 * an empty unquoted field). Holds at most one partial row, so reading a file of any length takes constant
 * memory.
 */
export class CsvReader {
  private row: Array<string | null> = [];
  private cell = '';
  /** 0: at the start of a cell; 1: in an unquoted cell; 2: in a quoted cell; 3: just after a quote inside a quoted cell. */
  private state: 0 | 1 | 2 | 3 = 0;
  private quoted = false;
  private records = 0;
  /** A CR seen at the end of a chunk: the row ended, a following LF belongs to it. */
  private pendingCr = false;

  /** Rows completed by this chunk. */
  push(chunk: string): Array<Array<string | null>> {
    const out: Array<Array<string | null>> = [];
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk.startsWith('\n')) i = 1;
    }
    const n = chunk.length;
    while (i < n) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case 0:
        case 1: {
          if (c === 0x22 /* " */) {
            if (this.state === 1) throw new CsvSyntaxError('quote inside an unquoted field', this.records + 1);
            this.state = 2;
            this.quoted = true;
            i++;
          } else if (c === 0x2c /* , */) {
            this.endCell();
            i++;
          } else if (c === 0x0d || c === 0x0a) {
            out.push(this.endRow());
            if (c === 0x0d) {
              if (i + 1 < n) {
                if (chunk.charCodeAt(i + 1) === 0x0a) i++;
              } else this.pendingCr = true;
            }
            i++;
          } else {
            // Copy the run of ordinary characters at once.
            let j = i + 1;
            while (j < n) {
              const d = chunk.charCodeAt(j);
              if (d === 0x22 || d === 0x2c || d === 0x0d || d === 0x0a) break;
              j++;
            }
            this.cell += chunk.slice(i, j);
            this.state = 1;
            i = j;
          }
          break;
        }
        case 2: {
          const j = chunk.indexOf('"', i);
          if (j === -1) {
            this.cell += chunk.slice(i);
            i = n;
          } else {
            this.cell += chunk.slice(i, j);
            this.state = 3;
            i = j + 1;
          }
          break;
        }
        case 3: {
          if (c === 0x22) {
            this.cell += '"';
            this.state = 2;
            i++;
          } else if (c === 0x2c) {
            this.endCell();
            i++;
          } else if (c === 0x0d || c === 0x0a) {
            out.push(this.endRow());
            if (c === 0x0d) {
              if (i + 1 < n) {
                if (chunk.charCodeAt(i + 1) === 0x0a) i++;
              } else this.pendingCr = true;
            }
            i++;
          } else {
            throw new CsvSyntaxError('characters after a closing quote', this.records + 1);
          }
          break;
        }
      }
    }
    return out;
  }

  /** Call at end of input: the last row if the input did not end with a line break. */
  end(): Array<string | null> | undefined {
    if (this.state === 2) throw new CsvSyntaxError('unterminated quoted field', this.records + 1);
    if (this.state === 0 && this.row.length === 0) return undefined;
    return this.endRow();
  }

  private endCell(): void {
    this.row.push(this.quoted ? unguard(this.cell) : this.cell === '' ? null : unguard(this.cell));
    this.cell = '';
    this.quoted = false;
    this.state = 0;
  }

  private endRow(): Array<string | null> {
    this.endCell();
    const row = this.row;
    this.row = [];
    this.records++;
    return row;
  }
}

/** Parse a whole CSV text (tests and small inputs). */
export function parseCsv(text: string): Array<Array<string | null>> {
  const reader = new CsvReader();
  const rows = reader.push(text);
  const last = reader.end();
  if (last) rows.push(last);
  return rows;
}
