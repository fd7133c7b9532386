import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { WritConfig } from './config.js';
import type { Writ } from './app/writ.js';
import { openEventStore } from './store/open-event-store.js';
import { createReadModels } from './projections/read-models.js';
import { ProjectionRunner } from './projections/projection-runner.js';
import { SqliteCheckpointStore, MemoryCheckpointStore } from './projections/checkpoint-store.js';
import { PolicyRegistry } from './policy/policy-registry.js';
import { OpaWasmEngine } from './policy/opa-wasm-engine.js';
import { AdminService } from './app/admin-service.js';
import { AdminAuthenticator } from './app/admin-authenticator.js';
import { PolicyVersionSource } from './app/policy-version-source.js';
import { Metrics } from './app/metrics.js';
import { createSts } from './sts/sts.js';
import { SigningKeys } from './sts/signing-keys.js';
import { createRevocationBus } from './sts/revocation-bus.js';
import { createRateLimiter } from './sts/rate-limiter.js';
import { createAudit } from './audit/audit.js';
import { generateSecret } from './crypto/secret-hash.js';
import type { EventStore } from './store/event-store.js';

export interface CreateWritOptions {
  /** Use this store instead of opening one from config (tests share one store between instances). */
  store?: EventStore;
  now?: () => Date;
}

/**
 * The one place that wires adapters to ports. Everything else receives what it needs from here.
 * Start-up order matters: the ledger, then projections caught up (so the STS never answers from an
 * empty read model), then the services.
 */
export async function createWrit(config: WritConfig, options: CreateWritOptions = {}): Promise<Writ> {
  const inMemory = config.eventstore === 'memory:';
  if (!inMemory) await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const { token: rootToken, generated, path: rootTokenPath } = await resolveRootToken(config, inMemory);

  const store = options.store ?? (await openEventStore({ eventstore: config.eventstore, dataDir: config.dataDir }));
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false }) : undefined;
  if (redis) {
    // Without a listener ioredis reports connection drops as unhandled errors; readiness reports them instead.
    redis.on('error', () => {});
    await redis.connect();
  }

  const metrics = new Metrics();
  const models = createReadModels();
  const checkpoints = inMemory || options.store ? new MemoryCheckpointStore() : SqliteCheckpointStore.open(join(config.dataDir, 'projections.db'));
  const runner = new ProjectionRunner({ store, models: models.all, checkpoints });
  await runner.start();
  await runner.waitFor(await store.headPosition(), 120_000);

  const policies = new PolicyRegistry(new OpaWasmEngine(), async (zoneId, version) => {
    const b = models.policySets.bundle(zoneId, version);
    if (!b) throw new Error(`policy version ${zoneId}/${version} not found`);
    return { digest: b.digest, bundle: Buffer.from(b.bundle_base64, 'base64') };
  });
  const revocations = createRevocationBus(redis);
  const rateLimiter = createRateLimiter(redis, { perSecond: config.rateLimitPerSecond });
  const keys = await SigningKeys.open(config.keysDir, { inMemory, mandateTtlSeconds: config.mandateTtlSeconds });
  const sts = createSts({ config, store, models, runner, policies, keys, revocations, rateLimiter, metrics, now: options.now });
  const admin = new AdminService({
    store,
    models,
    runner,
    policySource: new PolicyVersionSource(),
    onSessionRevoked: (sessionId) => revocations.publish(sessionId),
    now: options.now,
  });
  const audit = createAudit({ store, models, runner, policies, redis });
  const auth = new AdminAuthenticator(rootToken, models.directory);

  let closed = false;
  return {
    config,
    store,
    models,
    runner,
    policies,
    admin,
    auth,
    sts,
    audit,
    metrics,
    redis,
    rootTokenGenerated: generated,
    rootTokenPath,
    async close() {
      if (closed) return;
      closed = true;
      await sts.close();
      await audit.close();
      await runner.stop();
      await revocations.close();
      if (redis) redis.disconnect();
      if (!options.store) await store.close();
      await checkpoints.close();
    },
  };
}

/** WRIT_ADMIN_TOKEN wins; otherwise the key in the data dir, generated (mode 0600) on first start. */
async function resolveRootToken(config: WritConfig, inMemory: boolean): Promise<{ token: string; generated: boolean; path: string | undefined }> {
  if (config.adminToken) return { token: config.adminToken, generated: false, path: undefined };
  if (inMemory) return { token: generateSecret(), generated: true, path: undefined };
  const path = join(config.dataDir, 'admin-token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length >= 16) return { token, generated: false, path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = generateSecret();
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return { token, generated: true, path };
}
