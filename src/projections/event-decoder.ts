import type { z } from 'zod';
import { decodeEvent, EventDecodeError, EventSchemas, isEventType, type EventType, type WritEvent } from '../domain/events.js';

/**
 * Turns a stored event's type and payload into a typed writ event, or throws EventDecodeError. Projections stop
 * on that error: a ledger holds only writ events, so one that does not decode is corruption or a bug, never
 * something to skip.
 */
export type EventDecoder = (type: string, data: unknown) => WritEvent;

/** Which event types a decoder checks with compiled validators (the rest go through zod). */
export interface EventDecoderInfo {
  decode: EventDecoder;
  compiled: EventType[];
  viaZod: EventType[];
}

type Validator = (value: unknown) => boolean;

/**
 * Why this exists: a rebuild folds millions of events and `decodeEvent` (zod) costs ~3.5 µs for a
 * DecisionRecorded — more than everything else a rebuild does per event. Skipping validation on read is not an
 * option (an event that fails to decode must stop the projections), so instead the zod schemas of events.ts are
 * compiled, once, into plain predicates that accept exactly what zod accepts, at a fraction of the cost: the
 * schema is read into a small closed description (string with length and pattern checks, number, ...) and that
 * description is turned into one straight-line JavaScript function per event type (no per-field closures, no
 * allocation), the way zod's own JIT works for objects.
 *
 * Safety rules:
 * - The compiler knows a closed list of zod constructs and checks (object, string with length / regex /
 *   datetime checks, number with safe-int and bound checks, boolean, enum, array with length checks, nullable,
 *   optional). A schema using anything else — including any check that transforms its value, like `url()` —
 *   is not compiled: its event type is decoded by zod, as before.
 * - A compiled predicate only ever says yes or no. On "no", zod runs and produces the issues (if zod were to
 *   accept, zod's answer wins), so errors are identical to `decodeEvent`'s.
 * - On "yes" the payload is returned as is, without zod's copy; unknown keys are not stripped (a schema only
 *   ever gains optional fields, and read models read named fields only). String lengths are counted in code
 *   points exactly as zod 4 counts them.
 * - The generated code is built only from that description: keys are JSON-quoted, patterns, enum sets and
 *   helpers are passed in as values, never spliced in as text. Where code generation is disabled
 *   (`--disallow-code-generation-from-strings`), every type is decoded by zod.
 * - test/projections/event-decoder.test.ts checks with fast-check that compiled predicates and zod agree on
 *   valid events, on random corruptions of them, and at the edges of every construct the compiler accepts.
 */
export function createEventDecoder(schemas: Partial<Record<EventType, z.ZodType>> = EventSchemas): EventDecoderInfo {
  const validators = new Map<string, Validator>();
  const compiled: EventType[] = [];
  const viaZod: EventType[] = [];
  for (const [type, schema] of Object.entries(schemas) as Array<[EventType, z.ZodType]>) {
    const validator = compile(schema);
    if (validator) {
      validators.set(type, validator);
      compiled.push(type);
    } else {
      viaZod.push(type);
    }
  }
  const decode: EventDecoder = (type, data) => {
    const validator = validators.get(type);
    if (validator !== undefined && validator(data)) return { type, data } as WritEvent;
    if (!isEventType(type)) throw new EventDecodeError(`unknown event type ${JSON.stringify(type)}`, type);
    return decodeEvent(type, data);
  };
  return { decode, compiled, viaZod };
}

// ---------------------------------------------------------------------------------------------------------
// The compiler. It reads zod 4's definition objects (`schema._zod.def`) into a closed description; any key or
// check it does not know makes it give up (null), never guess.

/** What the compiler understood of a schema. Lengths of strings are in code points, as zod 4 counts them. */
type Shape =
  | { kind: 'string'; min: number; max: number; patterns: RegExp[] }
  | { kind: 'number'; safeInt: boolean; bounds: Array<{ op: '>' | '>=' | '<' | '<='; value: number }> }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'array'; element: Shape; min: number; max: number }
  | { kind: 'object'; fields: Array<[string, Shape]> }
  | { kind: 'nullable'; inner: Shape }
  | { kind: 'optional'; inner: Shape };

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string; checks?: unknown[] } };
}

const OBJECT_DEF_KEYS = new Set(['type', 'shape']);
const STRING_DEF_KEYS = new Set(['type', 'checks']);
const NUMBER_DEF_KEYS = new Set(['type', 'checks']);
const ARRAY_DEF_KEYS = new Set(['type', 'element', 'checks']);
const WRAPPER_DEF_KEYS = new Set(['type', 'innerType']);
const ENUM_DEF_KEYS = new Set(['type', 'entries']);
const BOOLEAN_DEF_KEYS = new Set(['type']);

/**
 * The predicate compiled from one zod schema, or null when the schema uses something the compiler does not
 * know. Exported for the differential tests and tools; projections use `createEventDecoder`.
 */
