import { z } from 'zod';

/** Schemas of the health and metrics routes (API.md, Health). */

export const Live = z.object({ status: z.literal('ok') });

const CheckStatus = z.enum(['ok', 'unavailable', 'not_configured', 'lagging', 'stopped', 'catching_up']);

export const Ready = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    eventstore: CheckStatus.describe('ledger ping'),
    redis: CheckStatus.describe('redis ping, or not_configured without WRIT_REDIS_URL'),
    projections: CheckStatus.describe('projections live and within the lag threshold'),
  }),
});

const Dependency = z.object({
  status: CheckStatus,
  latency_ms: z.number().nullable().describe('round trip of the ping; null when not configured'),
});

export const Detailed = z.object({
  status: z.enum(['ready', 'not_ready']),
  dependencies: z.object({ eventstore: Dependency, redis: Dependency }),
  ledger: z.object({ head_position: z.string().describe('decimal; -1 for an empty ledger') }),
  projections: z.object({
    status: CheckStatus,
    position: z.string(),
    lag: z.number().int().describe('events between the ledger head and the projections'),
    max_ready_lag: z.number().int(),
    items: z.array(z.object({ name: z.string(), position: z.string(), lag: z.number().int() })),
  }),
  versions: z.object({ writ: z.string(), node: z.string() }),
  uptime_seconds: z.number(),
});
