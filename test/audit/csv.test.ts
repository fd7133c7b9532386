import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CsvReader, CsvSyntaxError, csvCell, csvRow, parseCsv } from '../../src/audit/csv.js';

describe('csv cells', () => {
  it('leaves plain text alone and quotes what RFC 4180 requires', () => {
    expect(csvCell('abc')).toBe('abc');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
    expect(csvCell(42)).toBe('42');
  });

  it('tells null (empty) from the empty string ("")', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell('')).toBe('""');
    expect(parseCsv('a,,"",b\r\n')).toEqual([['a', null, '', 'b']]);
  });

  it('defuses spreadsheet formulas with a leading quote, reversibly', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    // A value that itself starts with a quote gets one more, so the reader can always remove exactly one.
    expect(csvCell("'quoted")).toBe("''quoted");
    for (const v of ['=1+1', '+1', '-1', '@x', "'x", "''x", '\tx', '\rx']) {
      expect(parseCsv(csvRow([v]))).toEqual([[v]]);
    }
  });

  it('round-trips any row, whatever the chunking', () => {
    const cell = fc.oneof(
      fc.constant(null),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.constantFrom('', ',', '"', '\r\n', '\n', '\r', "'", '=', '-', ' x ', 'é€😀'),
      fc.array(fc.constantFrom('a', ',', '"', '\n', '\r', "'", '=', ' '), { maxLength: 8 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (rows, cuts) => {
        const text = rows.map(csvRow).join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const reader = new CsvReader();
        const out: Array<Array<string | null>> = [];
        let at = 0;
        for (const p of [...points, text.length]) {
          out.push(...reader.push(text.slice(at, p)));
          at = p;
        }
        const last = reader.end();
        if (last) out.push(last);
        expect(out).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts LF-only line ends and a last row without a line break', () => {
    expect(parseCsv('a,b\nc,d')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('refuses broken quoting', () => {
    expect(() => parseCsv('"abc\r\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('ab"c\r\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('"ab"c\r\n')).toThrow(CsvSyntaxError);
  });
});
