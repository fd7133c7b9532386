type TypedArray = Float64Array | Uint32Array | Uint8Array;
type TypedArrayConstructor<T extends TypedArray> = { new (length: number): T };
/** What every member of the union shares; TypeScript cannot call `set` on the union itself. */
type Settable = { set(array: ArrayLike<number>, offset?: number): void };

/**
 * A growable typed array: one column of a columnar read model. Rows in typed arrays cost a few bytes each and
 * are invisible to the garbage collector's marking, which matters when a model holds millions of rows that the
 * STS must not pause on.
 */
export class TypedColumn<T extends TypedArray> {
  private data: T;
  private length = 0;

  constructor(
    private readonly ctor: TypedArrayConstructor<T>,
    initialCapacity = 1024,
  ) {
    this.data = new ctor(initialCapacity);
  }

  get size(): number {
    return this.length;
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  get(row: number): number {
    return this.data[row]!;
  }

  set(row: number, value: number): void {
    this.data[row] = value;
  }

  /** The live backing array (valid up to `size`); for tight scan loops only, never handed out. */
  raw(): T {
    return this.data;
  }

  clear(): void {
    this.length = 0;
    this.data = new this.ctor(1024);
  }

  /** A plain array copy of the rows, for snapshots. */
  toArray(): number[] {
    return Array.from(this.data.subarray(0, this.length));
  }

  /** Replace the contents (snapshot restore). */
  load(values: ArrayLike<number>): void {
    this.data = new this.ctor(Math.max(1024, values.length));
    (this.data as Settable).set(values);
    this.length = values.length;
  }

  private grow(min: number): void {
    let capacity = Math.max(1024, this.data.length * 2);
    while (capacity < min) capacity *= 2;
    const next = new this.ctor(capacity);
    (next as Settable).set(this.data);
    this.data = next;
  }
}
