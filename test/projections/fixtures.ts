/**
 * Test fixtures for the projections: valid events (built with makeEvent, so schema-checked), the stream each one
 * belongs to, and a seeded generator of realistic histories.
 */
import { makeEvent, type EventData, type EventType, type WritEvent } from '../../src/domain/events.js';
import { streams } from '../../src/domain/streams.js';
import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createReadModels, type ReadModels } from '../../src/projections/read-models.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';

export const HASH_A = 'a'.repeat(64);
export const HASH_B = 'b'.repeat(64);
export const SALT = 'salt-0123456789abcdef';

/** Deterministic times: `t(0)` is 2030-01-01T00:00:00.000Z, each step one second. */
export function t(seconds: number): string {
  return new Date(Date.UTC(2030, 0, 1) + seconds * 1000).toISOString();
}

/** The stream an event is appended to, as the application layer does. */
export function streamOf(event: WritEvent): string {
  switch (event.type) {
    case 'ZoneCreated':
    case 'AdminKeyIssued':
    case 'AdminKeyRevoked':
    case 'TrustedIssuerAdded':
    case 'TrustedIssuerRemoved':
      return streams.zone(event.data.zone_id);
    case 'ApplicationRegistered':
      return streams.application(event.data.application_id);
    case 'ResourceRegistered':
      return streams.resource(event.data.resource_id);
    case 'GrantIssued':
    case 'GrantRevoked':
      return streams.grant(event.data.grant_id);
    case 'PolicyVersionCreated':
    case 'PolicyVersionActivated':
      return streams.policySet(event.data.zone_id);
    case 'SessionStarted':
    case 'SessionRevoked':
      return streams.session(event.data.session_id);
    case 'DecisionRecorded':
      return streams.decision(event.data.request_id);
  }
}

/** Append each event to its stream, in order. Returns the position of the last one. */
export async function appendAll(store: EventStore, events: readonly WritEvent[]): Promise<bigint> {
  let last = -1n;
  for (const e of events) {
    const r = await store.appendToStream(streamOf(e), [{ type: e.type, data: e.data as Record<string, unknown> }]);
    last = r.position;
  }
  return last;
}

/** Fold events into fresh read models through a real runner over a memory ledger. */
export async function project(events: readonly WritEvent[]): Promise<ReadModels & { store: MemoryEventStore; runner: ProjectionRunner }> {
  const store = new MemoryEventStore();
  await appendAll(store, events);
  const models = createReadModels();
  const runner = new ProjectionRunner({ store, models: models.all });
  await runner.start();
  await runner.waitFor(await store.headPosition());
  await runner.stop();
  return { ...models, store, runner };
}

export function ev<T extends EventType>(type: T, data: EventData<T>): WritEvent {
  return makeEvent(type, data);
}

