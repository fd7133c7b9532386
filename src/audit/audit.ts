import type { Redis } from 'ioredis';
import type { EventStore } from '../store/event-store.js';
import type { PolicyInput } from '../decision/policy-input.js';
import type { AuditContext, AuditPolicies, AuditReadModels } from './audit-ports.js';
import { decisionListCsv, listDecisions, type DecisionListPage, type DecisionListQuery } from './decision-list.js';
import { scanStart, zoneDecisions, type DecisionRange, type ProjectionPosition } from './decision-scan.js';
import { explainDecision, reconstructInput, type Explanation } from './explain.js';
import { exportChunks, type ExportFormat } from './export.js';
import { normalizeTime, parseAsOf, type AsOf } from './ledger-time.js';
import { replayDecisions, type ReplayOptions, type ReplayResult } from './replay.js';
import { SiemStream, type SiemStreamOptions } from './siem-stream.js';
import { zoneStateAsOf, type ZoneStateAsOf } from './state-as-of.js';
import { traceDecision, type DecisionTrace } from './trace.js';

/** Options of an export: a range over `occurred_at` (`since` inclusive, `until` exclusive) and a format. */
export interface ExportOptions extends DecisionRange {
  format: ExportFormat;
}

/**
 * The audit use cases (API.md, Audit), all scoped to one zone: a decision of another zone is never visible.
 * Times given to these methods are RFC 3339 strings; they are normalised here.
 */
export interface Audit {
  /** The trace of a request ID: one read of its `decision-<request_id>` stream. 404 `request_not_found`. */
  trace(zoneId: string, requestId: string): Promise<DecisionTrace>;
  /** A page of the zone's decisions (oldest first, or newest first with `order: 'desc'`). */
  listDecisions(zoneId: string, query: DecisionListQuery): DecisionListPage;
  /** The same list as streamed CSV with a header row: every match from the cursor on, `max` rows at most. */
  decisionsCsv(zoneId: string, query: Omit<DecisionListQuery, 'limit' | 'order'>, max?: number): AsyncIterable<string>;
  /** Point-in-time explanation: the input rebuilt as of the decision's ledger position, digest check, re-evaluation. */
  explain(zoneId: string, requestId: string): Promise<Explanation>;
  /** The rebuilt policy input of a recorded decision (for simulate by request ID). */
  reconstructInput(zoneId: string, requestId: string): Promise<PolicyInput>;
  /** The zone as of a position or time (`as_of` as the API takes it, or parsed). */
  stateAsOf(zoneId: string, asOf: string | AsOf): Promise<ZoneStateAsOf>;
  /** Re-decide recorded decisions with their recorded versions (integrity) or a candidate version (impact). */
  replay(zoneId: string, options?: ReplayOptions): Promise<ReplayResult>;
  /** A tamper-evident export as text chunks, to be streamed as they come (constant memory). */
  export(zoneId: string, options: ExportOptions): AsyncIterable<string>;
  /** The SIEM shipper, when Redis is configured. */
  readonly siem: SiemStream | undefined;
  close(): Promise<void>;
}

/** What `createAudit` is wired with (main.ts). */
export interface AuditDeps {
  store: EventStore;
  models: AuditReadModels;
  /** Where the read models stand: lets range scans skip ledger history before the first decision in range. */
  runner?: ProjectionPosition;
  policies: AuditPolicies;
  /** With Redis, every recorded decision is also added to the zone's SIEM stream. */
  redis?: Redis | undefined;
  siem?: SiemStreamOptions;
}

export function createAudit(deps: AuditDeps): Audit {
  const ctx: AuditContext = { store: deps.store, models: deps.models, policies: deps.policies };
  const siem = deps.redis ? new SiemStream(deps.store, deps.redis, deps.siem) : undefined;
  siem?.start();

  const range = (r: DecisionRange): DecisionRange => ({ since: normalizeTime(r.since, 'since'), until: normalizeTime(r.until, 'until') });

  return {
    trace: (zoneId, requestId) => traceDecision(deps.store, zoneId, requestId),
    listDecisions: (zoneId, query) => listDecisions(deps.models.decisions, zoneId, { ...query, ...range(query) }),
    decisionsCsv: (zoneId, query, max) => decisionListCsv(deps.models.decisions, zoneId, { ...query, ...range(query) }, max),
    explain: (zoneId, requestId) => explainDecision(ctx, zoneId, requestId),
    reconstructInput: (zoneId, requestId) => reconstructInput(ctx, zoneId, requestId),
    stateAsOf: (zoneId, asOf) => zoneStateAsOf(deps.store, deps.models, zoneId, typeof asOf === 'string' ? parseAsOf(asOf) : asOf),
    replay: (zoneId, options = {}) => replayDecisions(ctx, zoneId, { ...options, ...range(options), ...(deps.runner ? { runner: deps.runner } : {}) }),
    export(zoneId, options) {
      const r = range(options);
      async function* chunks(): AsyncGenerator<string> {
        // The head when the export starts bounds it: a consistent prefix of the ledger, however long it runs.
        const head = await deps.store.headPosition();
        const after = scanStart(deps.models, deps.runner, zoneId, r);
        yield* exportChunks(zoneDecisions(deps.store, zoneId, r, { after, upTo: head }), options.format);
      }
      return chunks();
    },
    siem,
    async close() {
      await siem?.close();
    },
  };
}
