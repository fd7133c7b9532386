import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendResult, RecordedEvent } from '../../src/store/event-store.js';
import { SqliteEventStore, type SqliteEventStoreOptions } from '../../src/store/sqlite-event-store.js';
import { ConcurrencyError, StoreUnavailableError } from '../../src/store/store-errors.js';
import { eventStoreContract } from '../contracts/event-store.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const childScript = join(here, 'fixtures/append-child.ts');

function tempLedger(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'writ-sqlite-'));
  return { file: join(dir, 'ledger.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function sqliteFactory(options: SqliteEventStoreOptions = {}) {
  return async () => {
    const { file, remove } = tempLedger();
    const store = SqliteEventStore.open(file, options);
    return {
      store,
      cleanup: async () => {
        await store.close();
        remove();
      },
    };
  };
}

eventStoreContract('SqliteEventStore', sqliteFactory());
// Tiny pages put page boundaries everywhere: readers and subscriptions must neither skip nor repeat across them.
eventStoreContract('SqliteEventStore with 3-row pages', sqliteFactory({ pageSize: 3 }));
// The inline writer (group commit on the calling thread) must keep the same contract as the writer thread.
eventStoreContract('SqliteEventStore with the inline writer', sqliteFactory({ writer: 'inline' }));

describe('SqliteEventStore', () => {
  const disposers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  /** A temp ledger file removed after the test, and an opener whose stores are closed after the test. */
  function ledger(): { file: string; open: (options?: SqliteEventStoreOptions) => SqliteEventStore } {
    const { file, remove } = tempLedger();
    disposers.push(remove);
    return {
      file,
      open: (options) => {
        const store = SqliteEventStore.open(file, options);
        disposers.push(() => store.close());
        return store;
      },
    };
  }

  describe('group commit', () => {
    it('writes concurrent appends in fewer transactions than appends', async () => {
      const store = ledger().open();
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendToStream(`burst-${i}`, [event('E')])));
      expect(store.stats()).toEqual({ transactions: 1, appends: 200, events: 200 });

      // 32 appenders awaiting one append at a time: each group holds whoever is waiting.
      await Promise.all(
        Array.from({ length: 32 }, async (_, w) => {
          for (let r = 0; r < 20; r++) await store.appendToStream(`appender-${w}`, [event('E')]);
        }),
      );
      const stats = store.stats();
      expect(stats.appends).toBe(200 + 640);
      expect(stats.transactions - 1).toBeLessThanOrEqual(640 / 8);
    });

    it('fails a conflicting append alone; the rest of its group commits', async () => {
      const store = ledger().open();
      const outcomes = await Promise.allSettled([
        store.appendToStream('g', [event('First')], { expectedRevision: 'no_stream' }),
        store.appendToStream('g', [event('Duplicate')], { expectedRevision: 'no_stream' }),
        store.appendToStream('h', [event('Other'), event('Other')]),
        // Sees the first append of its own group.
        store.appendToStream('g', [event('Second')], { expectedRevision: 0n }),
        store.appendToStream('h', [event('Stale')], { expectedRevision: 0n }),
      ]);
      expect(store.stats().transactions).toBe(1);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
      expect((outcomes[4] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
      expect((outcomes[3] as PromiseFulfilledResult<AppendResult>).value.nextRevision).toBe(1n);
      const all = await collect(store.readAll());
      expect(all.map((e) => [e.streamId, e.revision, e.type, e.position])).toEqual([
        ['g', 0n, 'First', 0n],
        ['h', 0n, 'Other', 1n],
        ['h', 1n, 'Other', 2n],
        ['g', 1n, 'Second', 3n],
      ]);
    });

    it('rejects a payload that is not JSON without failing its group', async () => {
      const store = ledger().open();
      const outcomes = await Promise.allSettled([
        store.appendToStream('a', [event('Ok')]),
        store.appendToStream('b', [{ type: 'Bad', data: { n: 1n } }]),
        store.appendToStream('c', [event('Ok')]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await collect(store.readAll())).map((e) => e.streamId)).toEqual(['a', 'c']);
    });

    it('close() commits appends still queued, then rejects new ones and reads', async () => {
      const { file, open } = ledger();
      const store = open();
      const pending = [store.appendToStream('late', [event('A')]), store.appendToStream('late', [event('B')])];
      await store.close();
      const results = await Promise.all(pending);
      expect(results.map((r) => r.nextRevision)).toEqual([0n, 1n]);
      await expect(store.appendToStream('late', [event('C')])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.headPosition()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(collect(store.readAll())).rejects.toBeInstanceOf(StoreUnavailableError);

      const reopened = open();
      expect((await collect(reopened.readStream('late'))).map((e) => e.type)).toEqual(['A', 'B']);
    });
  });

  describe('file', () => {
    it('keeps events across reopen and continues positions and revisions', async () => {
      const { open } = ledger();
      const first = open();
      await first.appendToStream('zone-1', [event('A'), event('B')]);
      await first.close();
      const second = open();
      expect(await second.headPosition()).toBe(1n);
      const result = await second.appendToStream('zone-1', [event('C')], { expectedRevision: 1n });
      expect(result).toEqual({ nextRevision: 2n, position: 2n });
    });

    it('keeps positions exact beyond 2^53', async () => {
      const { file, open } = ledger();
      await open().close();
      // Odd, so a detour through a JS number would come back as a different value.
      const big = 2n ** 53n + 1n;
      const raw = new Database(file);
      raw
        .prepare('INSERT INTO events (position, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(big, 'big', 0n, 'Seeded', '{}', '{}', new Date().toISOString());
      raw.close();

      const store = open();
      expect(await store.headPosition()).toBe(big);
      const result = await store.appendToStream('big', [event('Next')], { expectedRevision: 0n });
      expect(result).toEqual({ nextRevision: 1n, position: big + 1n });
      const read = await collect(store.readAll({ fromPosition: big - 1n }));
      expect(read.map((e) => e.position)).toEqual([big, big + 1n]);
      const asOfSeed = await collect(store.readStream('big', { maxPosition: big, direction: 'backwards' }));
      expect(asOfSeed.map((e) => [e.type, e.position])).toEqual([['Seeded', big]]);
    });

    it('reports a ledger that cannot be opened as unavailable', () => {
      const { file } = ledger();
      expect(() => SqliteEventStore.open(join(file, 'no-such-dir', 'ledger.db'))).toThrow(StoreUnavailableError);
    });

    it('reports a write lock held too long by another connection as unavailable, then recovers', async () => {
      const { file, open } = ledger();
      const store = open({ busyTimeoutMs: 100 });
      await store.appendToStream('s', [event('A')]);
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      try {
        await expect(store.appendToStream('s', [event('B')])).rejects.toBeInstanceOf(StoreUnavailableError);
        // Readers are not blocked by a writer in WAL mode.
        expect(await store.headPosition()).toBe(0n);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      const result = await store.appendToStream('s', [event('B')], { expectedRevision: 0n });
      expect(result).toEqual({ nextRevision: 1n, position: 1n });
    });
  });

  describe('two instances on one file', () => {
    it('interleave appends in one global order and detect conflicts across instances', async () => {
      const { open } = ledger();
      const a = open();
      const b = open();
      await a.appendToStream('shared', [event('A0')], { expectedRevision: 'no_stream' });
      await b.appendToStream('shared', [event('B1')], { expectedRevision: 0n });
      await expect(a.appendToStream('shared', [event('A-stale')], { expectedRevision: 0n })).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(b.appendToStream('shared', [event('B-dup')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        ConcurrencyError,
      );

      const results = await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const store = w % 2 === 0 ? a : b;
          const out: AppendResult[] = [];
          for (let r = 0; r < 25; r++) out.push(await store.appendToStream(`w-${w}`, [event('E', { w, r })]));
          return out;
        }),
      );
      const positions = results.flat().map((r) => r.position);
      expect(new Set(positions).size).toBe(200);

      const fromA = await collect(a.readAll());
      expect(await collect(b.readAll())).toEqual(fromA);
      expect(fromA.map((e) => e.position)).toEqual(Array.from({ length: 202 }, (_, i) => BigInt(i)));
      for (let w = 0; w < 8; w++) {
        const stream = await collect(a.readStream(`w-${w}`));
        expect(stream.map((e) => e.data.r)).toEqual(Array.from({ length: 25 }, (_, r) => r));
      }

      // Both instances race for the same revision: exactly one append wins overall.
      const race = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? a : b).appendToStream('shared', [event('Race', { i })], { expectedRevision: 1n }),
        ),
      );
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(race.filter((r) => r.status === 'rejected' && r.reason instanceof ConcurrencyError)).toHaveLength(19);
      expect(await collect(b.readStream('shared'))).toHaveLength(3);
    });

    it('a subscription on one instance sees the appends of the other', async () => {
      const { open } = ledger();
      const a = open({ pollIntervalMs: 20 });
      const b = open();
      await a.appendToStream('seed', [event('Seed')]);
      const subscription = a.subscribeToAll();
      const received: RecordedEvent[] = [];
      const done = (async () => {
        for await (const e of subscription) received.push(e);
      })();
      await eventually(() => received.length === 1, 2000);
      for (let i = 0; i < 20; i++) await b.appendToStream('from-b', [event('B', { i })]);
      await eventually(() => received.length === 21, 5000);
      await a.appendToStream('from-a', [event('A')]);
      await eventually(() => received.length === 22, 2000);
      expect(received.map((e) => e.position)).toEqual(Array.from({ length: 22 }, (_, i) => BigInt(i)));
      expect(received.slice(1, 21).map((e) => e.data.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      await subscription.close();
      await done;
    });
  });

  describe('other processes', () => {
    it('acknowledged appends survive SIGKILL of the writing process', async () => {
      const { file, open } = ledger();
      const child = spawnChild(file, 8, 'forever');
      await child.readAcks(600);
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal).toBe('SIGKILL');
      // Including those printed between the 600th and the kill: every one of them was acknowledged.
      const acks = child.acks;
      expect(acks.length).toBeGreaterThanOrEqual(600);

      const store = open();
      const all = await collect(store.readAll());
      // The file is consistent: one gap-free global order, gap-free revisions in every stream.
      expect(all.map((e) => e.position)).toEqual(all.map((_, i) => BigInt(i)));
      const byStream = new Map<string, RecordedEvent[]>();
      for (const e of all) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
      for (const events of byStream.values()) expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));

      const byPosition = new Map(all.map((e) => [e.position, e]));
      for (const ack of acks) {
        // The acknowledged append ends at `position` with `nextRevision`; its `count` events precede it in order.
        const last = byPosition.get(ack.position);
        expect(last, `acknowledged position ${ack.position}`).toBeDefined();
        expect(last!.streamId).toBe(ack.stream);
        expect(last!.revision).toBe(ack.nextRevision);
        const stream = byStream.get(ack.stream)!;
        const appended = stream.slice(Number(ack.nextRevision) - ack.count + 1, Number(ack.nextRevision) + 1);
        expect(appended.map((e) => e.data.k)).toEqual(Array.from({ length: ack.count }, (_, k) => k));
        expect(new Set(appended.map((e) => e.data.r)).size).toBe(1);
      }
    });

    it('a subscription sees appends from another process while this one appends too', async () => {
      const { file, open } = ledger();
      const store = open({ pollIntervalMs: 20 });
      const subscription = store.subscribeToAll();
      const received: RecordedEvent[] = [];
      const done = (async () => {
        for await (const e of subscription) received.push(e);
      })();

      const child = spawnChild(file, 4, '40');
      const childAcks = child.readAcks(160);
      for (let i = 0; i < 100; i++) {
        await store.appendToStream('parent', [event('P', { i })]);
        if (i % 10 === 9) await sleep(5);
      }
      const exit = await child.exited;
      expect(exit.code).toBe(0);
      expect(await childAcks).toHaveLength(160);

      const head = await store.headPosition();
      await eventually(() => received.length > 0 && received[received.length - 1]!.position === head, 5000);
      const all = await collect(store.readAll());
      // 100 parent appends + 4 writers x 40 appends of 1-3 events (14x1 + 13x2 + 13x3 = 79 events each).
      expect(all).toHaveLength(100 + 4 * 79);
      expect(received).toEqual(all);
      await subscription.close();
      await done;
    });
  });
});

