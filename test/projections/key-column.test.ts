import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyColumn } from '../../src/projections/key-column.js';

describe('KeyColumn', () => {
  it('stores keys and finds them again, the newest row winning', () => {
    const col = new KeyColumn();
    expect(col.push('req-1')).toBe(0);
    expect(col.push(null)).toBe(1);
    expect(col.push('réq-2 ✓')).toBe(2);
    expect(col.push('a\uD800b')).toBe(3);
    expect(col.push('req-1')).toBe(4);
    expect(col.get(0)).toBe('req-1');
    expect(col.get(1)).toBeNull();
    expect(col.get(2)).toBe('réq-2 ✓');
    expect(col.get(3)).toBe('a\uD800b');
    expect(col.find('req-1')).toBe(4);
    expect(col.find('réq-2 ✓')).toBe(2);
    expect(col.find('a\uD800b')).toBe(3);
    // The replacement character that UTF-8 would substitute must not match the lone surrogate.
    expect(col.find('a\uFFFDb')).toBeUndefined();
    expect(col.find('nope')).toBeUndefined();
    expect(col.find('')).toBeUndefined();
  });

  it('behaves like a Map and an array, across growth and a JSON snapshot (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('a', 'b', 'req_01', null), fc.string({ maxLength: 3 })), { maxLength: 3000 }),
        (keys) => {
          const col = new KeyColumn();
          const rows = new Map<string, number>();
          keys.forEach((k, i) => {
            expect(col.push(k)).toBe(i);
            if (k) rows.set(k, i);
          });
          const copy = new KeyColumn();
          copy.restore(JSON.parse(JSON.stringify(col.snapshot())), keys.length);
          for (const c of [col, copy]) {
            keys.forEach((k, i) => expect(c.get(i)).toBe(k ? k : null));
            for (const [k, row] of rows) expect(c.find(k)).toBe(row);
            expect(c.find('\u0000absent')).toBeUndefined();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
