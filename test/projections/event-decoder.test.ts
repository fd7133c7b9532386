import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeEvent, EventDecodeError, EventSchemas, type EventType, type WritEvent } from '../../src/domain/events.js';
import { compileValidator, createEventDecoder, fastDecodeEvent } from '../../src/projections/event-decoder.js';
import { build, ev, randomHistory, SALT, HASH_A, t } from './fixtures.js';

/** One valid sample of every event type, optional fields present and absent, plus a realistic history. */
function samples(): WritEvent[] {
  const fixed: WritEvent[] = [
    build.zone('z1'),
    ev('AdminKeyIssued', { zone_id: 'z1', key_id: 'k1', name: 'ops', secret_salt: SALT, secret_hash: HASH_A, issued_at: t(1) }),
    ev('AdminKeyRevoked', { zone_id: 'z1', key_id: 'k1', revoked_at: t(2) }),
    ev('TrustedIssuerAdded', { zone_id: 'z1', issuer_id: 'i1', issuer: 'https://idp', jwks: { keys: [{ kty: 'OKP' }] }, audience: 'aud', added_at: t(3) }),
    ev('TrustedIssuerRemoved', { zone_id: 'z1', issuer_id: 'i1', removed_at: t(4) }),
    build.app('z1', 'a1'),
    build.resource('z1', 'r1', 'payments', ['payments:read']),
    ev('ResourceRegistered', { zone_id: 'z1', resource_id: 'r2', identifier: 'resource://x', scopes: ['a'], upstream_url: 'https://up.example/x', registered_at: t(5) }),
    build.grant('z1', 'g1', 'a1', 'r1', ['payments:read'], null),
    build.grant('z1', 'g2', 'a1', 'r1', ['payments:read', 'payments:write'], 'alice'),
    build.revokeGrant('z1', 'g1'),
    build.policyVersion('z1', 1),
    build.activate('z1', 1, null),
    build.activate('z1', 2, 1),
    build.session('z1', 's1', 'a1', 'alice'),
    build.revokeSession('z1', 's1', 'bye'),
    build.revokeSession('z1', 's1', null),
    build.decision({ request_id: 'r1', zone_id: 'z1', application_id: 'a1' }),
    build.decision({ request_id: 'r2', zone_id: 'z1', application_id: 'a1', decision: 'deny', session_id: null, policy_set_version: null }),
    ev('DecisionRecorded', {
      ...(build.decision({ request_id: 'r3', zone_id: 'z1', application_id: 'a1' }).data as z.infer<typeof EventSchemas.DecisionRecorded>),
      session_opened: true,
      diagnostics: [{ reason: 'r', message: 'm', scope: 's' }, { reason: 'r2' }],
    }),
  ];
  return [...fixed, ...randomHistory(7, 300)];
}

/** Values that probe the edges of the checks in events.ts: lengths, surrogates, dates, numbers, shapes. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.constantFrom('', 'a', 'allow', 'deny', 'user', 'application', 'builtin', 'rego', 'bundle', 'payments:read', 'Payments:Read'),
  fc.constantFrom('resource://payments', 'resource://', 'resource://-x', 'resource://A'),
  fc.constantFrom(t(0), '2030-02-29T00:00:00Z', '2028-02-29T00:00:00.5Z', '2030-01-01T24:00:00Z', '2030-01-01T00:00:00+01:00', '2030-01-01 00:00:00Z', '2030-01-01T00:00:00.Z'),
  fc.constantFrom('a'.repeat(64), 'A'.repeat(64), 'a'.repeat(63), '12', '-12', '1.5', '0x1'),
  fc.integer({ min: 0, max: 260 }).chain((n) => fc.constantFrom('x'.repeat(n), '\u{1F600}'.repeat(n), '\uD83D'.repeat(n), 'é'.repeat(n))),
  fc.constantFrom('x'.repeat(127), 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(200), 'x'.repeat(201), '\u{1F600}'.repeat(100), '\u{1F600}'.repeat(101), 'a'.repeat(15), 'a'.repeat(16)),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.array(fc.constantFrom('payments:read', 'x'), { minLength: 0, maxLength: 4 }),
  fc.constantFrom(0, 1, 199, 200, 201).map((n) => Array.from({ length: n }, () => 'payments:read')),
  fc.constant([]),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
  fc.constant({ reason: 'x' }),
  fc.constant({ jti: 'j', exp: t(0) }),
  fc.constant({ id: null, identifier: 'x' }),
);

type Json = unknown;

/** Replace (or delete, or add) the value at a random path of `value`. */
function mutate(value: Json, path: number[], replacement: unknown, mode: 'replace' | 'delete' | 'add'): Json {
  if (typeof value !== 'object' || value === null) return replacement;
  const keys = Object.keys(value);
  if (path.length === 0 || keys.length === 0) {
    if (mode === 'add' && !Array.isArray(value)) return { ...value, extra_field: replacement };
    return replacement;
  }
  const key = keys[path[0]! % keys.length]!;
  const child = (value as Record<string, unknown>)[key];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  if (path.length === 1 && mode === 'delete') {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete copy[key];
    return copy;
  }
  (copy as Record<string, unknown>)[key] = mutate(child, path.slice(1), replacement, mode);
  return copy;
}

