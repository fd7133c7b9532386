import type { EventStore } from '../store/event-store.js';
import type { DirectoryModel } from '../projections/directory-model.js';
import type { GrantsModel } from '../projections/grants-model.js';
import type { SessionsModel } from '../projections/sessions-model.js';
import type { DecisionsModel } from '../projections/decisions-model.js';
import type { PolicyInput, PolicyResult } from '../policy/policy-engine.js';

/**
 * What the audit use cases need from the rest of writ, narrowed to the calls they make. The runtime's
 * ReadModels and PolicyRegistry satisfy these structurally; tests and the benchmark hand in smaller pieces.
 *
 * The read models serve only as indexes (which streams to read); every fact audit reports comes from the
 * ledger itself, read as of a position.
 */
export interface AuditReadModels {
  readonly grants: Pick<GrantsModel, 'everFor' | 'list'>;
  readonly directory: Pick<DirectoryModel, 'listApplications' | 'listResources'>;
  readonly sessions: Pick<SessionsModel, 'list'>;
  readonly decisions: Pick<DecisionsModel, 'list'>;
}

/** Policy evaluation by zone and version (PolicyRegistry). */
export interface AuditPolicies {
  evaluate(zoneId: string, version: number, input: PolicyInput): Promise<PolicyResult>;
}

/** Everything the audit use cases read. */
export interface AuditContext {
  readonly store: EventStore;
  readonly models: AuditReadModels;
  readonly policies: AuditPolicies;
}
