import { join } from 'node:path';
import type { WritConfig } from '../config.js';
import { openEventStore } from '../store/open-event-store.js';
import { createReadModels } from '../projections/read-models.js';
import { ProjectionRunner } from '../projections/projection-runner.js';
import { SqliteCheckpointStore } from '../projections/checkpoint-store.js';

/** Fold the whole ledger into fresh read models and save their checkpoints (for `writ projections rebuild`). */
export async function rebuildProjections(config: WritConfig, onProgress: (done: number, total: number) => void): Promise<{ events: number; position: string }> {
  const store = await openEventStore({ eventstore: config.eventstore, dataDir: config.dataDir });
  const checkpoints = SqliteCheckpointStore.open(join(config.dataDir, 'projections.db'));
  try {
    const models = createReadModels();
    const runner = new ProjectionRunner({ store, models: models.all, checkpoints });
    let events = 0;
    await runner.rebuild({
      onProgress: (done, total) => {
        events = done;
        onProgress(done, total);
      },
    });
    return { events, position: String(runner.position) };
  } finally {
    await checkpoints.close();
    await store.close();
  }
}
