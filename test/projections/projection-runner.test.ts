import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WritEvent } from '../../src/domain/events.js';
import type { EventStore, RecordedEvent, Subscription } from '../../src/store/event-store.js';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import { MemoryCheckpointStore, SqliteCheckpointStore } from '../../src/projections/checkpoint-store.js';
import { ProjectionError, ProjectionRunner, ProjectionTimeoutError } from '../../src/projections/projection-runner.js';
import type { EventPosition, ReadModel } from '../../src/projections/read-model.js';
import { createReadModels } from '../../src/projections/read-models.js';
import { appendAll, build, randomHistory, streamOf } from './fixtures.js';

/** Wraps a model to count (and record the positions of) the events it is given. */
function counting(model: ReadModel, version = model.version): ReadModel & { positions: bigint[] } {
  const positions: bigint[] = [];
  return {
    name: model.name,
    version,
    positions,
    apply(event: WritEvent, at: EventPosition) {
      positions.push(at.position);
      model.apply(event, at);
    },
    reset: () => model.reset(),
    snapshot: () => model.snapshot(),
    restore: (s: unknown) => model.restore(s),
  };
}

function snapshots(models: readonly ReadModel[]): Record<string, unknown> {
  return Object.fromEntries(models.map((m) => [m.name, m.snapshot()]));
}

