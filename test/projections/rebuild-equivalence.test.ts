import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvent, type WritEvent } from '../../src/domain/events.js';
import type { EventStore } from '../../src/store/event-store.js';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import { SqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { MemoryCheckpointStore, SqliteCheckpointStore, type CheckpointStore } from '../../src/projections/checkpoint-store.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';
import type { ReadModel } from '../../src/projections/read-model.js';
import { createReadModels } from '../../src/projections/read-models.js';
import { appendAll, randomHistory } from './fixtures.js';

function snapshots(models: readonly ReadModel[]): Record<string, unknown> {
  // Through JSON: what a checkpoint would hold.
  return JSON.parse(JSON.stringify(Object.fromEntries(models.map((m) => [m.name, m.snapshot()]))));
}

/** The reference: a plain fold with zod's decodeEvent, no runner, no checkpoints, no compiled decoder. */
async function referenceFold(store: EventStore): Promise<Record<string, unknown>> {
  const models = createReadModels();
  for await (const e of store.readAll()) {
    const event = decodeEvent(e.type, e.data);
    for (const m of models.all) m.apply(event, { position: e.position, recordedAt: e.recordedAt, streamId: e.streamId, revision: e.revision });
  }
  return snapshots(models.all);
}

async function rebuilt(store: EventStore): Promise<Record<string, unknown>> {
  const models = createReadModels();
  await new ProjectionRunner({ store, models: models.all }).rebuild();
  return snapshots(models.all);
}

/**
 * Append `history` while a runner follows live, restarting the runner (new models, restored from the
 * checkpoints) at each of `restartsAt`, with small snapshot intervals so that snapshots land mid-stream.
 */
async function followLive(
  store: EventStore,
  checkpoints: CheckpointStore,
  history: readonly WritEvent[],
  restartsAt: readonly number[],
  batch = 7,
  concurrent = false,
): Promise<Record<string, unknown>> {
  let models = createReadModels();
  let runner = new ProjectionRunner({ store, models: models.all, checkpoints, snapshotEvery: 97, snapshotBudget: 1 });
  await runner.start();
  let last = -1n;
  for (let i = 0; i < history.length; i += batch) {
    const slice = history.slice(i, i + batch);
    // Concurrent appends land in one group commit on SQLite (the order within a batch is then the ledger's).
    last = concurrent
      ? (await Promise.all(slice.map((e) => appendAll(store, [e])))).reduce((a, b) => (a > b ? a : b), -1n)
      : await appendAll(store, slice);
    // Let the runner interleave with the appends (sometimes it is behind, sometimes caught up).
    if ((i / batch) % 3 === 0) await tick();
    if (restartsAt.some((r) => r >= i && r < i + batch)) {
      await runner.stop();
      models = createReadModels();
      runner = new ProjectionRunner({ store, models: models.all, checkpoints, snapshotEvery: 97, snapshotBudget: 1 });
      await runner.start();
    }
  }
  await runner.waitFor(last, 20_000);
  expect(runner.status().state).toBe('live');
  const result = snapshots(models.all);
  await runner.stop();
  return result;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'writ-equivalence-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('incremental projections equal a full rebuild', () => {
  it('on a SQLite ledger: 4,000 events followed live with restarts equal a fresh rebuild and a plain fold', async () => {
    const store = SqliteEventStore.open(join(dir, 'ledger.db'));
    const checkpoints = SqliteCheckpointStore.open(join(dir, 'projections.db'));
    try {
      const history = [...randomHistory(2024, 4000)];
      const live = await followLive(store, checkpoints, history, [1000, 2500, 2510], 20, true);
      const full = await rebuilt(store);
      expect(live).toEqual(full);
      expect(full).toEqual(await referenceFold(store));
      // And the checkpoints themselves restore to the same state.
      const restored = createReadModels();
      const runner = new ProjectionRunner({ store, models: restored.all, checkpoints });
      await runner.start();
      await runner.waitFor(3999n);
      expect(snapshots(restored.all)).toEqual(full);
      await runner.stop();
    } finally {
      await checkpoints.close();
      await store.close();
    }
  });

  it('for random histories and restart points (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.integer({ min: 0, max: 399 }), { maxLength: 3 }),
        fc.integer({ min: 1, max: 25 }),
        async (seed, count, restartsAt, batch) => {
          const store = new MemoryEventStore();
          const history = [...randomHistory(seed, count)];
          const live = await followLive(store, new MemoryCheckpointStore(), history, restartsAt, batch);
          expect(live).toEqual(await referenceFold(store));
        },
      ),
      { numRuns: 30 },
    );
  });
});
