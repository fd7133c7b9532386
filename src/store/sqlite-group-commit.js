// The SQLite ledger's group commit, shared by the writer thread (sqlite-writer-worker.js) and the inline
// writer (sqlite-event-store.ts): plain JavaScript so that a worker thread can load it in any runtime.
import Database from 'better-sqlite3';

function isUniqueViolation(error) {
  return error instanceof Database.SqliteError && (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
}

/**
 * Returns `writeGroup(batch)`: writes every append of `batch` ([{stream, expected: 'no_stream'|'any'|bigint,
 * events: [{type, data, metadata}]}]) in ONE `BEGIN IMMEDIATE` transaction and returns one outcome per append:
 * `{ok: true, nextRevision, position}` or `{ok: false, conflict: true, actual: bigint|null}`. A conflicting
 * append rolls back alone (SAVEPOINT); anything else throws and rolls back the whole group.
 */
export function createGroupWriter(db) {
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
  return db.transaction((batch) => {
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
}