export function compileValidator(schema: unknown): ((value: unknown) => boolean) | null {
  const shape = describe(schema);
  return shape ? generate(shape) : null;
}

function compile(schema: unknown): Validator | null {
  return compileValidator(schema);
}

function describe(schema: unknown): Shape | null {
  const def = (schema as ZodInternals | undefined)?._zod?.def;
  if (!def || typeof def.type !== 'string') return null;
  switch (def.type) {
    case 'object':
      return onlyKeys(def, OBJECT_DEF_KEYS) ? describeObject(def.shape) : null;
    case 'string':
      return onlyKeys(def, STRING_DEF_KEYS) ? describeString(def.checks ?? []) : null;
    case 'number':
      return onlyKeys(def, NUMBER_DEF_KEYS) ? describeNumber(def.checks ?? []) : null;
    case 'boolean':
      return onlyKeys(def, BOOLEAN_DEF_KEYS) ? { kind: 'boolean' } : null;
    case 'enum':
      return onlyKeys(def, ENUM_DEF_KEYS) ? describeEnum(def.entries) : null;
    case 'array':
      return onlyKeys(def, ARRAY_DEF_KEYS) ? describeArray(def.element, def.checks ?? []) : null;
    case 'nullable':
    case 'optional': {
      if (!onlyKeys(def, WRAPPER_DEF_KEYS)) return null;
      const inner = describe(def.innerType);
      return inner && { kind: def.type, inner };
    }
    default:
      return null;
  }
}

function onlyKeys(def: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const key of Object.keys(def)) {
    if (!allowed.has(key) && def[key] !== undefined) return false;
  }
  return true;
}

function describeObject(shape: unknown): Shape | null {
  if (typeof shape !== 'object' || shape === null) return null;
  const fields: Array<[string, Shape]> = [];
  for (const key of Object.keys(shape)) {
    // zod skips a `__proto__` key; no event has one, so refuse rather than mirror that subtlety.
    if (key === '__proto__') return null;
    const field = describe((shape as Record<string, unknown>)[key]);
    if (!field) return null;
    fields.push([key, field]);
  }
  return { kind: 'object', fields };
}

function describeString(rawChecks: unknown[]): Shape | null {
  const shape = { kind: 'string' as const, min: 0, max: Infinity, patterns: [] as RegExp[] };
  for (const raw of rawChecks) {
    const c = checkDef(raw);
    if (!c) return null;
    if (c.check === 'min_length' && isLengthCheck(c, 'minimum')) {
      shape.min = Math.max(shape.min, c.minimum as number);
    } else if (c.check === 'max_length' && isLengthCheck(c, 'maximum')) {
      shape.max = Math.min(shape.max, c.maximum as number);
    } else if (
      c.check === 'string_format' &&
      (c.format === 'regex' || c.format === 'datetime') &&
      c.pattern instanceof RegExp &&
      !c.pattern.global &&
      !c.pattern.sticky &&
      c.when === undefined &&
      isPatternOnlyCheck(raw)
    ) {
      shape.patterns.push(c.pattern);
    } else {
      return null;
    }
  }
  return shape;
}

function describeNumber(rawChecks: unknown[]): Shape | null {
  const shape = { kind: 'number' as const, safeInt: false, bounds: [] as Array<{ op: '>' | '>=' | '<' | '<='; value: number }> };
  for (const raw of rawChecks) {
    const c = checkDef(raw);
    if (!c || c.when !== undefined) return null;
    if (c.check === 'number_format' && c.format === 'safeint') {
      shape.safeInt = true;
    } else if ((c.check === 'greater_than' || c.check === 'less_than') && typeof c.value === 'number' && Number.isFinite(c.value)) {
      const inclusive = c.inclusive === true;
      const op = c.check === 'greater_than' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
      shape.bounds.push({ op, value: c.value });
    } else {
      return null;
    }
  }
  return shape;
}

function describeEnum(entries: unknown): Shape | null {
  if (typeof entries !== 'object' || entries === null) return null;
  const values = Object.values(entries);
  // Numeric (TypeScript) enums have reverse mappings zod filters out; only plain string enums here.
  if (values.length === 0 || values.some((v) => typeof v !== 'string')) return null;
  return { kind: 'enum', values: values as string[] };
}

function describeArray(element: unknown, rawChecks: unknown[]): Shape | null {
  const inner = describe(element);
  if (!inner) return null;
  let min = 0;
  let max = Infinity;
  for (const raw of rawChecks) {
    const c = checkDef(raw);
    if (!c) return null;
    if (c.check === 'min_length' && isLengthCheck(c, 'minimum')) min = Math.max(min, c.minimum as number);
    else if (c.check === 'max_length' && isLengthCheck(c, 'maximum')) max = Math.min(max, c.maximum as number);
    else return null;
  }
  return { kind: 'array', element: inner, min, max };
}

type CheckDef = Record<string, unknown> & { check: string };

function checkDef(raw: unknown): CheckDef | null {
  const def = (raw as { _zod?: { def?: unknown } } | undefined)?._zod?.def;
  if (typeof def !== 'object' || def === null || typeof (def as { check?: unknown }).check !== 'string') return null;
  return def as CheckDef;
}

