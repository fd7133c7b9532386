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
import { createGroupWriter } from './sqlite-group-commit.js';

const { path, busyTimeoutMs } = workerData;
const db = new Database(path, { timeout: busyTimeoutMs });
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
db.pragma('journal_mode = WAL');
// FULL: a commit is on disk (WAL fsynced) before its appends are acknowledged.
db.pragma('synchronous = FULL');

const writeBatchTx = createGroupWriter(db);

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