export const build = {
  zone: (zone_id: string, at = 0) => ev('ZoneCreated', { zone_id, name: `Zone ${zone_id}`, created_at: t(at) }),
  app: (zone_id: string, application_id: string, at = 0) =>
    ev('ApplicationRegistered', { zone_id, application_id, name: `App ${application_id}`, secret_salt: SALT, secret_hash: HASH_A, registered_at: t(at) }),
  resource: (zone_id: string, resource_id: string, slug: string, scopes: string[], at = 0) =>
    ev('ResourceRegistered', {
      zone_id,
      resource_id,
      identifier: `resource://${slug}`,
      scopes,
      upstream_url: null,
      registered_at: t(at),
    }),
  grant: (zone_id: string, grant_id: string, application_id: string, resource_id: string, scopes: string[], user_id: string | null, at = 0) =>
    ev('GrantIssued', { zone_id, grant_id, application_id, resource_id, scopes, user_id, issued_at: t(at) }),
  revokeGrant: (zone_id: string, grant_id: string, at = 0) => ev('GrantRevoked', { zone_id, grant_id, revoked_at: t(at) }),
  policyVersion: (zone_id: string, version: number, digest = HASH_A, at = 0) =>
    ev('PolicyVersionCreated', {
      zone_id,
      version,
      digest,
      bundle_base64: Buffer.from(`bundle ${digest}`).toString('base64'),
      entrypoints: ['writ/authz/result'],
      origin: version === 1 ? 'builtin' : 'rego',
      created_at: t(at),
    }),
  activate: (zone_id: string, version: number, previous_version: number | null, at = 0) =>
    ev('PolicyVersionActivated', { zone_id, version, previous_version, activated_at: t(at) }),
  session: (zone_id: string, session_id: string, application_id: string, subject_id: string, at = 0) =>
    ev('SessionStarted', { zone_id, session_id, application_id, subject_id, subject_type: 'user', started_at: t(at) }),
  revokeSession: (zone_id: string, session_id: string, reason: string | null, at = 0) =>
    ev('SessionRevoked', { zone_id, session_id, reason, revoked_at: t(at) }),
  decision: (
    o: {
      request_id: string;
      zone_id: string;
      application_id: string;
      subject_id?: string;
      session_id?: string | null;
      resource_id?: string | null;
      identifier?: string;
      requested?: string[];
      granted?: string[];
      decision?: 'allow' | 'deny';
      at?: number;
      occurred_at?: string;
      policy_set_version?: number | null;
      exp?: string;
    },
  ) => {
    const decision = o.decision ?? 'allow';
    const occurred_at = o.occurred_at ?? t(o.at ?? 0);
    return ev('DecisionRecorded', {
      request_id: o.request_id,
      zone_id: o.zone_id,
      occurred_at,
      application_id: o.application_id,
      subject_id: o.subject_id ?? 'user-1',
      subject_type: 'user',
      actor_id: null,
      session_id: o.session_id === undefined ? 'ses-1' : o.session_id,
      resource: { id: o.resource_id === undefined ? 'res-1' : o.resource_id, identifier: o.identifier ?? 'resource://payments' },
      requested_scopes: o.requested ?? ['payments:read'],
      granted_scopes: decision === 'allow' ? (o.granted ?? o.requested ?? ['payments:read']) : [],
      decision,
      determining_policies: ['writ.authz.default'],
      diagnostics: decision === 'allow' ? [] : [{ reason: 'scope_not_granted', scope: 'payments:read' }],
      policy_set_version: o.policy_set_version === undefined ? 1 : o.policy_set_version,
      policy_set_digest: HASH_A,
      ledger_position: '0',
      input_digest: HASH_B,
      grant_ids: [],
      mandate: decision === 'allow' ? { jti: `jti-${o.request_id}`, exp: o.exp ?? t((o.at ?? 0) + 900) } : null,
    });
  },
};

/** mulberry32: a tiny seeded PRNG, so a failing history can be regenerated from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic history: a few zones with applications, resources, policy versions and admin keys, then a
 * stream of grants, revocations, sessions and (mostly) decisions that refer to what exists. Deterministic per seed.
 * Yields events lazily so callers can append while a runner follows.
 */
