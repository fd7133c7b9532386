import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type WritConfig } from '../../src/config.js';
import { createWrit } from '../../src/main.js';
import { buildApp } from '../../src/api/app.js';
import type { Writ } from '../../src/app/writ.js';
import type { EventStore } from '../../src/store/event-store.js';

export const ROOT_TOKEN = 'test-root-token-0123456789abcdef';

export interface TestWrit {
  writ: Writ;
  app: FastifyInstance;
  config: WritConfig;
  dataDir: string;
  rootToken: string;
  /** Authorization header value for the root key. */
  root: { authorization: string };
  close(): Promise<void>;
}

/**
 * A complete writ (real ledger, projections, opa-wasm policies, signing keys) behind `app.inject`.
 * `ledger: 'sqlite'` (default) uses a real SQLite file in a fresh temp dir; `memory` is for pure API tests.
 */
export async function startTestWrit(
  opts: { ledger?: 'sqlite' | 'memory'; dataDir?: string; redisUrl?: string; store?: EventStore; env?: Record<string, string>; now?: () => Date } = {},
): Promise<TestWrit> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'writ-test-')));
  const config = loadConfig({
    WRIT_DATA_DIR: dataDir,
    WRIT_ADMIN_TOKEN: ROOT_TOKEN,
    WRIT_ISSUER: 'http://writ.test',
    ...(opts.ledger === 'memory' ? { WRIT_EVENTSTORE: 'memory:' } : {}),
    ...(opts.redisUrl ? { WRIT_REDIS_URL: opts.redisUrl } : {}),
    ...opts.env,
  });
  const writ = await createWrit(config, { store: opts.store, now: opts.now });
  const app = await buildApp(writ, { logger: false });
  return {
    writ,
    app,
    config,
    dataDir,
    rootToken: ROOT_TOKEN,
    root: { authorization: `Bearer ${ROOT_TOKEN}` },
    async close() {
      await app.close();
      await writ.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
