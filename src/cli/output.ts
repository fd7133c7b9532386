/** Output helpers: `--json` prints machine-readable JSON; otherwise aligned tables and key: value lines. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printRecord(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [k, v] of Object.entries(record)) {
    process.stdout.write(`${k.padEnd(width)}  ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
  }
}

export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(' ') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  process.stdout.write(`${columns.map((c, i) => c.toUpperCase().padEnd(widths[i]!)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${columns.map((c, i) => cell(r[c]).padEnd(widths[i]!)).join('  ')}\n`);
}

/** Print either JSON or the human form. */
export function emit(json: boolean, value: unknown, human: () => void): void {
  if (json) printJson(value);
  else human();
}

/** A progress bar on stderr (so stdout stays parseable); silent when stderr is not a terminal and --json is set. */
export function progress(label: string, enabled: boolean): { update(done: number, total: number): void; stop(): void } {
  let last = 0;
  return {
    update(done, total) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
      process.stderr.write(`\r${label} [${bar}] ${pct}% ${done}/${total}`);
    },
    stop() {
      if (enabled) process.stderr.write('\n');
    },
  };
}
