import { z } from 'zod';
import { Id, Name, ResourceIdentifier, Scope, Scopes, Sha256Hex, Time } from './validation.js';

/**
 * The event catalogue: every fact writ records. Events are immutable once appended, so a schema only ever
 * gains optional fields; a breaking change would be a new event type.
 *
 * Never put tokens, secrets in clear, or subject/actor claims in an event: the ledger is exported to auditors.
 */

const Diagnostic = z.object({
  reason: z.string().min(1).max(200),
  message: z.string().max(2000).optional(),
  scope: z.string().max(200).optional(),
});
export type Diagnostic = z.infer<typeof Diagnostic>;

/** A public JWK as published by a trusted issuer (private members are refused by the issuer schema in the API). */
const Jwk = z.record(z.string(), z.unknown());

export const EventSchemas = {
  ZoneCreated: z.object({ zone_id: Id, name: Name, created_at: Time }),
  AdminKeyIssued: z.object({
    zone_id: Id,
    key_id: Id,
    name: Name,
    /** Salted SHA-256 of the key's secret; the secret itself is shown once and never stored. */
    secret_salt: z.string().min(16),
    secret_hash: Sha256Hex,
    issued_at: Time,
  }),
  AdminKeyRevoked: z.object({ zone_id: Id, key_id: Id, revoked_at: Time }),
  TrustedIssuerAdded: z.object({
    zone_id: Id,
    issuer_id: Id,
    issuer: z.string().min(1).max(2000),
    jwks: z.object({ keys: z.array(Jwk).min(1).max(100) }),
    audience: z.string().max(2000).nullable(),
    added_at: Time,
  }),
  TrustedIssuerRemoved: z.object({ zone_id: Id, issuer_id: Id, removed_at: Time }),
  ApplicationRegistered: z.object({
    zone_id: Id,
    application_id: Id,
    name: Name,
    secret_salt: z.string().min(16),
    secret_hash: Sha256Hex,
    registered_at: Time,
  }),
  ResourceRegistered: z.object({
    zone_id: Id,
    resource_id: Id,
    identifier: ResourceIdentifier,
    scopes: Scopes,
    upstream_url: z.string().url().max(2000).nullable(),
    registered_at: Time,
  }),
  GrantIssued: z.object({
    zone_id: Id,
    grant_id: Id,
    application_id: Id,
    resource_id: Id,
    scopes: Scopes,
    user_id: Id.nullable(),
    issued_at: Time,
  }),
  GrantRevoked: z.object({ zone_id: Id, grant_id: Id, revoked_at: Time }),
  PolicyVersionCreated: z.object({
    zone_id: Id,
    version: z.number().int().positive(),
    /** sha256 of the bundle bytes: versions are content-addressed. */
    digest: Sha256Hex,
    /** The OPA bundle (gzip tarball) itself, base64: any instance can load any version from the ledger alone. */
    bundle_base64: z.string().min(1),
    entrypoints: z.array(z.string()).min(1),
    origin: z.enum(['builtin', 'rego', 'bundle']),
    created_at: Time,
  }),
  PolicyVersionActivated: z.object({
    zone_id: Id,
    version: z.number().int().positive(),
    previous_version: z.number().int().positive().nullable(),
    activated_at: Time,
  }),
  SessionStarted: z.object({
    zone_id: Id,
    session_id: Id,
    application_id: Id,
    subject_id: z.string().min(1).max(512),
    subject_type: z.enum(['user', 'application']),
    started_at: Time,
  }),
  SessionRevoked: z.object({ zone_id: Id, session_id: Id, reason: z.string().max(500).nullable(), revoked_at: Time }),
  DecisionRecorded: z.object({
    request_id: z.string().min(1).max(128),
    zone_id: Id,
    occurred_at: Time,
    application_id: Id,
    subject_id: z.string().min(1).max(512),
    subject_type: z.enum(['user', 'application']),
    actor_id: z.string().max(512).nullable(),
    session_id: Id.nullable(),
    /** True when this exchange opened the session: explain then sees it as active although it started after ledger_position. */
    session_opened: z.boolean().optional(),
    resource: z.object({ id: Id.nullable(), identifier: z.string().max(2000) }),
    requested_scopes: z.array(z.string().max(200)),
    granted_scopes: z.array(Scope),
    decision: z.enum(['allow', 'deny']),
    determining_policies: z.array(z.string()),
    diagnostics: z.array(Diagnostic),
    policy_set_version: z.number().int().positive().nullable(),
    policy_set_digest: Sha256Hex.nullable(),
    /** Ledger position the read models stood at when the decision was taken: explain rebuilds state as of here. */
    ledger_position: z.string().regex(/^-?\d+$/),
    /** sha256 of the canonical, redaction-safe policy input (claims removed). */
    input_digest: Sha256Hex.nullable(),
    /** Grants that were in the policy input, for the trace; explain re-derives them independently. */
    grant_ids: z.array(Id),
    mandate: z.object({ jti: z.string().min(1).max(128), exp: Time }).nullable(),
  }),
} as const;

export type EventType = keyof typeof EventSchemas;
export type EventData<T extends EventType> = z.infer<(typeof EventSchemas)[T]>;

/** A decoded writ event: a union tagged by `type`. */
export type WritEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];
export type EventOf<T extends EventType> = Extract<WritEvent, { type: T }>;

export const EVENT_TYPES = Object.keys(EventSchemas) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EventSchemas, type);
}

/** An event that is not one of ours or does not match its schema. Projections stop on it; nothing is skipped. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  constructor(
    message: string,
    readonly eventType: string,
    readonly issues: unknown[] = [],
  ) {
    super(message);
  }
}

/** Validate and type an event's payload. */
export function decodeEvent(type: string, data: unknown): WritEvent {
  if (!isEventType(type)) throw new EventDecodeError(`unknown event type ${JSON.stringify(type)}`, type);
  const parsed = EventSchemas[type].safeParse(data);
  if (!parsed.success) {
    throw new EventDecodeError(`event ${type} does not match its schema`, type, parsed.error.issues);
  }
  return { type, data: parsed.data } as WritEvent;
}

/** Build an event, checked against its schema at creation so an invalid event is never appended. */
export function makeEvent<T extends EventType>(type: T, data: EventData<T>): EventOf<T> {
  return decodeEvent(type, data) as EventOf<T>;
}

export { Diagnostic as DiagnosticSchema, Scope as ScopeSchema };
