import type { WritConfig } from '../config.js';
import type { EventStore } from '../store/event-store.js';
import type { ReadModels } from '../projections/read-models.js';
import type { ProjectionRunner } from '../projections/projection-runner.js';
import type { PolicyRegistry } from '../policy/policy-registry.js';
import type { AdminService } from './admin-service.js';
import type { AdminAuthenticator } from './admin-authenticator.js';
import type { Sts } from '../sts/sts.js';
import type { Audit } from '../audit/audit.js';
import type { Metrics } from './metrics.js';
import type { Redis } from 'ioredis';

/**
 * The running writ: adapters wired to ports (see main.ts, the only place that does the wiring).
 * HTTP routes and the CLI's `serve` receive this object; nothing reaches for globals.
 */
export interface Writ {
  readonly config: WritConfig;
  readonly store: EventStore;
  readonly models: ReadModels;
  readonly runner: ProjectionRunner;
  readonly policies: PolicyRegistry;
  readonly admin: AdminService;
  readonly auth: AdminAuthenticator;
  readonly sts: Sts;
  readonly audit: Audit;
  readonly metrics: Metrics;
  readonly redis: Redis | undefined;
  /** True when this start generated the root admin key into `rootTokenPath`. */
  readonly rootTokenGenerated: boolean;
  readonly rootTokenPath: string | undefined;
  close(): Promise<void>;
}
