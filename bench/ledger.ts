/**
 * Ledger benchmark: durable appends per second on the SQLite store (one appender awaiting each append, and
 * 32 concurrent appenders with and without group commit), and readAll throughput over a large ledger.
 *
 * `npx tsx bench/ledger.ts [events]` prints one JSON object; `bench/run.ts` calls `benchLedger`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteEventStore, type SqliteEventStoreOptions } from '../src/store/sqlite-event-store.js';

/** Options of {@link benchLedger}. */
export interface BenchLedgerOptions {
  /** Events in the ledger that readAll scans (default 1,000,000). */
  events?: number;
  /** Appends made by the single sequential appender (default 5,000). */
  sequentialAppends?: number;
  /** Appends made by each of the 32 concurrent appenders (default 1,000). */
  appendsPerConcurrentAppender?: number;
}

const CONCURRENT_APPENDERS = 32;

/** A payload the size of a typical writ event (a grant with a few scopes and a correlation id). */
function payload(i: number): { data: Record<string, unknown>; metadata: Record<string, unknown> } {
  return {
    data: {
      grantId: `grant-${i}`,
      zoneId: 'zone-bench',
      subject: `user:${i % 997}@example.com`,
      resource: `resource-${i % 101}`,
      scopes: ['documents:read', 'documents:write', 'reports:read'],
      expiresAt: '2030-01-01T00:00:00.000Z',
    },
    metadata: { correlationId: `req-${i}`, actor: 'bench' },
  };
}

/** Runs the ledger benchmark on temp files (removed afterwards) and returns its figures. */
export async function benchLedger(opts: BenchLedgerOptions = {}): Promise<Record<string, number>> {
  const events = opts.events ?? 1_000_000;
  const sequentialAppends = opts.sequentialAppends ?? 5_000;
  const perAppender = opts.appendsPerConcurrentAppender ?? 1_000;
  const dir = mkdtempSync(join(tmpdir(), 'writ-bench-ledger-'));
  try {
    const sequential = await appendSequentially(join(dir, 'sequential.db'), sequentialAppends);
    const grouped = await appendConcurrently(join(dir, 'grouped.db'), perAppender, {});
    // Same load, group commit on the event loop instead of the writer thread.
    const inline = await appendConcurrently(join(dir, 'inline.db'), perAppender, { writer: 'inline' });
    // Baseline: the same load with one transaction (one fsync) per append.
    const ungrouped = await appendConcurrently(join(dir, 'ungrouped.db'), Math.max(1, Math.floor(perAppender / 4)), {
      maxBatchAppends: 1,
    });
    const read = await readAllThroughput(join(dir, 'read.db'), events);
    return {
      group_commit_speedup_ratio: round(grouped.appendsPerSecond / ungrouped.appendsPerSecond, 2),
      sqlite_append_1_appender_per_s: Math.round(sequential.appendsPerSecond),
      sqlite_append_1_appender_p50_ms: round(sequential.p50Ms, 3),
      sqlite_append_32_appenders_per_s: Math.round(grouped.appendsPerSecond),
      sqlite_append_32_appenders_p50_ms: round(grouped.p50Ms, 3),
      sqlite_append_32_appenders_p99_ms: round(grouped.p99Ms, 3),
      sqlite_append_32_appenders_avg_group: round(grouped.appendsPerTransaction, 1),
      writer_thread_vs_inline_ratio: round(grouped.appendsPerSecond / inline.appendsPerSecond, 2),
      sqlite_append_32_appenders_inline_writer_per_s: Math.round(inline.appendsPerSecond),
      sqlite_append_32_appenders_ungrouped_per_s: Math.round(ungrouped.appendsPerSecond),
      sqlite_read_all_events: read.events,
      sqlite_read_all_events_per_s: Math.round(read.eventsPerSecond),
      sqlite_read_all_heap_growth_mb: round(read.heapGrowthMb, 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface AppendFigures {
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  appendsPerTransaction: number;
}

async function appendSequentially(file: string, count: number): Promise<AppendFigures> {
  const store = SqliteEventStore.open(file);
  try {
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const { data, metadata } = payload(i);
      const t = performance.now();
      await store.appendToStream('grant-sequential', [{ type: 'GrantIssued', data, metadata }], {
        expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1),
      });
      latencies.push(performance.now() - t);
    }
    return figures(count, performance.now() - started, latencies, store);
  } finally {
    await store.close();
  }
}

async function appendConcurrently(file: string, perAppender: number, options: SqliteEventStoreOptions): Promise<AppendFigures> {
  const store = SqliteEventStore.open(file, options);
  try {
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT_APPENDERS }, async (_, a) => {
        for (let i = 0; i < perAppender; i++) {
          const { data, metadata } = payload(a * perAppender + i);
          const t = performance.now();
          await store.appendToStream(`grant-appender-${a}`, [{ type: 'GrantIssued', data, metadata }], {
            expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1),
          });
          latencies.push(performance.now() - t);
        }
      }),
    );
    return figures(CONCURRENT_APPENDERS * perAppender, performance.now() - started, latencies, store);
  } finally {
    await store.close();
  }
}

function figures(count: number, elapsedMs: number, latencies: number[], store: SqliteEventStore): AppendFigures {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const { transactions, appends } = store.stats();
  return {
    appendsPerSecond: count / (elapsedMs / 1000),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    appendsPerTransaction: appends / Math.max(1, transactions),
  };
}

async function readAllThroughput(
  file: string,
  events: number,
): Promise<{ events: number; eventsPerSecond: number; heapGrowthMb: number }> {
  // The store creates the schema; the bulk load then bypasses it, because setup speed is not what is measured.
  await SqliteEventStore.open(file).close();
  bulkLoad(file, events);
  const store = SqliteEventStore.open(file);
  try {
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    let count = 0;
    let last = -1n;
    const started = performance.now();
    for await (const event of store.readAll()) {
      // Checked so that the loop cannot be optimised into nothing and the order is really verified.
      if (event.position <= last) throw new Error(`readAll out of order at ${event.position}`);
      last = event.position;
      if (++count % 50_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    const elapsedMs = performance.now() - started;
    if (count !== events) throw new Error(`readAll returned ${count} events, expected ${events}`);
    return { events: count, eventsPerSecond: count / (elapsedMs / 1000), heapGrowthMb: (peakHeap - heapBefore) / 2 ** 20 };
  } finally {
    await store.close();
  }
}

/** Inserts `count` events over 1,000 streams straight into the events table, without fsyncs. */
function bulkLoad(file: string, count: number): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    const insert = db.prepare(
      'INSERT INTO events (position, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const streams = 1000;
    const recordedAt = new Date().toISOString();
    const chunk = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const { data, metadata } = payload(i);
        insert.run(i, `grant-bulk-${i % streams}`, Math.floor(i / streams), 'GrantIssued', JSON.stringify(data), JSON.stringify(metadata), recordedAt);
      }
    });
    for (let from = 0; from < count; from += 100_000) chunk(from, Math.min(count, from + 100_000));
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchLedger({ events })
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
