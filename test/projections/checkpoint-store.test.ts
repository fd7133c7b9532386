import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, SqliteCheckpointStore, type Checkpoint, type CheckpointStore } from '../../src/projections/checkpoint-store.js';

const checkpoint = (name: string, position: bigint, snapshot: unknown): Checkpoint => ({
  name,
  version: 3,
  position,
  anchor: position >= 0n ? { streamId: `grant-${position}`, revision: 0n } : null,
  snapshot,
  savedAt: '2030-01-01T00:00:00.000Z',
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'writ-checkpoints-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const adapters: Array<[string, () => CheckpointStore]> = [
  ['memory', () => new MemoryCheckpointStore()],
  ['sqlite', () => SqliteCheckpointStore.open(join(dir, 'nested', 'projections.db'))],
];

describe.each(adapters)('%s checkpoint store', (_name, open) => {
  it('round-trips checkpoints of any JSON shape', async () => {
    const store = open();
    expect(await store.load('grants')).toBeUndefined();
    await store.save([
      checkpoint('grants', 41n, { version: 3, grants: [{ id: 'g', position: '41' }], empty: [] }),
      checkpoint('plain', -1n, [1, 'two', null]),
      checkpoint('scalar', 7n, 'just a string'),
    ]);
    expect(await store.load('grants')).toEqual(checkpoint('grants', 41n, { version: 3, grants: [{ id: 'g', position: '41' }], empty: [] }));
    expect(await store.load('plain')).toEqual(checkpoint('plain', -1n, [1, 'two', null]));
    expect(await store.load('scalar')).toEqual(checkpoint('scalar', 7n, 'just a string'));
    // A later save replaces, including parts that disappeared.
    await store.save([checkpoint('grants', 99n, { version: 3, other: true })]);
    expect(await store.load('grants')).toEqual(checkpoint('grants', 99n, { version: 3, other: true }));
    await store.clear();
    expect(await store.load('grants')).toBeUndefined();
    await store.close();
  });

  it('refuses a snapshot that is not JSON-safe, leaving the previous checkpoints untouched', async () => {
    const store = open();
    await store.save([checkpoint('a', 1n, { v: 1 }), checkpoint('b', 1n, { v: 1 })]);
    await expect(store.save([checkpoint('a', 2n, { v: 2 }), checkpoint('b', 2n, { bad: 2n })])).rejects.toThrow(TypeError);
    expect((await store.load('a'))?.position).toBe(1n);
    expect((await store.load('b'))?.snapshot).toEqual({ v: 1 });
    await store.close();
  });
});

describe('SqliteCheckpointStore', () => {
  it('persists across reopen', async () => {
    const path = join(dir, 'projections.db');
    const a = SqliteCheckpointStore.open(path);
    await a.save([checkpoint('decisions', 123456789012345n, { version: 3, column: Array.from({ length: 10_000 }, (_, i) => i) })]);
    await a.close();
    const b = SqliteCheckpointStore.open(path);
    const loaded = await b.load('decisions');
    expect(loaded?.position).toBe(123456789012345n);
    expect((loaded?.snapshot as { column: number[] }).column).toHaveLength(10_000);
    await b.close();
    await expect(b.load('decisions')).rejects.toThrow(/closed/);
  });

  it('splits large parts into rows without cutting a surrogate pair', async () => {
    const store = SqliteCheckpointStore.open(join(dir, 'projections.db'), { rowChars: 7 });
    const text = 'a\u{1F600}b\u{1F600}\u{1F600}cdefgh\u{1F600}'.repeat(50) + '\uD83D lone';
    const snapshot = { version: 1, text, list: Array.from({ length: 100 }, (_, i) => `x${i}\u{1F600}`) };
    await store.save([checkpoint('big', 5n, snapshot)]);
    expect((await store.load('big'))?.snapshot).toEqual(snapshot);
    await store.close();
  });

  it('serializes saves and loads on its one connection', async () => {
    const store = SqliteCheckpointStore.open(join(dir, 'projections.db'), { rowChars: 16 });
    const big = (v: number) => checkpoint('m', BigInt(v), { version: 1, data: Array.from({ length: 2000 }, (_, i) => i * v) });
    const results = await Promise.all([store.save([big(1)]), store.load('m'), store.save([big(2)]), store.load('m')]);
    expect((results[1] as Checkpoint).position).toBe(1n);
    expect((results[3] as Checkpoint).position).toBe(2n);
    await store.close();
  });

  it('empties a file written by another checkpoint layout instead of misreading it', async () => {
    const path = join(dir, 'projections.db');
    const db = new Database(path);
    db.exec('CREATE TABLE checkpoints (name TEXT PRIMARY KEY, data TEXT)');
    db.pragma('user_version = 42');
    db.close();
    const store = SqliteCheckpointStore.open(path);
    expect(await store.load('grants')).toBeUndefined();
    await store.save([checkpoint('grants', 1n, { version: 3 })]);
    expect((await store.load('grants'))?.position).toBe(1n);
    await store.close();
  });
});
