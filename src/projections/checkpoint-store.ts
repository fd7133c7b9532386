import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';

/** Longest stretch of checkpoint work between two turns of the event loop. */
const TURN_MS = 10;
/** Parts are stored in rows of at most this many characters, each written in its own turn. */
const ROW_CHARS = 4 * 1024 * 1024;

/**
 * A read model's saved state: its snapshot and the ledger position it was taken at. Losing checkpoints loses
 * nothing but time (the models are rebuilt from the ledger), so they live apart from the ledger and are written
 * without the ledger's fsync discipline.
 */
export interface Checkpoint {
  /** The read model's name. */
  name: string;
  /** The model's `version` when the snapshot was taken; another version is ignored on restore. */
  version: number;
  /** Position of the last event folded into the snapshot (-1n: none). */
  position: bigint;
  /**
   * Stream and revision of the event at `position`. A checkpoint whose anchor is not in the ledger at that
   * position belongs to another ledger (a restored backup, a swapped data directory) and must not be restored.
   */
  anchor: { streamId: string; revision: bigint } | null;
  /** The model's snapshot (JSON-serializable). */
  snapshot: unknown;
  /** When it was saved (RFC 3339). */
  savedAt: string;
}

/** Where projection checkpoints persist. `save` is atomic across all the checkpoints it is given. */
export interface CheckpointStore {
  load(name: string): Promise<Checkpoint | undefined>;
  /** Write these checkpoints in one transaction: after a crash either all of them or none are the new ones. */
  save(checkpoints: readonly Checkpoint[]): Promise<void>;
  /** Forget every checkpoint (the next start rebuilds everything). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A snapshot is serialized as one JSON text per top-level property rather than one text for the whole: a model
 * holding millions of rows would otherwise produce a single string beyond V8's ~512 MiB string limit. Models
 * keep their big data in separate properties (the decisions model is columnar) so each part stays small.
 */
interface EncodedSnapshot {
  /** 'object': parts are the snapshot's properties; 'value': one part, key '', holding the whole value. */
  shape: 'object' | 'value';
  parts: Array<[key: string, json: string]>;
}

/**
 * JSON text of each part, giving the event loop a turn between parts: the text of a large model takes a while
 * to produce and the STS shares this thread. The snapshot is a private copy (see ReadModel), so producing its
 * text later, and in steps, changes nothing.
 */
async function encodeSnapshot(snapshot: unknown): Promise<EncodedSnapshot> {
  if (typeof snapshot === 'object' && snapshot !== null && !Array.isArray(snapshot)) {
    const parts: Array<[string, string]> = [];
    let turnStarted = performance.now();
    for (const [key, value] of Object.entries(snapshot)) {
      // JSON.stringify drops undefined properties; so do we.
      if (value === undefined) continue;
      parts.push([key, JSON.stringify(value)]);
      if (performance.now() - turnStarted >= TURN_MS) {
        await yieldToEventLoop();
        turnStarted = performance.now();
      }
    }
    return { shape: 'object', parts };
  }
  return { shape: 'value', parts: [['', JSON.stringify(snapshot)]] };
}

function decodeSnapshot(encoded: EncodedSnapshot): unknown {
  if (encoded.shape === 'value') {
    const part = encoded.parts[0];
    if (!part) throw new Error('checkpoint has no snapshot');
    return JSON.parse(part[1]);
  }
  const out: Record<string, unknown> = {};
  for (const [key, json] of encoded.parts) out[key] = JSON.parse(json);
  return out;
}

/** Checkpoints in memory, serialized like on disk so that a snapshot that is not JSON-safe fails in tests too. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly saved = new Map<string, Omit<Checkpoint, 'snapshot'> & { encoded: EncodedSnapshot }>();
  /** Number of `save` calls, for tests. */
  saves = 0;

  async load(name: string): Promise<Checkpoint | undefined> {
    const entry = this.saved.get(name);
    if (!entry) return undefined;
    const { encoded, ...rest } = entry;
    return { ...rest, anchor: rest.anchor && { ...rest.anchor }, snapshot: decodeSnapshot(encoded) };
  }

  async save(checkpoints: readonly Checkpoint[]): Promise<void> {
    // Encode everything first so that a failure leaves the previous checkpoints untouched (atomicity).
    const encoded: Array<Omit<Checkpoint, 'snapshot'> & { encoded: EncodedSnapshot }> = [];
    for (const { snapshot, ...rest } of checkpoints) encoded.push({ ...rest, encoded: await encodeSnapshot(snapshot) });
    for (const e of encoded) this.saved.set(e.name, e);
    this.saves++;
  }

  async clear(): Promise<void> {
    this.saved.clear();
  }

  async close(): Promise<void> {}
}

const SCHEMA_VERSION = 1;