/**
 * Length checks carry zod's default `when` (run when the value has a length), which always holds for the strings
 * and arrays they are compiled for. A custom `when` cannot be told apart from the default by inspection, so
 * length checks are accepted only as zod's `.min()` / `.max()` build them.
 */
function isLengthCheck(c: CheckDef, bound: 'minimum' | 'maximum'): boolean {
  const value = c[bound];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * A string format check whose whole behaviour is "the pattern matches": zod's regex and ISO datetime checks.
 * Formats with their own check function (url, email with normalisation, ...) override `_zod.check` on a
 * different class, recognised here by the trait zod tags them with.
 */
function isPatternOnlyCheck(raw: unknown): boolean {
  const traits = (raw as { _zod?: { traits?: Set<string> } })._zod?.traits;
  if (!(traits instanceof Set)) return false;
  return traits.has('$ZodCheckRegex') || traits.has('$ZodISODateTime');
}

// ---------------------------------------------------------------------------------------------------------
// Code generation: one function of straight-line checks per schema. Values that are not plain numbers (patterns,
// enum sets, helpers) are handed to the generated code through `env`, never written into its text.

function generate(shape: Shape): Validator | null {
  const env: unknown[] = [];
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}${counter++}`;
  // Hoisted to constants of the factory: the validator reads them as closure constants, not array slots.
  const ref = (value: unknown) => {
    env.push(value);
    return `k${env.length - 1}`;
  };
  const codePointsFn = ref(codePoints);

  const emit = (s: Shape, v: string): string => {
    switch (s.kind) {
      case 'string': {
        let code = `if (typeof ${v} !== 'string') return false;\n`;
        if (s.min > 0) {
          // Fewer units than the minimum can never reach it; twice as many always do (a code point is 1 or 2 units).
          code += `if (${v}.length < ${s.min} || (${v}.length < ${2 * s.min} && ${codePointsFn}(${v}) < ${s.min})) return false;\n`;
        }
        if (s.max !== Infinity) code += `if (${v}.length > ${s.max} && ${codePointsFn}(${v}) > ${s.max}) return false;\n`;
        for (const pattern of s.patterns) {
          // Neither global nor sticky (checked when described): test() keeps no state between calls.
          code += `if (!${ref(pattern)}.test(${v})) return false;\n`;
        }
        return code;
      }
      case 'number': {
        let code = `if (typeof ${v} !== 'number' || !Number.isFinite(${v})) return false;\n`;
        if (s.safeInt) code += `if (!Number.isSafeInteger(${v})) return false;\n`;
        for (const b of s.bounds) code += `if (!(${v} ${b.op} ${numberLiteral(b.value)})) return false;\n`;
        return code;
      }
      case 'boolean':
        return `if (typeof ${v} !== 'boolean') return false;\n`;
      case 'enum':
        return `if (!${ref(new Set(s.values))}.has(${v})) return false;\n`;
      case 'nullable':
        return `if (${v} !== null) {\n${emit(s.inner, v)}}\n`;
      case 'optional':
        return `if (${v} !== undefined) {\n${emit(s.inner, v)}}\n`;
      case 'array': {
        const i = fresh('i');
        const e = fresh('e');
        let code = `if (!Array.isArray(${v})) return false;\n`;
        if (s.min > 0) code += `if (${v}.length < ${s.min}) return false;\n`;
        if (s.max !== Infinity) code += `if (${v}.length > ${s.max}) return false;\n`;
        code += `for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {\nconst ${e} = ${v}[${i}];\n${emit(s.element, e)}}\n`;
        return code;
      }
      case 'object': {
        // zod's isObject: any non-null, non-array object.
        let code = `if (typeof ${v} !== 'object' || ${v} === null || Array.isArray(${v})) return false;\n`;
        for (const [key, field] of s.fields) {
          const f = fresh('f');
          code += `{\nconst ${f} = ${v}[${JSON.stringify(key)}];\n${emit(field, f)}}\n`;
        }
        return code;
      }
    }
  };

  const body = `${emit(shape, 'value')}return true;`;
  const constants = env.map((_, i) => `const k${i} = env[${i}];\n`).join('');
  try {
    const factory = new Function('env', `'use strict';\n${constants}return function validate(value) {\n${body}\n};`) as (env: unknown[]) => Validator;
    return factory(env);
  } catch {
    // Code generation disabled in this process: zod decodes.
    return null;
  }
}

function numberLiteral(value: number): string {
  // Finite numbers only (checked when described); String() round-trips doubles exactly, -0 included.
  return Object.is(value, -0) ? '-0' : String(value);
}

// zod 4 measures string lengths in code points: a surrogate pair counts once.
function codePoints(s: string): number {
  let count = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/** The decoder projections use unless told otherwise (declared last: it runs the compiler at module load). */
export const fastDecodeEvent: EventDecoder = createEventDecoder().decode;