interface Ack {
  stream: string;
  nextRevision: bigint;
  position: bigint;
  count: number;
}

/** Runs fixtures/append-child.ts on `file` and parses the acknowledgements it prints. */
function spawnChild(file: string, writers: number, appends: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, file, String(writers), appends], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: Ack[] = [];
  let stderr = '';
  let partial = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const [stream, nextRevision, position, count] = line.split(' ');
      acks.push({ stream: stream!, nextRevision: BigInt(nextRevision!), position: BigInt(position!), count: Number(count) });
    }
    for (const listener of listeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' rather than 'exit': it comes after stdout has delivered everything the child wrote.
    child.on('close', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  let exitedFlag = false;
  void exited.then(() => (exitedFlag = true));
  return {
    process: child,
    exited,
    /** Every acknowledgement received so far (complete once `exited` resolved). */
    acks,
    /** Resolves with the acknowledgements once at least `n` arrived; rejects if the child exits first. */
    readAcks(n: number): Promise<Ack[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (acks.length >= n) {
            listeners.delete(check);
            resolve([...acks]);
          } else if (exitedFlag || child.exitCode !== null || child.signalCode !== null) {
            listeners.delete(check);
            reject(new Error(`child exited after ${acks.length} acknowledgements: ${stderr}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
}

function event(type: string, data: Record<string, unknown> = {}) {
  return { type, data };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function eventually(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}
