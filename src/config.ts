import { z } from 'zod';
import { resolve } from 'node:path';

/** Runtime configuration, read from the environment (see README "Configuration"). */
export interface WritConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Mandate signing keys; instances that share a ledger must share this folder (default `<dataDir>/keys`). */
  keysDir: string;
  /** Unset: embedded SQLite in dataDir. `esdb://…` for EventStoreDB, `memory:` for throwaway runs. */
  eventstore: string | undefined;
  redisUrl: string | undefined;
  issuer: string;
  adminToken: string | undefined;
  /** Lifetime of mandates in seconds (at most 900). */
  mandateTtlSeconds: number;
  /** Token-endpoint requests per client per second before 429 (burst = 2x). */
  rateLimitPerSecond: number;
  logLevel: string;
}

const Env = z.object({
  WRIT_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  WRIT_HOST: z.string().default('127.0.0.1'),
  WRIT_DATA_DIR: z.string().default('./data'),
  WRIT_KEYS_DIR: z.string().optional(),
  WRIT_EVENTSTORE: z.string().optional(),
  WRIT_REDIS_URL: z.string().optional(),
  WRIT_ISSUER: z.string().optional(),
  WRIT_ADMIN_TOKEN: z.string().min(16).optional(),
  WRIT_MANDATE_TTL: z.coerce.number().int().min(30).max(900).default(300),
  WRIT_RATE_LIMIT: z.coerce.number().positive().default(1000),
  WRIT_LOG_LEVEL: z.string().default('info'),
});

/** Parse configuration from an environment; throws a readable error naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WritConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new Error(`invalid configuration: ${String(first.path[0])}: ${first.message}`);
  }
  const e = parsed.data;
  return {
    port: e.WRIT_PORT,
    host: e.WRIT_HOST,
    dataDir: resolve(e.WRIT_DATA_DIR),
    keysDir: resolve(e.WRIT_KEYS_DIR ?? `${e.WRIT_DATA_DIR}/keys`),
    eventstore: e.WRIT_EVENTSTORE || undefined,
    redisUrl: e.WRIT_REDIS_URL || undefined,
    issuer: (e.WRIT_ISSUER ?? `http://localhost:${e.WRIT_PORT}`).replace(/\/$/, ''),
    adminToken: e.WRIT_ADMIN_TOKEN,
    mandateTtlSeconds: e.WRIT_MANDATE_TTL,
    rateLimitPerSecond: e.WRIT_RATE_LIMIT,
    logLevel: e.WRIT_LOG_LEVEL,
  };
}