export function* randomHistory(seed: number, count: number): Generator<WritEvent> {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const scopesOf = ['payments:read', 'payments:write', 'reports:read', 'admin'];
  let clock = 0;
  let n = 0;
  const zones: Array<{ id: string; apps: string[]; resources: Array<{ id: string; identifier: string }>; versions: number; active: number }> = [];
  const activeGrants: Array<{ zone: string; id: string }> = [];
  const activeSessions: Array<{ zone: string; id: string; app: string; subject: string }> = [];
  const issuers: Array<{ zone: string; id: string }> = [];
  const emit = function* (e: WritEvent): Generator<WritEvent> {
    if (n < count) {
      n++;
      yield e;
    }
  };
  const zoneCount = 1 + Math.floor(rnd() * 3);
  for (let z = 0; z < zoneCount && n < count; z++) {
    const id = `zone-${seed}-${z}`;
    yield* emit(build.zone(id, clock++));
    yield* emit(ev('AdminKeyIssued', { zone_id: id, key_id: `key-${z}`, name: 'ops', secret_salt: SALT, secret_hash: HASH_B, issued_at: t(clock++) }));
    yield* emit(build.policyVersion(id, 1, HASH_A, clock++));
    yield* emit(build.activate(id, 1, null, clock++));
    const zone = { id, apps: [] as string[], resources: [] as Array<{ id: string; identifier: string }>, versions: 1, active: 1 };
    zones.push(zone);
    for (let a = 0; a < 3; a++) {
      const app = `app-${z}-${a}`;
      zone.apps.push(app);
      yield* emit(build.app(id, app, clock++));
    }
    for (let r = 0; r < 3; r++) {
      const res = `res-${z}-${r}`;
      zone.resources.push({ id: res, identifier: `resource://svc-${z}-${r}` });
      yield* emit(build.resource(id, res, `svc-${z}-${r}`, scopesOf, clock++));
    }
  }
  let i = 0;
  while (n < count) {
    i++;
    clock += rnd() < 0.5 ? 1 : 0;
    const zone = pick(zones);
    const roll = rnd();
    if (roll < 0.08) {
      const res = pick(zone.resources);
      const id = `grant-${i}`;
      activeGrants.push({ zone: zone.id, id });
      yield* emit(build.grant(zone.id, id, pick(zone.apps), res.id, [pick(scopesOf)], rnd() < 0.5 ? null : `user-${Math.floor(rnd() * 20)}`, clock));
    } else if (roll < 0.1 && activeGrants.length > 0) {
      const g = activeGrants.splice(Math.floor(rnd() * activeGrants.length), 1)[0]!;
      yield* emit(build.revokeGrant(g.zone, g.id, clock));
    } else if (roll < 0.16) {
      const s = { zone: zone.id, id: `ses-${i}`, app: pick(zone.apps), subject: `user-${Math.floor(rnd() * 20)}` };
      activeSessions.push(s);
      yield* emit(build.session(s.zone, s.id, s.app, s.subject, clock));
    } else if (roll < 0.17 && activeSessions.length > 0) {
      const s = activeSessions.splice(Math.floor(rnd() * activeSessions.length), 1)[0]!;
      yield* emit(build.revokeSession(s.zone, s.id, rnd() < 0.5 ? null : 'logout', clock));
    } else if (roll < 0.175) {
      zone.versions++;
      yield* emit(build.policyVersion(zone.id, zone.versions, zone.versions % 2 === 0 ? HASH_B : HASH_A, clock));
    } else if (roll < 0.18) {
      const v = 1 + Math.floor(rnd() * zone.versions);
      yield* emit(build.activate(zone.id, v, zone.active, clock));
      zone.active = v;
    } else if (roll < 0.185) {
      const id = `iss-${i}`;
      issuers.push({ zone: zone.id, id });
      yield* emit(
        ev('TrustedIssuerAdded', {
          zone_id: zone.id,
          issuer_id: id,
          issuer: `https://idp-${i % 3}.example`,
          jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: `x${i}` }] },
          audience: rnd() < 0.5 ? null : 'writ',
          added_at: t(clock),
        }),
      );
    } else if (roll < 0.187 && issuers.length > 0) {
      const iss = issuers.splice(Math.floor(rnd() * issuers.length), 1)[0]!;
      yield* emit(ev('TrustedIssuerRemoved', { zone_id: iss.zone, issuer_id: iss.id, removed_at: t(clock) }));
    } else {
      const session = activeSessions.length > 0 && rnd() < 0.8 ? pick(activeSessions) : undefined;
      const res = pick(zone.resources);
      const allow = rnd() < 0.7;
      yield* emit(
        build.decision({
          request_id: `req-${seed}-${i}`,
          zone_id: zone.id,
          application_id: session?.app ?? pick(zone.apps),
          subject_id: session?.subject ?? `user-${Math.floor(rnd() * 20)}`,
          session_id: session?.id ?? null,
          resource_id: rnd() < 0.95 ? res.id : null,
          identifier: res.identifier,
          requested: [pick(scopesOf)],
          decision: allow ? 'allow' : 'deny',
          at: clock,
          // Now and then a time in another precision, which the decisions model keeps verbatim.
          occurred_at: rnd() < 0.02 ? t(clock).replace('.000Z', 'Z') : undefined,
          policy_set_version: zone.active,
        }),
      );
    }
  }
}
