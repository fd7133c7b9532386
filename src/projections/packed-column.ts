/**
 * Numeric columns in snapshots, as base64 of their bytes. Writing a million-row column as a JSON array of
 * numbers costs a JS array of a million elements and a few hundred milliseconds of number formatting, all of it
 * while the STS waits (snapshots are taken between two events); copying the typed array costs a memcpy.
 *
 * `PackedColumn` holds a private copy of the rows and turns it into text only when JSON.stringify asks (its
 * `toJSON`), which the checkpoint store does later, part by part. The text is `<kind>:<base64>`: `f64` keeps
 * doubles exact, `u8`/`u16`/`u32` are picked by the largest value so that small ids cost one or two bytes.
 * Bytes are little-endian (every platform Node supports in practice); a big-endian host refuses to read them
 * (the model is rebuilt instead of misread).
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A copy of a typed column, serialized lazily to `<kind>:<base64>`. */
export class PackedColumn {
  private constructor(private readonly values: Float64Array | Uint32Array | Uint8Array) {}

  /** Copy the first `length` rows (the copy is what makes the snapshot consistent: the model keeps folding). */
  static of(values: Float64Array | Uint32Array | Uint8Array, length: number): PackedColumn {
    return new PackedColumn(values.slice(0, length));
  }

  get length(): number {
    return this.values.length;
  }

  toJSON(): string {
    if (!LITTLE_ENDIAN) throw new Error('packed columns are written little-endian only');
    const v = this.values;
    if (v instanceof Float64Array) return `f64:${base64(v)}`;
    if (v instanceof Uint8Array) return `u8:${base64(v)}`;
    let max = 0;
    for (let i = 0; i < v.length; i++) if (v[i]! > max) max = v[i]!;
    if (max < 2 ** 8) return `u8:${base64(Uint8Array.from(v))}`;
    if (max < 2 ** 16) return `u16:${base64(Uint16Array.from(v))}`;
    return `u32:${base64(v)}`;
  }
}

/**
 * Read a packed column back (from its JSON text, or from the PackedColumn itself when a snapshot is restored
 * without going through JSON). Throws TypeError on anything else.
 */
export function unpackColumn(packed: unknown, expectedLength: number): Float64Array | Uint32Array | Uint16Array | Uint8Array {
  const text = packed instanceof PackedColumn ? packed.toJSON() : packed;
  if (typeof text !== 'string') throw new TypeError('packed column: not a string');
  if (!LITTLE_ENDIAN) throw new TypeError('packed column: little-endian data on a big-endian host');
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const bytes = Buffer.from(text.slice(colon + 1), 'base64');
  const width = kind === 'f64' ? 8 : kind === 'u32' ? 4 : kind === 'u16' ? 2 : kind === 'u8' ? 1 : 0;
  if (width === 0 || bytes.length !== expectedLength * width) throw new TypeError(`packed column: bad kind or length (${kind}, ${bytes.length} bytes)`);
  // Copy into an aligned buffer: Buffer's pool offset may not be a multiple of the width.
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  switch (kind) {
    case 'f64':
      return new Float64Array(aligned.buffer);
    case 'u32':
      return new Uint32Array(aligned.buffer);
    case 'u16':
      return new Uint16Array(aligned.buffer);
    default:
      return aligned;
  }
}

function base64(v: Float64Array | Uint32Array | Uint16Array | Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}
