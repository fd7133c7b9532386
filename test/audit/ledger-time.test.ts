import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import { eventAt, parseAsOf, positionAtTime, resolveAsOf, timeOfPosition } from '../../src/audit/ledger-time.js';
import { AuditError } from '../../src/audit/audit-errors.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

/** A memory ledger whose event i was recorded at T0 + offsets[i] ms (offsets non-decreasing). */
async function ledgerAt(offsets: number[]): Promise<MemoryEventStore> {
  vi.useFakeTimers({ toFake: ['Date'] });
  const store = new MemoryEventStore();
  for (const [i, o] of offsets.entries()) {
    vi.setSystemTime(T0 + o);
    await store.appendToStream(`s-${i % 3}`, [{ type: 'X', data: { i } }]);
  }
  vi.useRealTimers();
  return store;
}

describe('ledger time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('finds the last position recorded at or before a time', async () => {
    const store = await ledgerAt([0, 1000, 1000, 2000, 5000]);
    const at = (ms: number) => positionAtTime(store, new Date(T0 + ms).toISOString());
    expect(await at(-1)).toBe(-1n);
    expect(await at(0)).toBe(0n);
    expect(await at(999)).toBe(0n);
    expect(await at(1000)).toBe(2n);
    expect(await at(4999)).toBe(3n);
    expect(await at(5000)).toBe(4n);
    expect(await at(1e9)).toBe(4n);
    expect(await positionAtTime(new MemoryEventStore(), new Date(T0).toISOString())).toBe(-1n);
  });

  it('agrees with a linear scan on any ledger', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(50), { maxLength: 40 }), fc.integer({ min: -10, max: 1500 }), async (steps, probe) => {
        const offsets: number[] = [];
        let t = 0;
        for (const s of steps) offsets.push((t += s));
        const store = await ledgerAt(offsets);
        let expected = -1n;
        offsets.forEach((o, i) => {
          if (o <= probe) expected = BigInt(i);
        });
        expect(await positionAtTime(store, new Date(T0 + probe).toISOString())).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('reads the time of a position, and nothing for -1 or past the head', async () => {
    const store = await ledgerAt([0, 10]);
    expect(await timeOfPosition(store, 1n)).toBe(new Date(T0 + 10).toISOString());
    expect(await timeOfPosition(store, -1n)).toBeNull();
    expect(await eventAt(store, 2n)).toBeUndefined();
  });

  it('parses as_of as a position or an RFC 3339 time, and clamps positions to the ledger', async () => {
    expect(parseAsOf('42')).toEqual({ position: 42n });
    expect(parseAsOf('2025-06-01T14:00:00+02:00')).toEqual({ time: '2025-06-01T12:00:00.000Z' });
    expect(() => parseAsOf('yesterday')).toThrow(AuditError);
    expect(() => parseAsOf('2025-13-45')).toThrow(AuditError);
    const store = await ledgerAt([0, 10, 20]);
    expect(await resolveAsOf(store, { position: 99n })).toBe(2n);
    expect(await resolveAsOf(store, { position: -5n })).toBe(-1n);
    expect(await resolveAsOf(store, { time: new Date(T0 + 15).toISOString() })).toBe(1n);
  });
});
