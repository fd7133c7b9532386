import type { EventStore } from '../store/event-store.js';
import type { EventData } from '../domain/events.js';
import type { AuditReadModels } from './audit-ports.js';
import type { DecisionSource } from './export-record.js';

/** A time range over `occurred_at`: `since` inclusive, `until` exclusive (as the decision list filters). */
export interface DecisionRange {
  since?: string | undefined;
  until?: string | undefined;
}

/** Where the read models stand (ProjectionRunner.position). */
export interface ProjectionPosition {
  readonly position: bigint;
}

/**
 * Where a scan for the zone's decisions in `range` may start (exclusive): just before the first such
 * decision the decisions read model knows of. When the model knows none, nothing up to the position the
 * models have applied qualifies, so the scan starts there. Without a model, from the start of the ledger.
 */
export function scanStart(
  models: Pick<AuditReadModels, 'decisions'> | undefined,
  runner: ProjectionPosition | undefined,
  zoneId: string,
  range: DecisionRange,
): bigint {
  if (!models || !runner) return -1n;
  const applied = runner.position;
  const first = models.decisions.list(zoneId, { since: range.since, until: range.until, limit: 1 }).items[0];
  if (first && first.position <= applied) return first.position - 1n;
  return applied;
}

/**
 * The zone's recorded decisions with `occurred_at` in range, in ledger order, streamed from the ledger with
 * constant memory (the store reads in pages). `upTo` bounds the scan (typically the head when the scan began,
 * so that a long export is a consistent prefix of the ledger).
 */
export async function* zoneDecisions(
  store: EventStore,
  zoneId: string,
  range: DecisionRange,
  bounds: { after?: bigint; upTo?: bigint } = {},
): AsyncGenerator<DecisionSource> {
  const since = range.since === undefined ? -Infinity : Date.parse(range.since);
  const until = range.until === undefined ? Infinity : Date.parse(range.until);
  const options = {
    ...(bounds.after !== undefined && bounds.after >= 0n ? { fromPosition: bounds.after } : {}),
    ...(bounds.upTo !== undefined ? { maxPosition: bounds.upTo } : {}),
  };
  for await (const e of store.readAll(options)) {
    if (e.type !== 'DecisionRecorded') continue;
    const data = e.data as EventData<'DecisionRecorded'>;
    if (data.zone_id !== zoneId) continue;
    if (since !== -Infinity || until !== Infinity) {
      const t = Date.parse(data.occurred_at);
      if (t < since || t >= until) continue;
    }
    yield { position: e.position, recordedAt: e.recordedAt, data };
  }
}
