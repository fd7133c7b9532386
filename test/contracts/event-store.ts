/**
 * The contract every EventStore adapter must pass. An adapter's test file calls `eventStoreContract` with a
 * factory that opens a fresh, empty ledger and a cleanup that disposes of it.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventStore, EventToAppend, ExpectedRevision, RecordedEvent, Subscription } from '../../src/store/event-store.js';
import { ConcurrencyError } from '../../src/store/store-errors.js';

/** Opens a fresh, empty ledger; `cleanup` closes it (if the test did not) and removes what it created. */
export type EventStoreFactory = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

/** Declares the event store contract suite for one adapter. */
export function eventStoreContract(name: string, factory: EventStoreFactory): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });

    afterEach(async () => {
      await cleanup();
    });

    describe('append and read', () => {
      it('round-trips every envelope field', async () => {
        const before = Date.now();
        const data = { id: 'g-1', scopes: ['read', 'write'], nested: { n: 3.5, ok: true, none: null }, text: 'é ✓ 日本' };
        const metadata = { correlationId: 'req-7', actor: { kind: 'admin' } };
        const result = await store.appendToStream('grant-1', [
          { type: 'GrantIssued', data, metadata },
          { type: 'GrantNoted', data: { note: 'second' } },
        ]);
        const after = Date.now();

        const events = await collect(store.readStream('grant-1'));
        expect(events).toHaveLength(2);
        const [first, second] = events as [RecordedEvent, RecordedEvent];
        expect(first).toMatchObject({ type: 'GrantIssued', data, metadata, streamId: 'grant-1', revision: 0n });
        expect(second).toMatchObject({ type: 'GrantNoted', data: { note: 'second' }, metadata: {}, streamId: 'grant-1', revision: 1n });
        expect(typeof first.position).toBe('bigint');
        expect(second.position).toBeGreaterThan(first.position);
        expect(result).toEqual({ nextRevision: 1n, position: second.position });
        for (const event of events) {
          expect(event.recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
          const at = Date.parse(event.recordedAt);
          expect(at).toBeGreaterThanOrEqual(before - 1000);
          expect(at).toBeLessThanOrEqual(after + 1000);
        }
        expect(await collect(store.readAll())).toEqual(events);
      });

      it('reports the head position: -1n when empty, then the position of the newest event', async () => {
        expect(await store.headPosition()).toBe(-1n);
        const first = await store.appendToStream('zone-a', [event('ZoneCreated')]);
        expect(first.nextRevision).toBe(0n);
        expect(first.position).toBeGreaterThanOrEqual(0n);
        expect(await store.headPosition()).toBe(first.position);
        const second = await store.appendToStream('zone-b', [event('ZoneCreated'), event('ZoneRenamed')]);
        expect(second.nextRevision).toBe(1n);
        expect(second.position).toBeGreaterThan(first.position);
        expect(await store.headPosition()).toBe(second.position);
        const after = await collect(store.readAll({ fromPosition: first.position }));
        expect(after.map((e) => [e.streamId, e.revision])).toEqual([
          ['zone-b', 0n],
          ['zone-b', 1n],
        ]);
        expect(after[1]!.position).toBe(second.position);
      });

      it('keeps its own copy of event payloads', async () => {
        const data = { list: [1, 2], inner: { v: 'original' } };
        await store.appendToStream('resource-1', [{ type: 'ResourceRegistered', data }]);
        data.list.push(3);
        data.inner.v = 'changed by caller';
        const [read] = await collect(store.readStream('resource-1'));
        expect(read!.data).toEqual({ list: [1, 2], inner: { v: 'original' } });
        (read!.data.inner as { v: string }).v = 'changed by reader';
        const [again] = await collect(store.readStream('resource-1'));
        expect(again!.data).toEqual({ list: [1, 2], inner: { v: 'original' } });
      });

      it('yields nothing for a stream that does not exist and for an empty ledger', async () => {
        expect(await collect(store.readStream('session-missing'))).toEqual([]);
        expect(await collect(store.readStream('session-missing', { direction: 'backwards' }))).toEqual([]);
        expect(await collect(store.readAll())).toEqual([]);
      });

      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describe('expected revision', () => {
      it('no_stream succeeds on a new stream and conflicts on an existing one', async () => {
        await store.appendToStream('decision-r1', [event('DecisionRecorded')], { expectedRevision: 'no_stream' });
        const error = await rejection(
          store.appendToStream('decision-r1', [event('DecisionRecorded')], { expectedRevision: 'no_stream' }),
        );
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect((error as ConcurrencyError).stream).toBe('decision-r1');
        expect([undefined, 0n]).toContain((error as ConcurrencyError).actual);
        expect(await collect(store.readStream('decision-r1'))).toHaveLength(1);
      });

      it('an exact revision succeeds only when it is the current head', async () => {
        await store.appendToStream('grant-2', [event('A'), event('B')], { expectedRevision: 'no_stream' });
        const ok = await store.appendToStream('grant-2', [event('C')], { expectedRevision: 1n });
        expect(ok.nextRevision).toBe(2n);
        for (const stale of [0n, 1n, 3n]) {
          const error = await rejection(store.appendToStream('grant-2', [event('X')], { expectedRevision: stale }));
          expect(error).toBeInstanceOf(ConcurrencyError);
          expect([undefined, 2n]).toContain((error as ConcurrencyError).actual);
        }
        const missing = await rejection(store.appendToStream('grant-none', [event('X')], { expectedRevision: 0n }));
        expect(missing).toBeInstanceOf(ConcurrencyError);
        expect([undefined, -1n]).toContain((missing as ConcurrencyError).actual);
        expect((await collect(store.readStream('grant-2'))).map((e) => e.type)).toEqual(['A', 'B', 'C']);
        expect(await collect(store.readStream('grant-none'))).toEqual([]);
      });

      it('any appends whatever the stream state, and is the default', async () => {
        await store.appendToStream('session-1', [event('A')], { expectedRevision: 'any' });
        await store.appendToStream('session-1', [event('B')], { expectedRevision: 'any' });
        const result = await store.appendToStream('session-1', [event('C')]);
        expect(result.nextRevision).toBe(2n);
        expect((await collect(store.readStream('session-1'))).map((e) => [e.type, e.revision])).toEqual([
          ['A', 0n],
          ['B', 1n],
          ['C', 2n],
        ]);
      });

      it('a conflicting multi-event append writes nothing', async () => {
        await store.appendToStream('grant-3', [event('A')]);
        await store.appendToStream('other', [event('O')]);
        const head = await store.headPosition();
        const before = await collect(store.readAll());
        const error = await rejection(
          store.appendToStream('grant-3', [event('X1'), event('X2'), event('X3')], { expectedRevision: 5n }),
        );
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect(await store.headPosition()).toBe(head);
        expect(await collect(store.readAll())).toEqual(before);
        // The stream continues from where it was: the failed append left no revisions behind.
        const next = await store.appendToStream('grant-3', [event('B')], { expectedRevision: 0n });
        expect(next.nextRevision).toBe(1n);
      });

      it('of many concurrent appends expecting the same revision, exactly one wins', async () => {
        await store.appendToStream('policyset-z', [event('A'), event('B'), event('C')]);
        const attempts = Array.from({ length: 25 }, (_, i) =>
          store.appendToStream('policyset-z', [event('Activated', { attempt: i })], { expectedRevision: 2n }),
        );
        const settled = await Promise.allSettled(attempts);
        const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const s of settled) {
          if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(ConcurrencyError);
        }
        const stream = await collect(store.readStream('policyset-z'));
        expect(stream).toHaveLength(4);
        expect(stream[3]!.data).toEqual({ attempt: winners[0] });
        expect((settled[winners[0]!] as PromiseFulfilledResult<{ nextRevision: bigint }>).value.nextRevision).toBe(3n);
      });

      it('of many concurrent no_stream appends to a new stream, exactly one wins', async () => {
        const settled = await Promise.allSettled(
          Array.from({ length: 25 }, (_, i) =>
            store.appendToStream('decision-dup', [event('DecisionRecorded', { attempt: i })], { expectedRevision: 'no_stream' }),
          ),
        );
        expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
        expect(settled.filter((s) => s.status === 'rejected' && s.reason instanceof ConcurrencyError)).toHaveLength(24);
        expect(await collect(store.readStream('decision-dup'))).toHaveLength(1);
      });

      it('behaves like a simple model for any sequence of appends', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.record({
                stream: fc.integer({ min: 0, max: 3 }),
                expected: fc.constantFrom('any', 'no_stream', 'current', 'stale', 'ahead'),
                count: fc.integer({ min: 1, max: 3 }),
              }),
              { minLength: 1, maxLength: 25 },
            ),
            async (ops) => {
              const prefix = `model-${run++}-`;
              const startHead = await store.headPosition();
              const model = new Map<string, number>();
              const log: Array<[string, bigint, string]> = [];
              const positions: bigint[] = [];
              for (const [i, op] of ops.entries()) {
                const stream = `${prefix}${op.stream}`;
                const length = model.get(stream) ?? 0;
                const expected: ExpectedRevision =
                  op.expected === 'any' || op.expected === 'no_stream'
                    ? op.expected
                    : BigInt(length - 1 + (op.expected === 'stale' ? -1 : op.expected === 'ahead' ? 1 : 0));
                const accepted =
                  expected === 'any' || (expected === 'no_stream' ? length === 0 : expected === BigInt(length - 1));
                const events = Array.from({ length: op.count }, (_, k) => event(`E${i}.${k}`));
                const outcome = await store.appendToStream(stream, events, { expectedRevision: expected }).then(
                  (result) => result,
                  (error: unknown) => error,
                );
                if (!accepted) {
                  expect(outcome).toBeInstanceOf(ConcurrencyError);
                  continue;
                }
                expect(outcome).not.toBeInstanceOf(Error);
                const result = outcome as { nextRevision: bigint; position: bigint };
                expect(result.nextRevision).toBe(BigInt(length + op.count - 1));
                for (let k = 0; k < op.count; k++) log.push([stream, BigInt(length + k), `E${i}.${k}`]);
                positions.push(result.position);
                model.set(stream, length + op.count);
              }
              const all = await collect(store.readAll({ fromPosition: startHead }));
              expect(all.map((e) => [e.streamId, e.revision, e.type])).toEqual(log);
              expectStrictlyIncreasing(all.map((e) => e.position));
              // Each acknowledged position is the position of that append's last event.
              const lastOfAppend = new Set(positions);
              expect(positions.every((p) => all.some((e) => e.position === p))).toBe(true);
              expect(lastOfAppend.size).toBe(positions.length);
              for (const [stream, length] of model) {
                const read = await collect(store.readStream(stream));
                expect(read.map((e) => e.revision)).toEqual(Array.from({ length }, (_, k) => BigInt(k)));
              }
            },
          ),
          { numRuns: 30 },
        );
      });
    });

    describe('global order', () => {
      it('positions strictly increase across streams under concurrent appends', async () => {
        const streams = Array.from({ length: 10 }, (_, i) => `application-${i}`);
        const results = await Promise.all(
          streams.map(async (stream) => {
            const acknowledged: Array<{ stream: string; revision: bigint; position: bigint }> = [];
            for (let r = 0; r < 20; r++) {
              const result = await store.appendToStream(stream, [event('Touched', { r })], {
                expectedRevision: r === 0 ? 'no_stream' : BigInt(r - 1),
              });
              acknowledged.push({ stream, revision: result.nextRevision, position: result.position });
            }
            return acknowledged;
          }),
        );
        const all = await collect(store.readAll());
        expect(all).toHaveLength(200);
        expectStrictlyIncreasing(all.map((e) => e.position));
        const byPosition = new Map(all.map((e) => [e.position, e]));
        const acknowledged = results.flat();
        expect(new Set(acknowledged.map((a) => a.position)).size).toBe(200);
        for (const ack of acknowledged) {
          const stored = byPosition.get(ack.position);
          expect(stored?.streamId).toBe(ack.stream);
          expect(stored?.revision).toBe(ack.revision);
        }
        for (const stream of streams) {
          const read = await collect(store.readStream(stream));
          expect(read.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, k) => BigInt(k)));
          expect(read.map((e) => e.data.r)).toEqual(Array.from({ length: 20 }, (_, k) => k));
        }
      });

      it('readAll honours fromPosition (exclusive), maxPosition (inclusive) and maxCount', async () => {
        for (let i = 0; i < 10; i++) await store.appendToStream(`zone-${i % 3}`, [event(`E${i}`)]);
        const all = await collect(store.readAll());
        expect(all.map((e) => e.type)).toEqual(Array.from({ length: 10 }, (_, i) => `E${i}`));
        const p = all.map((e) => e.position);
        const types = async (options: Parameters<EventStore['readAll']>[0]) =>
          (await collect(store.readAll(options))).map((e) => e.type);
        const slice = (from: number, to?: number) => all.slice(from, to).map((e) => e.type);
        expect(await types({ fromPosition: p[2] })).toEqual(slice(3));
        expect(await types({ maxPosition: p[5] })).toEqual(slice(0, 6));
        expect(await types({ fromPosition: p[2], maxPosition: p[5] })).toEqual(slice(3, 6));
        expect(await types({ maxCount: 4 })).toEqual(slice(0, 4));
        expect(await types({ fromPosition: p[2], maxCount: 2 })).toEqual(slice(3, 5));
        expect(await types({ fromPosition: p[2], maxPosition: p[4], maxCount: 5 })).toEqual(slice(3, 5));
        expect(await types({ fromPosition: p[9] })).toEqual([]);
        expect(await types({ maxCount: 0 })).toEqual([]);
        expect(await types({ fromPosition: -1n })).toEqual(slice(0));
      });

      it('reads long histories completely and in order', async () => {
        for (let batch = 0; batch < 24; batch++) {
          const events = Array.from({ length: 100 }, (_, k) => event('Bulk', { n: batch * 100 + k }));
          await store.appendToStream(batch % 2 === 0 ? 'bulk-even' : 'bulk-odd', events);
          await store.appendToStream('bulk-all', events);
        }
        const all = await collect(store.readAll());
        expect(all).toHaveLength(4800);
        expectStrictlyIncreasing(all.map((e) => e.position));
        expect(await collect(store.readAll({ fromPosition: all[1199]!.position, maxCount: 2500 }))).toEqual(all.slice(1200, 3700));

        const forwards = await collect(store.readStream('bulk-all'));
        expect(forwards.map((e) => e.data.n)).toEqual(Array.from({ length: 2400 }, (_, k) => k));
        const backwards = await collect(store.readStream('bulk-all', { direction: 'backwards' }));
        expect(backwards).toEqual([...forwards].reverse());
        const window = await collect(store.readStream('bulk-all', { direction: 'backwards', fromRevision: 1500n, maxCount: 1200 }));
        expect(window.map((e) => e.revision)).toEqual(Array.from({ length: 1200 }, (_, k) => BigInt(1500 - k)));
        const tail = await collect(store.readStream('bulk-all', { fromRevision: 1100n }));
        expect(tail.map((e) => e.revision)).toEqual(Array.from({ length: 1300 }, (_, k) => BigInt(1100 + k)));
      });
    });

    describe('readStream', () => {
      // s0 t0 s1 t1 s2 t2 s3: s is interleaved with another stream so that positions and revisions differ.
      async function interleaved(): Promise<{ s: RecordedEvent[]; t: RecordedEvent[] }> {
        for (let i = 0; i < 4; i++) {
          await store.appendToStream('s', [event(`s${i}`)]);
          if (i < 3) await store.appendToStream('t', [event(`t${i}`)]);
        }
        return { s: await collect(store.readStream('s')), t: await collect(store.readStream('t')) };
      }
      const types = (events: RecordedEvent[]) => events.map((e) => e.type);

      it('reads forwards from a revision, with maxCount', async () => {
        await interleaved();
        expect(types(await collect(store.readStream('s')))).toEqual(['s0', 's1', 's2', 's3']);
        expect(types(await collect(store.readStream('s', { fromRevision: 2n })))).toEqual(['s2', 's3']);
        expect(types(await collect(store.readStream('s', { maxCount: 2 })))).toEqual(['s0', 's1']);
        expect(types(await collect(store.readStream('s', { fromRevision: 1n, maxCount: 2 })))).toEqual(['s1', 's2']);
        expect(types(await collect(store.readStream('s', { fromRevision: 4n })))).toEqual([]);
      });

      it('reads backwards from the head or from a revision, with maxCount', async () => {
        await interleaved();
        expect(types(await collect(store.readStream('s', { direction: 'backwards' })))).toEqual(['s3', 's2', 's1', 's0']);
        expect(types(await collect(store.readStream('s', { direction: 'backwards', fromRevision: 1n })))).toEqual(['s1', 's0']);
        expect(types(await collect(store.readStream('s', { direction: 'backwards', maxCount: 2 })))).toEqual(['s3', 's2']);
        expect(types(await collect(store.readStream('s', { direction: 'backwards', fromRevision: 2n, maxCount: 1 })))).toEqual(['s2']);
      });

      it('bounds reads by maxPosition in both directions: the stream as it stood at a position', async () => {
        const { s, t } = await interleaved();
        const atT1 = t[1]!.position;
        expect(types(await collect(store.readStream('s', { maxPosition: atT1 })))).toEqual(['s0', 's1']);
        expect(types(await collect(store.readStream('s', { maxPosition: atT1, direction: 'backwards' })))).toEqual(['s1', 's0']);
        expect(types(await collect(store.readStream('s', { maxPosition: s[2]!.position, direction: 'backwards', fromRevision: 3n })))).toEqual([
          's2',
          's1',
          's0',
        ]);
        expect(types(await collect(store.readStream('s', { maxPosition: s[0]!.position - 1n })))).toEqual([]);
        expect(types(await collect(store.readStream('s', { maxPosition: s[3]!.position })))).toEqual(['s0', 's1', 's2', 's3']);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from a checkpoint, then delivers live appends from concurrent writers with no gap and no duplicate', async () => {
        for (let i = 0; i < 50; i++) {
          await store.appendToStream(`history-${i % 5}`, Array.from({ length: 10 }, (_, k) => event('Old', { i, k })));
        }
        const history = await collect(store.readAll());
        expect(history).toHaveLength(500);
        const checkpoint = history[249]!.position;

        const subscription = store.subscribeToAll({ fromPosition: checkpoint });
        const received: RecordedEvent[] = [];
        const consumer = consume(subscription, received);

        let writersDone = false;
        let receivedLiveBeforeWritersDone = false;
        const writers = Array.from({ length: 8 }, async (_, w) => {
          for (let r = 0; r < 250; r++) {
            await store.appendToStream(`writer-${w}`, [event('New', { w, r })], {
              expectedRevision: r === 0 ? 'no_stream' : BigInt(r - 1),
            });
            // Beyond the 250 events of history, anything received is a live append.
            if (!writersDone && received.length > 250) receivedLiveBeforeWritersDone = true;
            // Real writers are driven by I/O; without a turn of the event loop now and then, an adapter
            // that resolves appends in microtasks would let the writers finish before the consumer runs.
            if (r % 25 === 24) await new Promise((resolve) => setImmediate(resolve));
          }
        });
        await Promise.all(writers);
        writersDone = true;
        const head = await store.headPosition();
        await eventually(() => received.length > 0 && received[received.length - 1]!.position >= head, 10_000);
        await subscription.close();
        await within(consumer, 2000, 'subscription iteration to end after close()');

        const expected = await collect(store.readAll({ fromPosition: checkpoint }));
        expect(expected).toHaveLength(250 + 2000);
        expect(received.map((e) => e.position)).toEqual(expected.map((e) => e.position));
        expect(received).toEqual(expected);
        expectStrictlyIncreasing(received.map((e) => e.position));
        expect(receivedLiveBeforeWritersDone).toBe(true);
      });

      it('from the start delivers everything, and an append made after subscribing at the head arrives', async () => {
        await store.appendToStream('a', [event('A0'), event('A1')]);
        const fromStart = store.subscribeToAll();
        const all: RecordedEvent[] = [];
        const allDone = consume(fromStart, all);
        const head = await store.headPosition();
        const atHead = store.subscribeToAll({ fromPosition: head });
        const live: RecordedEvent[] = [];
        const liveDone = consume(atHead, live);
        await sleep(20);
        expect(live).toEqual([]);

        await store.appendToStream('b', [event('B0')]);
        await eventually(() => live.length === 1 && all.length === 3, 5000);
        expect(live.map((e) => e.type)).toEqual(['B0']);
        expect(all.map((e) => e.type)).toEqual(['A0', 'A1', 'B0']);
        await fromStart.close();
        await atHead.close();
        await within(Promise.all([allDone, liveDone]), 2000, 'subscriptions to end');
      });

      it('on an empty ledger waits for the first event', async () => {
        const subscription = store.subscribeToAll();
        const received: RecordedEvent[] = [];
        const done = consume(subscription, received);
        await sleep(20);
        const { position } = await store.appendToStream('first', [event('First')]);
        await eventually(() => received.length === 1, 5000);
        expect(received[0]!.position).toBe(position);
        await subscription.close();
        await within(done, 2000, 'subscription to end');
      });

      it('close() ends an iteration that is waiting, and breaking out of the loop ends the subscription', async () => {
        const waiting = store.subscribeToAll();
        const received: RecordedEvent[] = [];
        const done = consume(waiting, received);
        await sleep(20);
        await waiting.close();
        await within(done, 2000, 'waiting iteration to end after close()');
        expect(received).toEqual([]);

        await store.appendToStream('x', [event('X0'), event('X1')]);
        const broken = store.subscribeToAll();
        for await (const e of broken) {
          expect(e.type).toBe('X0');
          break;
        }
        // After break, the subscription is finished: iterating again yields nothing more.
        const after = await within(collect(broken), 2000, 'iteration after break');
        expect(after).toEqual([]);
      });

      it('closing the store ends its subscriptions', async () => {
        const subscription = store.subscribeToAll();
        const done = consume(subscription, []);
        await sleep(20);
        await store.close();
        await within(done, 2000, 'subscription to end after the store closed');
      });
    });
  });
}

function event(type: string, data: Record<string, unknown> = {}): EventToAppend {
  return { type, data };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function consume(subscription: Subscription, into: RecordedEvent[]): Promise<void> {
  for await (const e of subscription) into.push(e);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

function expectStrictlyIncreasing(values: bigint[]): void {
  for (let i = 1; i < values.length; i++) {
    if (!(values[i]! > values[i - 1]!)) {
      throw new Error(`not strictly increasing at index ${i}: ${values[i - 1]} then ${values[i]}`);
    }
  }
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

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