/**
 * Checkpoints in their own SQLite file (e.g. `<dataDir>/projections.db`), WAL mode. `synchronous=NORMAL`: a power
 * cut may lose the newest checkpoint — never the ledger — and the file stays consistent.
 *
 * better-sqlite3 is synchronous, and a checkpoint of a large model is tens of megabytes: written in one call it
 * would stall the STS for as long. So a save is one transaction that spans several turns of the event loop,
 * writing at most ROW_CHARS per turn; operations on the store are serialized so that nothing reads a half-written
 * transaction on this connection. Other processes only ever see committed checkpoints.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  private readonly loadMeta: Database.Statement<[string]>;
  private readonly loadParts: Database.Statement<[string]>;
  private readonly upsert: Database.Statement<[string, number, string, string | null, string | null, string, string]>;
  private readonly deleteParts: Database.Statement<[string]>;
  private readonly insertPart: Database.Statement<[string, number, string, string]>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly rowChars: number,
  ) {
    this.loadMeta = db.prepare(
      'SELECT version, position, anchor_stream, anchor_revision, shape, saved_at FROM checkpoints WHERE name = ?',
    );
    this.loadParts = db.prepare('SELECT key, json FROM checkpoint_parts WHERE name = ? ORDER BY seq');
    this.upsert = db.prepare(
      `INSERT INTO checkpoints (name, version, position, anchor_stream, anchor_revision, shape, saved_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position,
         anchor_stream = excluded.anchor_stream, anchor_revision = excluded.anchor_revision,
         shape = excluded.shape, saved_at = excluded.saved_at`,
    );
    this.deleteParts = db.prepare('DELETE FROM checkpoint_parts WHERE name = ?');
    this.insertPart = db.prepare('INSERT INTO checkpoint_parts (name, seq, key, json) VALUES (?, ?, ?, ?)');
  }

  /** Open (creating if needed) the checkpoint file at `path`. `rowChars` (for tests) bounds a stored row. */
  static open(path: string, options: { rowChars?: number } = {}): SqliteCheckpointStore {
    const rowChars = options.rowChars ?? ROW_CHARS;
    if (!Number.isSafeInteger(rowChars) || rowChars < 2) throw new RangeError('rowChars must be an integer >= 2');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SCHEMA_VERSION) {
        // Checkpoints are disposable: a file from another layout is emptied, and the models rebuild.
        db.exec('DROP TABLE IF EXISTS checkpoint_parts; DROP TABLE IF EXISTS checkpoints;');
        db.exec(`
          CREATE TABLE checkpoints (
            name            TEXT PRIMARY KEY,
            version         INTEGER NOT NULL,
            position        TEXT NOT NULL,
            anchor_stream   TEXT,
            anchor_revision TEXT,
            shape           TEXT NOT NULL CHECK (shape IN ('object', 'value')),
            saved_at        TEXT NOT NULL
          );
          -- A part's JSON may span several rows (same key, consecutive seq), concatenated on load.
          CREATE TABLE checkpoint_parts (
            name TEXT NOT NULL,
            seq  INTEGER NOT NULL,
            key  TEXT NOT NULL,
            json TEXT NOT NULL,
            PRIMARY KEY (name, seq)
          );
        `);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }
      return new SqliteCheckpointStore(db, rowChars);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  load(name: string): Promise<Checkpoint | undefined> {
    return this.exclusive(async () => {
      const row = this.loadMeta.get(name) as
        | { version: number; position: string; anchor_stream: string | null; anchor_revision: string | null; shape: 'object' | 'value'; saved_at: string }
        | undefined;
      if (!row) return undefined;
      const parts: Array<[string, string]> = [];
      for (const p of this.loadParts.all(name) as Array<{ key: string; json: string }>) {
        const last = parts[parts.length - 1];
        if (last && last[0] === p.key) last[1] += p.json;
        else parts.push([p.key, p.json]);
      }
      return {
        name,
        version: row.version,
        position: BigInt(row.position),
        anchor:
          row.anchor_stream === null || row.anchor_revision === null
            ? null
            : { streamId: row.anchor_stream, revision: BigInt(row.anchor_revision) },
        snapshot: decodeSnapshot({ shape: row.shape, parts }),
        savedAt: row.saved_at,
      };
    });
  }

  save(checkpoints: readonly Checkpoint[]): Promise<void> {
    return this.exclusive(async () => {
      // Encode everything before the transaction: a snapshot that cannot be encoded leaves the old checkpoints.
      const encoded: Array<{ meta: Omit<Checkpoint, 'snapshot'>; encoded: EncodedSnapshot }> = [];
      for (const { snapshot, ...meta } of checkpoints) encoded.push({ meta, encoded: await encodeSnapshot(snapshot) });
      this.db.exec('BEGIN IMMEDIATE');
      try {
        let written = 0;
        for (const { meta, encoded: e } of encoded) {
          this.upsert.run(
            meta.name,
            meta.version,
            String(meta.position),
            meta.anchor?.streamId ?? null,
            meta.anchor ? String(meta.anchor.revision) : null,
            e.shape,
            meta.savedAt,
          );
          this.deleteParts.run(meta.name);
          let seq = 0;
          for (const [key, json] of e.parts) {
            for (const row of rows(json, this.rowChars)) {
              this.insertPart.run(meta.name, seq++, key, row);
              written += row.length;
              if (written >= this.rowChars) {
                written = 0;
                await yieldToEventLoop();
              }
            }
          }
        }
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  clear(): Promise<void> {
    return this.exclusive(async () => {
      this.db.exec('DELETE FROM checkpoint_parts; DELETE FROM checkpoints;');
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let a save in progress finish (or roll back) before the file closes.
    await this.queue.catch(() => undefined);
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** Run operations one at a time: a save's transaction spans turns of the event loop on this one connection. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(
      () => {
        if (this.closed) throw new Error('checkpoint store is closed');
        return operation();
      },
      () => {
        if (this.closed) throw new Error('checkpoint store is closed');
        return operation();
      },
    );
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Split a JSON text into rows of at most `size` characters, never between the two halves of a surrogate pair. */
function* rows(json: string, size: number): Generator<string> {
  if (json.length <= size) {
    yield json;
    return;
  }
  let from = 0;
  while (from < json.length) {
    let to = Math.min(json.length, from + size);
    // A row ending on a high surrogate would be stored as U+FFFD: move the cut one character back.
    if (to < json.length && (json.charCodeAt(to - 1) & 0xfc00) === 0xd800) to--;
    yield json.slice(from, to);
    from = to;
  }
}
