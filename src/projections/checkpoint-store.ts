import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

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

function encodeSnapshot(snapshot: unknown): EncodedSnapshot {
  if (typeof snapshot === 'object' && snapshot !== null && !Array.isArray(snapshot)) {
    const parts: Array<[string, string]> = [];
    for (const [key, value] of Object.entries(snapshot)) {
      // JSON.stringify drops undefined properties; so do we.
      if (value === undefined) continue;
      parts.push([key, JSON.stringify(value)]);
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
    const encoded = checkpoints.map(({ snapshot, ...rest }) => ({ ...rest, encoded: encodeSnapshot(snapshot) }));
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
 * cut may lose the newest checkpoint — never the ledger — and the file stays consistent. better-sqlite3 is
 * synchronous, so a save blocks the event loop while it writes; the runner rations snapshots for that reason.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  private readonly loadMeta: Database.Statement<[string]>;
  private readonly loadParts: Database.Statement<[string]>;
  private readonly writeAll: (checkpoints: ReadonlyArray<{ meta: Omit<Checkpoint, 'snapshot'>; encoded: EncodedSnapshot }>) => void;
  private closed = false;

  private constructor(private readonly db: Database.Database) {
    this.loadMeta = db.prepare(
      'SELECT version, position, anchor_stream, anchor_revision, shape, saved_at FROM checkpoints WHERE name = ?',
    );
    this.loadParts = db.prepare('SELECT key, json FROM checkpoint_parts WHERE name = ? ORDER BY seq');
    const upsert = db.prepare(
      `INSERT INTO checkpoints (name, version, position, anchor_stream, anchor_revision, shape, saved_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position,
         anchor_stream = excluded.anchor_stream, anchor_revision = excluded.anchor_revision,
         shape = excluded.shape, saved_at = excluded.saved_at`,
    );
    const deleteParts = db.prepare('DELETE FROM checkpoint_parts WHERE name = ?');
    const insertPart = db.prepare('INSERT INTO checkpoint_parts (name, seq, key, json) VALUES (?, ?, ?, ?)');
    this.writeAll = db.transaction((checkpoints: ReadonlyArray<{ meta: Omit<Checkpoint, 'snapshot'>; encoded: EncodedSnapshot }>) => {
      for (const { meta, encoded } of checkpoints) {
        upsert.run(
          meta.name,
          meta.version,
          String(meta.position),
          meta.anchor?.streamId ?? null,
          meta.anchor ? String(meta.anchor.revision) : null,
          encoded.shape,
          meta.savedAt,
        );
        deleteParts.run(meta.name);
        encoded.parts.forEach(([key, json], seq) => insertPart.run(meta.name, seq, key, json));
      }
    });
  }

  /** Open (creating if needed) the checkpoint file at `path`. */
  static open(path: string): SqliteCheckpointStore {
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
      return new SqliteCheckpointStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async load(name: string): Promise<Checkpoint | undefined> {
    this.assertOpen();
    const row = this.loadMeta.get(name) as
      | { version: number; position: string; anchor_stream: string | null; anchor_revision: string | null; shape: 'object' | 'value'; saved_at: string }
      | undefined;
    if (!row) return undefined;
    const parts = (this.loadParts.all(name) as Array<{ key: string; json: string }>).map((p): [string, string] => [p.key, p.json]);
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
  }

  async save(checkpoints: readonly Checkpoint[]): Promise<void> {
    this.assertOpen();
    const encoded = checkpoints.map(({ snapshot, ...meta }) => ({ meta, encoded: encodeSnapshot(snapshot) }));
    this.writeAll(encoded);
  }

  async clear(): Promise<void> {
    this.assertOpen();
    this.db.exec('DELETE FROM checkpoint_parts; DELETE FROM checkpoints;');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('checkpoint store is closed');
  }
}
