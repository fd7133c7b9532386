import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Writ } from '../../../app/writ.js';
import { rootGuard } from '../../plugins/admin-auth.js';
import { Detailed, Live, Ready } from '../../schemas/health.js';
import { errors } from '../../schemas/common.js';

/** Readiness requires the projections within this many events of the ledger head. */
export const MAX_READY_LAG = 1000;
/** A dependency that does not answer its ping within this time is unavailable. */
const PING_TIMEOUT_MS = 2000;

type CheckStatus = z.infer<typeof Ready>['checks']['eventstore'];

/**
 * Liveness, readiness, the detailed (admin) view, and Prometheus metrics. Liveness and readiness are public and
 * say nothing about internals; the detailed view needs an admin key. Nothing here writes to the ledger.
 */
export async function healthRoutes(app: FastifyInstance, { writ }: { writ: Writ }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['health'];
  const startedAt = Date.now();

  r.get('/v1/health', { schema: { tags, summary: 'Liveness: the process serves HTTP', response: { 200: Live } } }, async () => ({ status: 'ok' as const }));

  r.get(
    '/v1/health/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: ledger reachable, Redis reachable when configured, projections live and caught up',
        response: { 200: Ready, 503: Ready.describe('not ready: see checks') },
      },
    },
    async (_request, reply) => {
      const probe = await probeAll(writ);
      const ready = probe.eventstore.status === 'ok' && (probe.redis.status === 'ok' || probe.redis.status === 'not_configured') && probe.projections.status === 'ok';
      return reply.status(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not_ready',
        checks: { eventstore: probe.eventstore.status, redis: probe.redis.status, projections: probe.projections.status },
      });
    },
  );

  r.get(
    '/v1/health/detailed',
    {
      onRequest: rootGuard,
      schema: {
        tags,
        summary: 'Dependency latencies, ledger head, projection positions and lag, versions (admin key)',
        security: [{ adminKey: [] }],
        response: { 200: Detailed, ...errors(401) },
      },
    },
    async () => {
      const probe = await probeAll(writ);
      const ready = probe.eventstore.status === 'ok' && (probe.redis.status === 'ok' || probe.redis.status === 'not_configured') && probe.projections.status === 'ok';
      const head = probe.head;
      return {
        status: ready ? ('ready' as const) : ('not_ready' as const),
        dependencies: { eventstore: probe.eventstore, redis: probe.redis },
        ledger: { head_position: head === undefined ? 'unknown' : String(head) },
        projections: {
          status: probe.projections.status,
          position: String(writ.runner.position),
          lag: probe.projections.lag,
          max_ready_lag: MAX_READY_LAG,
          items: probe.projections.items,
        },
        versions: { writ: await writVersion(), node: process.version },
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      };
    },
  );

  r.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
      },
    },
    async (_request, reply) => {
      try {
        const lags = await writ.runner.lagByModel();
        writ.metrics.setProjectionLag(lags);
      } catch {
        // The ledger is down: keep the last sampled lag; the rest of the metrics are still worth scraping.
      }
      const text = await writ.metrics.render();
      return reply.type(writ.metrics.contentType).send(text);
    },
  );
}

interface Probe {
  head: bigint | undefined;
  eventstore: { status: CheckStatus; latency_ms: number | null };
  redis: { status: CheckStatus; latency_ms: number | null };
  projections: { status: CheckStatus; lag: number; items: { name: string; position: string; lag: number }[] };
}

async function probeAll(writ: Writ): Promise<Probe> {
  const [eventstore, redis, head] = await Promise.all([
    timed(() => writ.store.ping()),
    writ.redis ? timed(() => writ.redis!.ping()) : Promise.resolve({ status: 'not_configured' as const, latency_ms: null }),
    withTimeout(writ.store.headPosition()).catch(() => undefined),
  ]);
  return { head, eventstore, redis, projections: await projections(writ, head) };
}

async function projections(writ: Writ, head: bigint | undefined): Promise<Probe['projections']> {
  const state = writ.runner.status().state;
  const applied = writ.runner.position;
  const lag = head === undefined ? 0 : Number(head > applied ? head - applied : 0n);
  let items: Probe['projections']['items'] = [];
  if (head !== undefined) {
    try {
      const byModel = await withTimeout(writ.runner.lagByModel());
      items = Object.entries(byModel).map(([name, l]) => ({ name, position: String(head - l), lag: Number(l) }));
    } catch {
      items = [];
    }
  }
  let status: CheckStatus;
  if (state === 'failed' || state === 'stopped') status = 'stopped';
  else if (state !== 'live') status = 'catching_up';
  else if (head === undefined) status = 'unavailable';
  else if (lag > MAX_READY_LAG) status = 'lagging';
  else status = 'ok';
  return { status, lag, items };
}

async function timed(ping: () => Promise<unknown>): Promise<{ status: CheckStatus; latency_ms: number | null }> {
  const started = performance.now();
  try {
    await withTimeout(ping());
    return { status: 'ok', latency_ms: round(performance.now() - started) };
  } catch {
    return { status: 'unavailable', latency_ms: round(performance.now() - started) };
  }
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('ping timed out')), PING_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

let version: Promise<string> | undefined;

/** writ's version from package.json (src/ or dist/src/ layouts), read once. */
function writVersion(): Promise<string> {
  version ??= (async () => {
    for (const rel of ['../../../../package.json', '../../../../../package.json']) {
      try {
        const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'writ' && pkg.version) return pkg.version;
      } catch {
        // try the next layout
      }
    }
    return 'unknown';
  })();
  return version;
}
