import { PackedColumn, unpackColumn } from './packed-column.js';
import { TypedColumn } from './typed-column.js';

/** JSON form of a KeyColumn: the UTF-8 bytes of every key back to back, and where each row's key ends. */
export interface KeyColumnSnapshot {
  bytes: PackedColumn | string;
  ends: PackedColumn | string;
  /** [row, key] for keys that are not well-formed UTF-16 (lone surrogates), which UTF-8 cannot carry. */
  odd: Array<[number, string]>;
}

const EMPTY = 0;

/**
 * A column of unique string keys (request ids, jtis) with a hash index from key to row, kept in typed arrays.
 *
 * Why not a string[] and a Map: a ledger holds millions of decisions, and each key as a JS string plus a Map
 * entry costs ~90 bytes and two objects the garbage collector must mark on every major collection — pauses the
 * STS would feel. Here a row costs its UTF-8 bytes, 4 bytes of end offset, 4 of hash and ~8 of index slots, and
 * nothing for the collector to visit. Keys are read back (decoded) only when a query returns them.
 *
 * Rows are append-only. A null or empty key stores nothing and reads back as null (the ids kept here are never
 * empty). Adding a key that is already present points the index at the new row. A key with a lone surrogate
 * (which UTF-8 would replace) is kept as a string on the side, so every key reads back exactly.
 */
export class KeyColumn {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  private readonly ends = new TypedColumn(Uint32Array);
  private readonly hashes = new TypedColumn(Uint32Array);
  /** Open addressing, linear probing; a slot holds row + 1 (0 = empty). Never more than half full. */
  private slots = new Int32Array(1 << 10);
  private keys = 0;
  /** Scratch space to encode a looked-up key. */
  private probe = new Uint8Array(512);
  private readonly oddByRow = new Map<number, string>();
  private readonly oddByKey = new Map<string, number>();

  get size(): number {
    return this.ends.size;
  }

  /** Append a row; returns its index. */
  push(key: string | null | undefined): number {
    const row = this.ends.size;
    if (key === null || key === undefined || key.length === 0) {
      this.ends.push(this.used);
      this.hashes.push(0);
      return row;
    }
    if (!isWellFormed(key)) {
      this.ends.push(this.used);
      this.hashes.push(0);
      this.oddByRow.set(row, key);
      this.oddByKey.set(key, row);
      return row;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(key.length * 3);
    const n = encode(key, this.bytes, this.used);
    const hash = fnv1a(this.bytes, this.used, this.used + n);
    this.used += n;
    if (this.used > 0xffffffff) throw new RangeError('key column exceeds 4 GiB');
    this.ends.push(this.used);
    this.hashes.push(hash);
    this.index(row, hash);
    return row;
  }

  /** The row holding `key`, if any. */
  find(key: string): number | undefined {
    if (key.length === 0) return undefined;
    if (!isWellFormed(key)) return this.oddByKey.get(key);
    if (this.probe.length < key.length * 3) this.probe = new Uint8Array(key.length * 3);
    const n = encode(key, this.probe, 0);
    const hash = fnv1a(this.probe, 0, n);
    const slots = this.slots;
    const mask = slots.length - 1;
    const hashes = this.hashes.raw();
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === EMPTY) return undefined;
      const row = slot - 1;
      if (hashes[row] === hash && this.equals(row, this.probe, n)) return row;
    }
  }

  get(row: number): string | null {
    if (this.oddByRow.size !== 0) {
      const odd = this.oddByRow.get(row);
      if (odd !== undefined) return odd;
    }
    const start = row === 0 ? 0 : this.ends.get(row - 1);
    const end = this.ends.get(row);
    if (start === end) return null;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString('utf8');
  }

  reset(): void {
    this.bytes = new Uint8Array(1 << 16);
    this.used = 0;
    this.ends.clear();
    this.hashes.clear();
    this.slots = new Int32Array(1 << 10);
    this.keys = 0;
    this.oddByRow.clear();
    this.oddByKey.clear();
  }

  /** Copies (memcpy): the model may keep appending while the snapshot is written out. */
  snapshot(): KeyColumnSnapshot {
    return {
      bytes: PackedColumn.of(this.bytes, this.used),
      ends: PackedColumn.of(this.ends.raw(), this.ends.size),
      odd: [...this.oddByRow],
    };
  }

  restore(s: KeyColumnSnapshot, rows: number): void {
    this.reset();
    const ends = unpackColumn(s.ends, rows);
    const total = rows === 0 ? 0 : ends[rows - 1]!;
    const bytes = unpackColumn(s.bytes, total);
    this.bytes = new Uint8Array(Math.max(1 << 16, total));
    this.bytes.set(bytes);
    this.used = total;
    this.ends.load(ends);
    let capacity = 1 << 10;
    while (capacity < rows * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    let start = 0;
    for (let row = 0; row < rows; row++) {
      const end = ends[row]!;
      if (end < start || end > total) throw new TypeError('key column snapshot: ends out of order');
      const hash = end === start ? 0 : fnv1a(this.bytes, start, end);
      this.hashes.push(hash);
      if (end !== start) this.index(row, hash);
      start = end;
    }
    for (const [row, key] of s.odd) {
      this.oddByRow.set(row, key);
      this.oddByKey.set(key, row);
    }
  }

  private index(row: number, hash: number): void {
    if ((this.keys + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const slots = this.slots;
    const mask = slots.length - 1;
    const hashes = this.hashes.raw();
    const start = row === 0 ? 0 : this.ends.get(row - 1);
    const length = this.ends.get(row) - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === EMPTY) {
        slots[i] = row + 1;
        this.keys++;
        return;
      }
      // The same key again: the newest row wins.
      const other = slot - 1;
      if (hashes[other] === hash && this.equals(other, this.bytes.subarray(start, start + length), length)) {
        slots[i] = row + 1;
        return;
      }
    }
  }

  private rehash(capacity: number): void {
    const slots = new Int32Array(capacity);
    const mask = capacity - 1;
    const hashes = this.hashes.raw();
    for (const slot of this.slots) {
      if (slot === EMPTY) continue;
      let i = hashes[slot - 1]! & mask;
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = slot;
    }
    this.slots = slots;
  }

  private equals(row: number, key: Uint8Array, length: number): boolean {
    const start = row === 0 ? 0 : this.ends.get(row - 1);
    if (this.ends.get(row) - start !== length) return false;
    const bytes = this.bytes;
    for (let i = 0; i < length; i++) if (bytes[start + i] !== key[i]) return false;
    return true;
  }

  private reserve(extra: number): void {
    if (this.used + extra <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.used + extra) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.bytes.subarray(0, this.used));
    this.bytes = next;
  }
}

/** No lone surrogate: UTF-8 round-trips the string. */
function isWellFormed(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00 || i + 1 >= key.length) return false;
    const next = key.charCodeAt(i + 1);
    if (next < 0xdc00 || next > 0xdfff) return false;
    i++;
  }
  return true;
}

/** UTF-8 encode a well-formed `key` at `offset`; ASCII (every id writ makes) is copied in JS, the rest via Buffer. */
function encode(key: string, out: Uint8Array, offset: number): number {
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(key, offset, 'utf8');
    out[offset + i] = c;
  }
  return n;
}

/** 32-bit FNV-1a. */
function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
