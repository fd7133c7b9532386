// The SQLite ledger's writer thread (plain JavaScript so that it loads in any runtime: node, tsx, vitest).
//
// Why a thread: better-sqlite3 is synchronous, so a group commit's fsync (milliseconds on real disks) would
// otherwise stall the event loop that serves token exchanges. Here the main thread keeps serving requests
// and queueing the next group while this thread commits the current one; the two pipeline.
//
// Protocol: {id, kind: 'write', batch: [{stream, expected: 'no_stream'|'any'|bigint, events: [{type, data, metadata}]}]}
// answers {id, outcomes: [{ok: true, nextRevision, position} | {ok: false, conflict: true, actual: bigint|null}]}
// or {id, error: {message, code}} when the whole group rolled back. {id, kind: 'close'} closes the file.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, busyTimeoutMs } = workerData;
const db = new Database(path, { timeout: busyTimeoutMs });
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
db.pragma('journal_mode = WAL');
// FULL: a commit is on disk (WAL fsynced) before its appends are acknowledged.
db.pragma('synchronous = FULL');

const headStmt = db.prepare('SELECT MAX(position) FROM events').pluck().safeIntegers();
const streamHeadStmt = db.prepare('SELECT MAX(revision) FROM events WHERE stream_id = ?').pluck().safeIntegers();
const insertStmt = db.prepare(
  'INSERT INTO events (position, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
);

// Nested transactions run as SAVEPOINTs: a failing append rolls back alone.
const appendOneTx = db.transaction((append, position, revision, recordedAt) => {
  for (const event of append.events) {
    insertStmt.run(position, append.stream, revision, event.type, event.data, event.metadata, recordedAt);
    position++;
    revision++;
  }
});

function isUniqueViolation(error) {
  return error instanceof Database.SqliteError && (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
}

const writeBatchTx = db.transaction((batch) => {
  // Read under the write lock, never cached: another process may have appended since our last group.
  let nextPosition = (headStmt.get() ?? -1n) + 1n;
  const recordedAt = new Date().toISOString();
  return batch.map((append) => {
    // Sees this group's earlier, uncommitted appends to the same stream.
    const current = streamHeadStmt.get(append.stream) ?? -1n;
    const expected = append.expected;
    if ((expected === 'no_stream' && current !== -1n) || (typeof expected === 'bigint' && expected !== current)) {
      return { ok: false, conflict: true, actual: current };
    }
    if (append.events.length === 0) return { ok: true, nextRevision: current, position: nextPosition - 1n };
    try {
      appendOneTx(append, nextPosition, current + 1n, recordedAt);
    } catch (error) {
      // Only possible if a writer bypassed the write lock; the caller's retry path is still the right one.
      if (isUniqueViolation(error)) return { ok: false, conflict: true, actual: null };
      throw error;
    }
    const count = BigInt(append.events.length);
    nextPosition += count;
    return { ok: true, nextRevision: current + count, position: nextPosition - 1n };
  });
}).immediate;

parentPort.on('message', (msg) => {
  if (msg.kind === 'close') {
    db.close();
    parentPort.postMessage({ id: msg.id, closed: true });
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: msg.id, outcomes: writeBatchTx(msg.batch) });
  } catch (error) {
    parentPort.postMessage({ id: msg.id, error: { message: error instanceof Error ? error.message : String(error), code: error?.code } });
  }
});
