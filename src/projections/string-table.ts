/**
 * Interns strings as small integers. Read models keep millions of decisions and sessions whose zone,
 * application, subject and resource values repeat endlessly; JSON.parse makes a fresh copy of each one, so
 * without interning every row would pay for its own copies. Index 0 stands for null.
 */
export class StringTable {
  private readonly values: string[] = [''];
  private readonly index = new Map<string, number>();

  /** The id of `value`, adding it if new; 0 for null/undefined. */
  intern(value: string | null | undefined): number {
    if (value === null || value === undefined) return 0;
    let id = this.index.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.index.set(value, id);
    }
    return id;
  }

  /** The id of `value` if it was ever interned, else undefined (a query for it can match nothing). */
  lookup(value: string): number | undefined {
    return this.index.get(value);
  }

  /** The canonical instance of `value` (so rows share one copy). */
  canonical(value: string): string {
    return this.values[this.intern(value)]!;
  }

  get(id: number): string | null {
    return id === 0 ? null : this.values[id]!;
  }

  get size(): number {
    return this.values.length - 1;
  }

  reset(): void {
    this.values.length = 1;
    this.index.clear();
  }

  /** JSON form: the values in id order (without the null slot). */
  toJSON(): string[] {
    return this.values.slice(1);
  }

  /** Replace the contents with a `toJSON()` output; ids are preserved. */
  load(values: readonly string[]): void {
    this.reset();
    for (const v of values) {
      if (typeof v !== 'string') throw new TypeError('string table snapshot holds a non-string');
      this.values.push(v);
      this.index.set(v, this.values.length - 1);
    }
  }
}