async function rebuiltSnapshots(store: EventStore): Promise<Record<string, unknown>> {
  const models = createReadModels();
  await new ProjectionRunner({ store, models: models.all }).rebuild();
  return snapshots(models.all);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'writ-runner-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ProjectionRunner', () => {
  it('catches up, goes live, and waitFor resolves once an appended event is applied', async () => {
    const store = new MemoryEventStore();
    await appendAll(store, [build.zone('z1'), build.app('z1', 'a1')]);
    const models = createReadModels();
    const runner = new ProjectionRunner({ store, models: models.all });
    expect(runner.position).toBe(-1n);
    expect(runner.status()).toEqual({ state: 'stopped', position: -1n });
    await runner.start();
    await runner.waitFor(1n);
    expect(runner.status().state).toBe('live');
    expect(models.directory.getApplication('a1')).toBeDefined();

    const pending = runner.waitFor(2n);
    const { position } = await store.appendToStream('grant-g1', [
      { type: 'GrantIssued', data: build.grant('z1', 'g1', 'a1', 'r1', ['payments:read'], null).data as Record<string, unknown> },
    ]);
    expect(position).toBe(2n);
    await pending;
    expect(models.grants.get('g1')?.issued_position).toBe(2n);
    expect(runner.position).toBe(2n);
    expect(await runner.lag()).toBe(0n);
    // Already applied: resolves at once.
    await runner.waitFor(0n);
    await runner.stop();
    expect(runner.status().state).toBe('stopped');
  });

  it('rejects waitFor on timeout', async () => {
    const store = new MemoryEventStore();
    const runner = new ProjectionRunner({ store, models: createReadModels().all });
    await runner.start();
    await expect(runner.waitFor(5n, 30)).rejects.toBeInstanceOf(ProjectionTimeoutError);
    await runner.stop();
    await expect(runner.waitFor(5n)).rejects.toThrow(/stopped/);
  });

  it('stops on an event that does not decode, naming its position and stream, and skips nothing', async () => {
    const store = new MemoryEventStore();
    await appendAll(store, [build.zone('z1'), build.app('z1', 'a1')]);
    const models = createReadModels();
    const counted = models.all.map((m) => counting(m));
    const runner = new ProjectionRunner({ store, models: counted });
    await runner.start();
    await runner.waitFor(1n);
    const waiting = runner.waitFor(3n);
    // Bypasses makeEvent: scopes break the schema.
    await store.appendToStream('grant-bad', [
      { type: 'GrantIssued', data: { ...(build.grant('z1', 'bad', 'a1', 'r1', ['payments:read'], null).data as Record<string, unknown>), scopes: ['NOT A SCOPE'] } },
    ]);
    await appendAll(store, [build.grant('z1', 'g2', 'a1', 'r1', ['payments:read'], null)]);
    const error = await waiting.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ProjectionError);
    const e = error as ProjectionError;
    expect(e.position).toBe(2n);
    expect(e.streamId).toBe('grant-bad');
    expect(e.message).toMatch(/position 2 .*stream grant-bad/);
    expect(e.message).toMatch(/scopes\.0/);
    const status = runner.status();
    expect(status.state).toBe('failed');
    expect(status.position).toBe(1n);
    expect(status.error).toMatch(/position 2/);
    // Nothing after the bad event was applied, and the bad event reached no model.
    expect(models.grants.get('g2')).toBeUndefined();
    expect(counted.every((m) => m.positions.every((p) => p <= 1n))).toBe(true);
    await expect(runner.waitFor(1n)).resolves.toBeUndefined();
    await expect(runner.waitFor(2n)).rejects.toBe(error);
    await runner.stop();
    expect(runner.status().state).toBe('failed');
  });

  it('stops on an event type that is not writ’s', async () => {
    const store = new MemoryEventStore();
    await store.appendToStream('other-1', [{ type: 'OrderPlaced', data: { id: 1 } }]);
    const runner = new ProjectionRunner({ store, models: createReadModels().all });
    await runner.start();
    await expect(runner.waitFor(0n)).rejects.toThrow(/position 0 .*stream other-1.*unknown event type "OrderPlaced"/);
    expect(runner.status().state).toBe('failed');
  });

  it('stops when a model fails to apply an event', async () => {
    const store = new MemoryEventStore();
    await appendAll(store, [build.zone('z1')]);
    const broken: ReadModel = {
      name: 'broken',
      version: 1,
      apply() {
        throw new Error('boom');
      },
      reset() {},
      snapshot: () => ({ version: 1 }),
      restore() {},
    };
    const runner = new ProjectionRunner({ store, models: [broken] });
    await runner.start();
    await expect(runner.waitFor(0n)).rejects.toThrow(/read model broken failed .*position 0.*boom/);
  });

  it('restarts from a persisted checkpoint without re-applying events, and ends equal to a rebuild', async () => {
    const store = new MemoryEventStore();
    const history = [...randomHistory(11, 1500)];
    await appendAll(store, history.slice(0, 1000));
    const path = join(dir, 'projections.db');

    const first = createReadModels();
    const firstCounted = first.all.map((m) => counting(m));
    let checkpoints = SqliteCheckpointStore.open(path);
    let runner = new ProjectionRunner({ store, models: firstCounted, checkpoints });
    await runner.start();
    await runner.waitFor(999n);
    await runner.stop();
    await checkpoints.close();
    expect(firstCounted.every((m) => m.positions.length === 1000)).toBe(true);

    await appendAll(store, history.slice(1000));
    const second = createReadModels();
    const secondCounted = second.all.map((m) => counting(m));
    checkpoints = SqliteCheckpointStore.open(path);
    runner = new ProjectionRunner({ store, models: secondCounted, checkpoints });
    await runner.start();
    // Restored at once: everything up to the checkpoint is answerable without folding (the loop may have begun).
    expect(runner.position).toBeGreaterThanOrEqual(999n);
    await runner.waitFor(1499n);
    for (const m of secondCounted) {
      expect(m.positions).toHaveLength(500);
      expect(m.positions[0]).toBe(1000n);
    }
    expect(snapshots(second.all)).toEqual(await rebuiltSnapshots(store));
    await runner.stop();
    await checkpoints.close();
  });

  it('rebuilds a model whose checkpoint has another version, and only that one', async () => {
    const store = new MemoryEventStore();
    await appendAll(store, [...randomHistory(3, 200)]);
    const checkpoints = new MemoryCheckpointStore();
    const first = createReadModels();
    const r1 = new ProjectionRunner({ store, models: first.all, checkpoints });
    await r1.start();
    await r1.waitFor(199n);
    await r1.stop();

    const second = createReadModels();
    const grants = counting(second.grants, second.grants.version + 1);
    const others = [second.directory, second.policySets, second.sessions, second.decisions].map((m) => counting(m));
    const r2 = new ProjectionRunner({ store, models: [grants, ...others], checkpoints });
    await r2.start();
    await r2.waitFor(199n);
    expect(grants.positions).toHaveLength(200);
    expect(others.every((m) => m.positions.length === 0)).toBe(true);
    expect(snapshots(second.all)).toEqual(snapshots(first.all));
    await r2.stop();
  });

  it('ignores a checkpoint that belongs to another ledger', async () => {
    const checkpoints = new MemoryCheckpointStore();
    const storeA = new MemoryEventStore();
    await appendAll(storeA, [build.zone('za'), build.app('za', 'a1')]);
    const r1 = new ProjectionRunner({ store: storeA, models: createReadModels().all, checkpoints });
    await r1.start();
    await r1.waitFor(1n);
    await r1.stop();

    // Same length, other events: position 1 holds another stream.
    const storeB = new MemoryEventStore();
    await appendAll(storeB, [build.zone('zb'), build.zone('zc'), build.app('zb', 'b1')]);
    const models = createReadModels();
    const r2 = new ProjectionRunner({ store: storeB, models: models.all, checkpoints });
    await r2.start();
    await r2.waitFor(2n);
    expect(models.directory.getZone('za')).toBeUndefined();
    expect(models.directory.listZones().map((z) => z.zone_id)).toEqual(['zb', 'zc']);
    await r2.stop();

    // A checkpoint ahead of a shorter ledger is ignored too.
    const storeC = new MemoryEventStore();
    await appendAll(storeC, [build.zone('zd')]);
    const fresh = createReadModels();
    const r3 = new ProjectionRunner({ store: storeC, models: fresh.all, checkpoints });
    await r3.start();
    await r3.waitFor(0n);
    expect(fresh.directory.listZones().map((z) => z.zone_id)).toEqual(['zd']);
    await r3.stop();
  });

  it('folds each model from its own checkpoint when they differ', async () => {
    const store = new MemoryEventStore();
    const history = [...randomHistory(5, 300)];
    await appendAll(store, history);
    // Checkpoints: directory+grants at 250, the rest at 100.
    const checkpoints = new MemoryCheckpointStore();
    for (const upTo of [100n, 250n]) {
      const models = createReadModels();
      const tmp = new MemoryEventStore();
      await appendAll(tmp, history.slice(0, Number(upTo) + 1));
      const r = new ProjectionRunner({ store: tmp, models: models.all, checkpoints: new MemoryCheckpointStore() });
      await r.rebuild();
      const anchorEvent = history[Number(upTo)]!;
      const anchor = { streamId: streamOf(anchorEvent), revision: await revisionAt(store, upTo) };
      const names = upTo === 250n ? ['directory', 'grants'] : ['policy-sets', 'sessions', 'decisions'];
      await checkpoints.save(
        models.all
          .filter((m) => names.includes(m.name))
          .map((m) => ({ name: m.name, version: m.version, position: upTo, anchor, snapshot: m.snapshot(), savedAt: new Date().toISOString() })),
      );
    }
    const models = createReadModels();
    const counted = models.all.map((m) => counting(m));
    const runner = new ProjectionRunner({ store, models: counted, checkpoints });
    await runner.start();
    expect(runner.position).toBeGreaterThanOrEqual(100n);
    await runner.waitFor(299n);
    for (const m of counted) {
      const from = ['directory', 'grants'].includes(m.name) ? 251n : 101n;
      expect(m.positions[0], m.name).toBe(from);
      expect(m.positions).toHaveLength(Number(300n - from));
    }
    expect(snapshots(models.all)).toEqual(await rebuiltSnapshots(store));
    await runner.stop();
  });

  it('snapshots every N events while following, and on stop', async () => {
    const store = new MemoryEventStore();
    const checkpoints = new MemoryCheckpointStore();
    const models = createReadModels();
    const runner = new ProjectionRunner({ store, models: models.all, checkpoints, snapshotEvery: 100, snapshotBudget: 1 });
    await runner.start();
    await appendAll(store, [...randomHistory(9, 1000)]);
    await runner.waitFor(999n);
    // Saves run in the background and never overlap, so how many happen depends on timing; several do.
    expect(checkpoints.saves).toBeGreaterThanOrEqual(2);
    await runner.checkpoint();
    expect((await checkpoints.load('decisions'))?.position).toBe(999n);
    const saves = checkpoints.saves;
    // Nothing new: stop does not write again.
    await runner.stop();
    expect(checkpoints.saves).toBe(saves);
    await appendAll(store, [build.zone('late')]);
    expect(await runner.lag()).toBe(1n);
  });

  it('rebuild folds the whole ledger with progress, saves checkpoints, and resumes following', async () => {
    const store = new MemoryEventStore();
    const history = [...randomHistory(21, 2500)];
    await appendAll(store, history);
    const checkpoints = new MemoryCheckpointStore();
    const models = createReadModels();
    const runner = new ProjectionRunner({ store, models: models.all, checkpoints });
    await runner.start();
    await runner.waitFor(2499n);
    const before = snapshots(models.all);
    const progress: Array<[number, number]> = [];
    const result = await runner.rebuild({ onProgress: (done, total) => progress.push([done, total]) });
    expect(result).toEqual({ events: 2500, position: 2499n });
    expect(progress[0]).toEqual([0, 2500]);
    expect(progress.at(-1)).toEqual([2500, 2500]);
    expect(snapshots(models.all)).toEqual(before);
    expect((await checkpoints.load('grants'))?.position).toBe(2499n);
    // Still following.
    expect(runner.status().state).toBe('live');
    const { position } = await store.appendToStream('zone-after', [{ type: 'ZoneCreated', data: build.zone('after').data as Record<string, unknown> }]);
    await runner.waitFor(position);
    expect(models.directory.getZone('after')).toBeDefined();
    await runner.stop();
  });

  it('stop() interrupts a rebuild, which then rejects', async () => {
    const store = new MemoryEventStore();
    await appendAll(store, [...randomHistory(8, 3000)]);
    const models = createReadModels();
    const runner = new ProjectionRunner({ store, models: models.all });
    const rebuilding = runner.rebuild();
    await runner.stop();
    await expect(rebuilding).rejects.toThrow(/interrupted/);
    expect(runner.status().state).toBe('stopped');
    expect(runner.position).toBeLessThan(2999n);
  });

  it('resubscribes after the store drops the subscription', async () => {
    const inner = new MemoryEventStore();
    const store = flakyStore(inner, 50);
    const history = [...randomHistory(4, 400)];
    await appendAll(inner, history);
    const models = createReadModels();
    const runner = new ProjectionRunner({ store, models: models.all });
    await runner.start();
    await runner.waitFor(399n, 10_000);
    expect(runner.status()).toEqual({ state: 'live', position: 399n });
    expect(store.drops).toBeGreaterThan(0);
    expect(snapshots(models.all)).toEqual(await rebuiltSnapshots(inner));
    await runner.stop();
  });
});

async function revisionAt(store: EventStore, position: bigint): Promise<bigint> {
  for await (const e of store.readAll({ fromPosition: position - 1n, maxCount: 1 })) return e.revision;
  throw new Error('no event');
}

/** A store whose first subscription fails after `failAfter` events (a dropped connection). */
function flakyStore(inner: MemoryEventStore, failAfter: number): EventStore & { drops: number } {
  const wrapper = {
    drops: 0,
    appendToStream: inner.appendToStream.bind(inner),
    readStream: inner.readStream.bind(inner),
    readAll: inner.readAll.bind(inner),
    headPosition: inner.headPosition.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
    subscribeToAll(options?: { fromPosition?: bigint }): Subscription {
      const sub = inner.subscribeToAll(options);
      const shouldFail = wrapper.drops === 0;
      return {
        close: () => sub.close(),
        async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
          let n = 0;
          for await (const e of sub) {
            if (shouldFail && ++n > failAfter) {
              wrapper.drops++;
              throw new Error('connection reset');
            }
            yield e;
            await tick();
          }
        },
      };
    },
  };
  return wrapper;
}