describe('compiled event decoder', () => {
  it('compiles every hot event type and leaves transforming schemas to zod', () => {
    const info = createEventDecoder();
    expect(info.compiled).toEqual(expect.arrayContaining(['DecisionRecorded', 'GrantIssued', 'GrantRevoked', 'SessionStarted', 'SessionRevoked']));
    // url() trims its input: not a pure check, so zod decodes ResourceRegistered.
    expect(info.viaZod).toContain('ResourceRegistered');
    expect([...info.compiled, ...info.viaZod].sort()).toEqual(Object.keys(EventSchemas).sort());
    for (const schema of [z.string().url(), z.string().trim(), z.string().email(), z.number().int().transform((n) => n + 1), z.string().default('x'), z.union([z.string(), z.number()]), z.object({ a: z.string() }).passthrough(), z.string().refine((s) => s.length > 1)]) {
      expect(compileValidator(schema)).toBeNull();
    }
    expect(compileValidator(z.object({ a: z.string().min(1), b: z.number().int().positive().nullable(), c: z.boolean().optional() }))).toBeTypeOf('function');
  });

  it('returns the same events as decodeEvent for valid payloads', () => {
    for (const e of samples()) {
      const data = JSON.parse(JSON.stringify(e.data));
      expect(fastDecodeEvent(e.type, data)).toEqual(decodeEvent(e.type, data));
    }
  });

  it('accepts exactly what zod accepts, on random corruptions of valid events', () => {
    const all = samples();
    const validators = new Map<EventType, ((v: unknown) => boolean) | null>(
      (Object.keys(EventSchemas) as EventType[]).map((type) => [type, compileValidator(EventSchemas[type])]),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 4 }),
        nasty,
        fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<'replace' | 'delete' | 'add'>,
        (index, path, replacement, mode) => {
          const e = all[index]!;
          const validator = validators.get(e.type as EventType);
          if (!validator) return;
          const data = mutate(JSON.parse(JSON.stringify(e.data)), path, replacement, mode);
          const zodAccepts = EventSchemas[e.type as EventType].safeParse(data).success;
          expect(validator(data)).toBe(zodAccepts);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('agrees with zod at the edges of every construct it compiles', () => {
    const schemas = [
      z.string(),
      z.string().min(2).max(4),
      z.string().max(3),
      z.string().min(3),
      z.string().regex(/^[a-z]+$/),
      z.string().datetime({ offset: false }),
      z.number(),
      z.number().int(),
      z.number().int().positive(),
      z.number().nonnegative().lt(10),
      z.number().gte(-1).lte(1),
      z.boolean(),
      z.enum(['a', 'b']),
      z.array(z.string()).min(1).max(3),
      z.array(z.number().int()),
      z.string().nullable(),
      z.string().optional(),
      z.string().nullable().optional(),
      z.object({ a: z.string(), b: z.number().optional(), c: z.object({ d: z.boolean() }).nullable() }),
      z.object({ b: z.number().optional() }),
    ];
    const edges: unknown[] = [
      '', 'a', 'ab', 'abcd', 'abcde', 'ABC', '\u{1F600}', '\u{1F600}\u{1F600}', '\u{1F600}\u{1F600}\u{1F600}', 'a\u{1F600}\u{1F600}', '\uD83D', '\uD83D\uD83D\uD83D',
      t(0), '2028-02-29T00:00:00Z', '2030-02-29T00:00:00Z', '2030-01-01T00:00:00.123456789Z', '2030-01-01T00:00:00+00:00',
      0, -0, 1, -1, 1.5, 9.999, 10, -1.0001, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), NaN, Infinity, -Infinity,
      true, false, null, undefined, 'a', 'b', 'c',
      [], ['x'], ['x', 'y', 'z'], ['x', 'y', 'z', 'w'], [1], [1.5], [undefined], [null],
      {}, { a: 'x' }, { a: 'x', b: 1 }, { a: 'x', c: null }, { a: 'x', c: { d: true } }, { a: 'x', c: { d: 1 } }, { a: 'x', c: null, b: undefined },
      { a: 'x', c: null, extra: 1 }, { a: 1, c: null }, ['a'], new Date(0), Object.create(null), 1n,
    ];
    for (const [s, schema] of schemas.entries()) {
      const validator = compileValidator(schema);
      expect(validator, `schema #${s}`).toBeTypeOf('function');
      for (const [v, value] of edges.entries()) {
        expect(validator!(value), `schema #${s} on edge #${v}`).toBe(schema.safeParse(value).success);
      }
      fc.assert(fc.property(fc.anything(), (value) => validator!(value) === schema.safeParse(value).success), { numRuns: 500 });
    }
  });

  it('throws EventDecodeError with zod’s issues for malformed and unknown events', () => {
    const bad = { ...(build.grant('z1', 'g1', 'a1', 'r1', ['payments:read'], null).data as Record<string, unknown>), scopes: ['NOT A SCOPE'] };
    let error: unknown;
    try {
      fastDecodeEvent('GrantIssued', bad);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EventDecodeError);
    expect((error as EventDecodeError).issues).toEqual((() => {
      try {
        decodeEvent('GrantIssued', bad);
      } catch (err) {
        return (err as EventDecodeError).issues;
      }
    })());
    expect(() => fastDecodeEvent('SomethingElse', {})).toThrow(/unknown event type/);
    expect(() => fastDecodeEvent('GrantIssued', null)).toThrow(EventDecodeError);
    expect(() => fastDecodeEvent('toString', {})).toThrow(EventDecodeError);
  });
});
