import type { DirectoryModel } from '../projections/directory-model.js';
import type { GrantsModel } from '../projections/grants-model.js';
import type { PolicySetsModel } from '../projections/policy-sets-model.js';
import type { SessionsModel } from '../projections/sessions-model.js';
import type { MandateRef } from '../projections/decisions-model.js';
import type { PolicyInput, PolicyResult } from '../policy/policy-engine.js';

/**
 * What the STS needs from the rest of writ, narrowed to the calls it makes. The runtime's ReadModels,
 * ProjectionRunner and PolicyRegistry satisfy these structurally; tests can hand in smaller fakes.
 */

/** The read models the STS looks up on every exchange (all in memory). */
export interface StsReadModels {
  readonly directory: Pick<DirectoryModel, 'getApplication' | 'findIssuers' | 'findResourceByIdentifier'>;
  readonly grants: Pick<GrantsModel, 'activeFor'>;
  readonly policySets: Pick<PolicySetsModel, 'activeVersion'>;
  readonly sessions: Pick<SessionsModel, 'get'>;
  readonly decisions: {
    /** The decision recorded under a request id, if projected. */
    get(requestId: string): object | undefined;
    /** The decision that issued a mandate, by the mandate's `jti`. */
    byJti(jti: string): MandateRef | undefined;
  };
}

export type StsDirectory = StsReadModels['directory'];
export type StsApplication = NonNullable<ReturnType<StsDirectory['getApplication']>>;
export type StsTrustedIssuer = ReturnType<StsDirectory['findIssuers']>[number];
export type StsResource = NonNullable<ReturnType<StsDirectory['findResourceByIdentifier']>>;
export type StsGrant = ReturnType<StsReadModels['grants']['activeFor']>[number];
export type StsSession = NonNullable<ReturnType<StsReadModels['sessions']['get']>>;

/** The projection runner: where the read models stand in the ledger, and a way to wait for a position. */
export interface StsProjectionRunner {
  /** Position of the last event every read model has applied (-1n before the first). */
  readonly position: bigint;
  waitFor(position: bigint, timeoutMs?: number): Promise<unknown>;
}

/** Policy evaluation by zone and version (PolicyRegistry). Rejects only when no policy could be consulted. */
export interface StsPolicies {
  evaluate(zoneId: string, version: number, input: PolicyInput): Promise<PolicyResult>;
}

/** Exchange metrics (src/app/metrics.ts). */
export interface StsMetrics {
  observeExchange(decision: 'allow' | 'deny' | 'error', seconds: number): void;
  observeAppend?(seconds: number): void;
}

/** A pino-compatible logger subset. Never pass tokens, secrets or claims to it. */
export interface StsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
