import fc from 'fast-check';
import {
  ACCESS_TOKEN_TYPE,
  anyString,
  checkExport,
  checkIssued,
  checkShape,
  deepJson,
  describe,
  eventsText,
  field,
  headerSafe,
  hugeString,
  js,
  jsonText,
  junkGzip,
  JWT_TYPE,
  keyArb,
  materializeRequestId,
  objectText,
  policyInput,
  prototypeIsClean,
  readDelta,
  requestIdChoice,
  sendChecked,
  Stats,
  TOKEN_EXCHANGE,
  type FuzzRequest,
  type FuzzWorld,
  type LedgerRule,
  type RequestIdChoice,
} from './fuzz-support.js';

/**
 * The request generators of the fuzz properties (admin, STS, concurrent STS batches, audit, traceable request
 * ids, raw paths) and the runner shared by the suites and scripts/fuzz-long.ts. Generators produce plain specs (shrinkable, printable); the late-bound part
 * (a fresh X-Request-ID) is resolved when the spec is sent.
 */

export interface Spec {
  /** Stats label: the route template. */
  label: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  rid: RequestIdChoice;
  payload?: string | Buffer;
  rule: LedgerRule;
}

export function toRequest(world: FuzzWorld, spec: Spec): FuzzRequest {
  const headers = { ...spec.headers };
  const rid = materializeRequestId(world, spec.rid);
  if (rid !== undefined) headers['x-request-id'] = rid;
  return { method: spec.method, url: spec.query ? `${spec.path}?${spec.query}` : spec.path, headers, ...(spec.payload === undefined ? {} : { payload: spec.payload }) };
}

// ---------------------------------------------------------------------------------------------------------
// Routes

type BodyKind = 'zone' | 'name' | 'issuer' | 'resource' | 'grant' | 'policy' | 'simulate' | 'reason' | 'replay' | 'none';
type QueryKind = 'paging' | 'grants' | 'sessions' | 'decisions' | 'export' | 'state' | 'none';

interface RouteT {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  rule: LedgerRule;
  body: BodyKind;
  query: QueryKind;
}

const r = (method: RouteT['method'], path: string, rule: LedgerRule, body: BodyKind = 'none', query: QueryKind = 'none'): RouteT => ({ method, path, rule, body, query });

export const ADMIN_ROUTES: RouteT[] = [
  r('GET', '/v1/auth/whoami', 'read'),
  r('POST', '/v1/zones', 'write', 'zone'),
  r('GET', '/v1/zones', 'read', 'none', 'paging'),
  r('GET', '/v1/zones/{zone_id}', 'read'),
  r('POST', '/v1/zones/{zone_id}/admin-keys', 'write', 'name'),
  r('GET', '/v1/zones/{zone_id}/admin-keys', 'read', 'none', 'paging'),
  r('DELETE', '/v1/zones/{zone_id}/admin-keys/{key_id}', 'write'),
  r('POST', '/v1/zones/{zone_id}/issuers', 'write', 'issuer'),
  r('GET', '/v1/zones/{zone_id}/issuers', 'read', 'none', 'paging'),
  r('GET', '/v1/zones/{zone_id}/issuers/{issuer_id}', 'read'),
  r('DELETE', '/v1/zones/{zone_id}/issuers/{issuer_id}', 'write'),
  r('POST', '/v1/zones/{zone_id}/applications', 'write', 'name'),
  r('GET', '/v1/zones/{zone_id}/applications', 'read', 'none', 'paging'),
  r('GET', '/v1/zones/{zone_id}/applications/{application_id}', 'read'),
  r('POST', '/v1/zones/{zone_id}/resources', 'write', 'resource'),
  r('GET', '/v1/zones/{zone_id}/resources', 'read', 'none', 'paging'),
  r('GET', '/v1/zones/{zone_id}/resources/{resource_id}', 'read'),
  r('POST', '/v1/zones/{zone_id}/grants', 'write', 'grant'),
  r('GET', '/v1/zones/{zone_id}/grants', 'read', 'none', 'grants'),
  r('GET', '/v1/zones/{zone_id}/grants/{grant_id}', 'read'),
  r('DELETE', '/v1/zones/{zone_id}/grants/{grant_id}', 'write'),
  r('GET', '/v1/zones/{zone_id}/policy-sets', 'read'),
  r('POST', '/v1/zones/{zone_id}/policy-sets/versions', 'write', 'policy'),
  r('POST', '/v1/zones/{zone_id}/policy-sets/versions/{version}/activate', 'write'),
  // API.md: simulate "records nothing".
  r('POST', '/v1/zones/{zone_id}/policy-sets/versions/{version}/simulate', 'read', 'simulate'),
  r('GET', '/v1/zones/{zone_id}/sessions', 'read', 'none', 'sessions'),
  r('GET', '/v1/zones/{zone_id}/sessions/{session_id}', 'read'),
  r('POST', '/v1/zones/{zone_id}/sessions/{session_id}/revoke', 'write', 'reason'),
  r('GET', '/v1/health', 'read'),
  r('GET', '/v1/health/ready', 'read'),
  r('GET', '/v1/health/detailed', 'read'),
  r('GET', '/metrics', 'read'),
  r('GET', '/.well-known/jwks.json', 'read'),
  r('GET', '/.well-known/oauth-authorization-server', 'read'),
  r('GET', '/console', 'read'),
];

/** Every audit route is a read: nothing it answers, success or refusal, may append. */
export const AUDIT_ROUTES: RouteT[] = [
  r('GET', '/v1/zones/{zone_id}/audit/decisions', 'read', 'none', 'decisions'),
  r('GET', '/v1/zones/{zone_id}/audit/decisions/{request_id}', 'read'),
  r('GET', '/v1/zones/{zone_id}/audit/decisions/{request_id}/explain', 'read'),
  r('POST', '/v1/zones/{zone_id}/audit/replay', 'read', 'replay'),
  r('GET', '/v1/zones/{zone_id}/audit/export', 'read', 'none', 'export'),
  r('GET', '/v1/zones/{zone_id}/state', 'read', 'none', 'state'),
];

const ALL_ROUTES = [...ADMIN_ROUTES, ...AUDIT_ROUTES];

/** The rule of (method, template); no such route: it must not append anything. */
function ruleOf(method: string, path: string): LedgerRule {
  return ALL_ROUTES.find((x) => x.method === method && x.path === path)?.rule ?? 'read';
}

/** encodeURIComponent that survives lone surrogates (they become U+FFFD). */
export function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shared pieces

function weighted<T>(...items: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> {
  return fc.oneof(...items.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/**
 * Find-my-way (Fastify's router) refuses path parameters longer than 100 characters with its own 414 body:
 * that class is covered by the raw-path property, so the others keep to parameters the router accepts.
 */
const MAX_ENCODED_PARAM = 100;

function fitParam(s: string): string {
  let out = s;
  while (encodeSegment(out).length > MAX_ENCODED_PARAM) out = out.slice(0, Math.max(0, Math.min(out.length - 1, Math.floor(out.length / 2) + 10)));
  return out;
}

/** A junk value for a path segment (bounded so that the router accepts it). */
function junkParam(world: FuzzWorld): fc.Arbitrary<string> {
  return weighted(
    [6, anyString([world.zoneA, world.zoneB, world.appId, world.grantId]).map(fitParam)],
    [1, fc.constantFrom('a'.repeat(100), 'a'.repeat(99), `${world.zoneA}x`)],
    [2, fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/)],
  );
}

function paramValues(world: FuzzWorld): fc.Arbitrary<Record<string, string>> {
  const junk = junkParam(world);
  const pick = (...good: string[]) => weighted<string>([5, fc.constantFrom(...good)], [2, junk]);
  return fc.record({
    zone_id: weighted<string>([8, fc.constant(world.zoneA)], [1, fc.constant(world.zoneB)], [2, junk]),
    key_id: pick(world.spareKeyId),
    issuer_id: pick(world.issuerId),
    application_id: pick(world.appId, world.appBId),
    resource_id: pick(world.resourceId, world.resourceBId),
    grant_id: pick(world.grantId, world.spareGrantId),
    session_id: pick(world.sessionId, world.revokedSessionId),
    request_id: pick(world.allowedRequestId, world.deniedRequestId, 'fuzz-seed-to-revoke'),
    version: weighted<string>([5, fc.constantFrom('1', '2')], [2, fc.constantFrom('0', '3', '-1', '1.5', '1e0', '01', ' 1', 'abc', '99999999999999999999', '9007199254740993', 'NaN')], [1, junk]),
  });
}

function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeSegment(params[name] ?? 'x'));
}

const TIMES = ['2025-01-01T00:00:00Z', '2000-01-01T00:00:00.000Z', '2999-01-01T00:00:00Z', '2025-13-01T00:00:00Z', '2025-01-01T25:00:00Z', '2025-01-01', '1970-01-01T00:00:00-23:59', '+275760-09-13T00:00:00Z', 'yesterday'];

function queryValues(world: FuzzWorld): Record<string, fc.Arbitrary<string>> {
  const ids = (...good: string[]) => fc.constantFrom(...good, 'user-1', 'user-2', 'svc-1');
  const cursor = fc.oneof(
    fc.constantFrom(
      Buffer.from(JSON.stringify({ k: 'zzz' })).toString('base64url'),
      Buffer.from(JSON.stringify({ k: '' })).toString('base64url'),
      Buffer.from(JSON.stringify({ k: '__proto__' })).toString('base64url'),
      Buffer.from(JSON.stringify({ k: 1 })).toString('base64url'),
      Buffer.from('null').toString('base64url'),
      Buffer.from('{"__proto__":{"k":"x"}}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
      '%FF%FE',
      '====',
      'x',
    ),
    anyString().map((s) => Buffer.from(JSON.stringify({ k: s })).toString('base64url')),
    fc.string({ maxLength: 30 }),
  );
  return {
    limit: fc.constantFrom('1', '2', '10', '100', '1000', '1001', '0', '-1', '2.5', '1e3', '0x10', 'abc', '', ' 5', 'Infinity'),
    cursor,
    status: fc.constantFrom('active', 'revoked', 'ACTIVE', 'all', ''),
    application_id: ids(world.appId, world.appBId),
    resource_id: ids(world.resourceId, world.resourceBId),
    user_id: ids('user-1'),
    subject: ids('user-1'),
    since: fc.constantFrom(...TIMES),
    until: fc.constantFrom(...TIMES),
    decision: fc.constantFrom('allow', 'deny', 'maybe', ''),
    resource: fc.constantFrom('resource://payments', world.resourceId, 'resource://elsewhere', 'payments'),
    order: fc.constantFrom('asc', 'desc', 'random'),
    format: fc.constantFrom('json', 'csv', 'ndjson', 'xml', 'CSV'),
    as_of: fc.constantFrom('0', '1', '5', '10', '-1', '99999999999999999999', '1e3', '0x10', '1.5', ...TIMES),
  };
}

const QUERY_KEYS: Record<QueryKind, string[]> = {
  none: [],
  paging: ['limit', 'cursor'],
  grants: ['limit', 'cursor', 'application_id', 'resource_id', 'user_id', 'status'],
  sessions: ['limit', 'cursor', 'subject', 'application_id', 'status'],
  decisions: ['since', 'until', 'decision', 'application_id', 'subject', 'resource', 'limit', 'cursor', 'order', 'format'],
  export: ['since', 'until', 'format'],
  state: ['as_of'],
};

function queryString(world: FuzzWorld, kind: QueryKind): fc.Arbitrary<string> {
  const values = queryValues(world);
  const known = QUERY_KEYS[kind];
  const anyKey = fc.oneof(keyArb, fc.constantFrom(...Object.keys(values)));
  const pair: fc.Arbitrary<[string, string]> = fc.oneof(
    ...(known.length > 0
      ? [{ weight: 4, arbitrary: fc.constantFrom(...known).chain((k) => fc.tuple(fc.constant(k), fc.oneof({ weight: 3, arbitrary: values[k]! }, { weight: 1, arbitrary: anyString() }))) }]
      : []),
    { weight: 1, arbitrary: fc.tuple(anyKey, anyString()) },
  );
  const encoded = fc.array(pair, { maxLength: known.length > 0 ? 5 : 2 }).map((pairs) => pairs.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v.length > 3000 ? v.slice(0, 3000) : v)}`).join('&'));
  // Raw query text: broken percent-encoding, bare keys, bracket syntax.
  const raw = fc.constantFrom('limit', 'limit=', '=5', '&&', 'limit=%', 'limit=%zz', 'cursor=%E0%A4%A', 'a[b]=c', 'a[__proto__][x]=1', '__proto__[x]=1', 'limit=1&limit=2', 'status=active&status=revoked', 'format=csv&format=json', ';', '?', '#x');
  return weighted([8, encoded], [1, raw]);
}

function authorization(world: FuzzWorld): fc.Arbitrary<string | undefined> {
  const rootToken = world.t.rootToken;
  const zoneToken = world.auth.zoneA.slice('Bearer '.length);
  return weighted<string | undefined>(
    [6, fc.constant(world.auth.root)],
    [4, fc.constant(world.auth.zoneA)],
    [1, fc.constant(world.auth.zoneB)],
    [1, fc.constant(world.auth.revoked)],
    [1, fc.constant(undefined)],
    [
      2,
      fc.oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'bearer ' + rootToken,
          'BEARER ' + rootToken,
          'Bearer  ' + rootToken,
          'Bearer ' + rootToken + ' ',
          'Bearer ' + rootToken + 'x',
          'Bearer ' + rootToken.slice(0, -1),
          rootToken,
          'Basic ' + Buffer.from(`x:${rootToken}`).toString('base64'),
          'Bearer ' + zoneToken.split('.')[0] + '.wrong',
          'Bearer ' + zoneToken.split('.')[0],
          'Bearer .',
          'Bearer ' + 'a'.repeat(20_000),
          'Token ' + rootToken,
        ),
        anyString().map((s) => headerSafe(`Bearer ${s.slice(0, 500)}`)),
        anyString().map((s) => headerSafe(s.slice(0, 500))),
      ),
    ],
  );
}

// ---------------------------------------------------------------------------------------------------------
// Admin bodies

function bodyFields(world: FuzzWorld, kind: BodyKind): fc.Arbitrary<Record<string, string | undefined>> {
  const junk = jsonText();
  const str = (extra: string[] = []) => anyString(extra).map(js);
  const name = weighted<string>([3, fc.constantFrom('billing', 'ok name', ' padded ', 'ünïcødé')], [2, anyString()]).map(js);
  const scopeItem = fc.oneof(fc.constantFrom('payments:read', 'payments:write', 'payments:admin', 'x:read'), fc.stringMatching(/^[a-z0-9:_./-]{1,20}$/), anyString());
  const scopes = fc.oneof({ weight: 5, arbitrary: fc.array(scopeItem, { maxLength: 5 }).map(js) }, { weight: 1, arbitrary: fc.constantFrom(201, 1000).map((n) => js(Array.from({ length: n }, (_, i) => `s${i}:read`))) });
  switch (kind) {
    case 'zone':
    case 'name':
      return fc.record({ name: field(name, junk, 10) });
    case 'reason':
      return fc.record({ reason: field(str(), junk) });
    case 'issuer': {
      const [pub, pub2] = world.publicJwks;
      const jwks = fc.constantFrom(
        js({ keys: [pub] }),
        js({ keys: [pub, pub2] }),
        js({ keys: [pub, pub] }),
        js({ keys: [world.privateJwk] }),
        js({ keys: [{ kty: 'oct', k: 'AAAA' }] }),
        js({ keys: [] }),
        js({ keys: [{}] }),
        js({ keys: [{ kty: 'EC' }] }),
        js({ keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] }),
        js({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] }),
        js({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] }),
        js({ keys: [{ ...pub, alg: 'HS256' }] }),
        js({ keys: [{ ...pub, kid: '__proto__' }] }),
        js({ keys: [{ ...pub, use: 'enc' }] }),
        js({ keys: [{ ...pub, key_ops: ['encrypt'] }] }),
        js({ keys: [{ ...pub, crv: 'P-384' }] }),
        js({ keys: [{ ...pub, x5c: ['not-a-cert'] }] }),
        js({ keys: Array.from({ length: 101 }, () => pub) }),
        js({ keys: [pub], extra: 1 }),
        js({ keys: 'x' }),
        `{"keys":[${js(pub).slice(0, -1)},"__proto__":{"kty":"oct"}}]}`,
      );
      return fc.record({
        issuer: field(weighted<string>([3, fc.constantFrom('https://idp.example.test', 'https://idp.fuzz.test')], [2, anyString()]).map(js), junk, 10),
        jwks: field(jwks, junk, 10),
        audience: field(weighted<string>([2, str()], [1, fc.constant('null')]), junk),
      });
    }
    case 'resource': {
      const identifier = weighted<string>(
        [3, fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,30}$/).map((slug) => `resource://${slug}`)],
        [1, fc.constantFrom('resource://payments', 'resource://' + 'a'.repeat(200), 'resource://' + 'a'.repeat(201), 'resource://Upper', 'https://payments', 'resource://a/b')],
        [2, anyString()],
      ).map(js);
      const url = weighted<string>([2, fc.constantFrom('https://upstream.test/x', 'http://127.0.0.1:1/', 'javascript:alert(1)', 'file:///etc/passwd', 'http://[::1', 'https://' + 'a'.repeat(3000) + '.test')], [1, anyString()]).map(js);
      return fc.record({ identifier: field(identifier, junk, 10), scopes: field(scopes, junk, 10), upstream_url: field(weighted<string>([2, url], [1, fc.constant('null')]), junk) });
    }
    case 'grant':
      return fc.record({
        application_id: field(fc.constantFrom(world.appId, world.appBId, 'app_nope', '__proto__').map(js), junk, 10),
        resource_id: field(fc.constantFrom(world.resourceId, world.resourceBId, 'res_nope', 'constructor').map(js), junk, 10),
        scopes: field(scopes, junk, 10),
        user_id: field(weighted<string>([2, fc.constantFrom('user-1', 'user-2', '__proto__').map(js)], [1, fc.constant('null')], [1, str()]), junk),
      });
    case 'policy': {
      const rego = 'package writ.authz\n\nresult := {"decision": "deny", "determining_policies": ["x"], "diagnostics": []}\n';
      const modules = fc.oneof(
        fc.constantFrom(js({ 'authz.rego': rego }), js({}), js({ '../../etc/x.rego': rego }), js({ 'a.rego': 123 }), js({ 'a.rego': '' }), js({ '__proto__.rego': rego }), '{"__proto__":{"a.rego":"x"}}'),
        fc.dictionary(anyString().map((s) => s.slice(0, 50)), anyString(), { maxKeys: 3 }).map(js),
      );
      return fc.record({ modules: field(modules, junk, 10), data: field(junk, junk, 2) });
    }
    case 'simulate': {
      const base = policyInput(world.zoneA);
      const keys = Object.keys(base);
      const input = fc.oneof(
        { weight: 2, arbitrary: fc.constant(js(base)) },
        {
          weight: 4,
          arbitrary: fc.tuple(fc.constantFrom(...keys), jsonText()).map(([k, v]) => `{${keys.map((key) => `${js(key)}:${key === k ? v : js((base as Record<string, unknown>)[key])}`).join(',')}}`),
        },
        { weight: 1, arbitrary: deepJson },
      );
      return fc.record({
        input: field(input, junk, 3),
        request_id: field(fc.constantFrom(world.allowedRequestId, world.deniedRequestId, 'nope', '../x').map(js), junk, 3),
      });
    }
    case 'replay': {
      const time = fc.constantFrom(...TIMES).map(js);
      const num = fc.constantFrom('1', '2', '0', '-1', '1.5', '10001', '1e309', '"1"', 'null', '9007199254740993');
      return fc.record({ since: field(time, junk), until: field(time, junk), candidate_version: field(num, junk), max_items: field(num, junk) });
    }
    case 'none':
      return fc.constant({});
  }
}

/** A shaped body without junk or prototype keys (fields may still hold wrong types). */
function cleanBody(world: FuzzWorld, kind: BodyKind): fc.Arbitrary<string> {
  return bodyFields(world, kind).map((named) => `{${Object.entries(named).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
}

interface BodyChoice {
  payload?: string | Buffer;
  contentType?: string;
}

function body(world: FuzzWorld, kind: BodyKind): fc.Arbitrary<BodyChoice> {
  const contentType = weighted<string | undefined>(
    [10, fc.constant('application/json')],
    [1, fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=latin1', 'application/vnd.api+json', 'application/json;;')],
    [1, fc.constantFrom(undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '', '*/*')],
    [1, anyString().map((s) => headerSafe(s.slice(0, 100)))],
  );
  const shaped = objectText(bodyFields(world, kind), jsonText());
  const text = weighted<string>(
    [kind === 'none' ? 0 : 8, shaped],
    [2, jsonText()],
    [1, deepJson],
    [1, fc.constantFrom('', ' ', '{', '{"name":', '{"a":1}}', "{'name':'x'}", '\u0000', 'null', '[]', '{"name":"x"', '\ufeff{"name":"x"}', '{"name":"x",}', '{"name":"\\ud800"}', '{"name":"\\u0000"}')],
    [1, anyString()],
    [1, hugeString.map((s) => `{"name":${js(s)}}`)],
  );
  const json = fc.tuple(text, contentType).map(([payload, ct]) => ({ payload, ...(ct === undefined ? {} : { contentType: ct }) }));
  const gzip = junkGzip.map((payload) => ({ payload, contentType: 'application/gzip' }));
  return weighted<BodyChoice>([kind === 'none' ? 1 : 12, json], [kind === 'none' ? 6 : 1, fc.constant({})], [1, gzip]);
}

// ---------------------------------------------------------------------------------------------------------
// Generators

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

function routeRequests(world: FuzzWorld, routes: RouteT[], label: string): fc.Arbitrary<Spec> {
  // One arbitrary per route, built once (building them per generated value, with chain, costs more than sending).
  const params = paramValues(world);
  const auth = authorization(world);
  const perRoute = routes.map((route) =>
    fc
      .record({
        method: weighted<string>([12, fc.constant(route.method)], [1, fc.constantFrom(...OTHER_METHODS)]),
        params,
        query: route.query === 'none' ? weighted<string>([8, fc.constant('')], [1, queryString(world, 'paging')]) : queryString(world, route.query),
        authorization: auth,
        body: body(world, route.body),
        rid: requestIdChoice,
        // Half the requests get a well-formed envelope (a key of the zone, JSON, a shaped body without junk
        // keys) so that the fields themselves reach validation and the domain, not only the first refusal.
        clean: fc.boolean(),
        cleanAuth: fc.constantFrom(world.auth.root, world.auth.zoneA),
        cleanBody: route.body === 'none' ? fc.constant(undefined) : cleanBody(world, route.body),
      })
      .map(({ method, params: p, query, authorization: a, body: b, rid, clean, cleanAuth, cleanBody: cb }): Spec => {
        const headers: Record<string, string> = {};
        if (clean) {
          headers.authorization = cleanAuth;
          if (cb !== undefined) headers['content-type'] = 'application/json';
        } else {
          if (a !== undefined) headers.authorization = a;
          if (b.contentType !== undefined) headers['content-type'] = b.contentType;
        }
        const payload = clean ? cb : b.payload;
        const m = clean ? route.method : method;
        return {
          label: `${label} ${m} ${route.path}`,
          method: m,
          path: fillPath(route.path, clean ? { ...p, zone_id: world.zoneA } : p),
          query,
          headers,
          rid,
          ...(payload === undefined ? {} : { payload }),
          rule: ruleOf(m, route.path),
        };
      }),
  );
  return fc.oneof(...perRoute);
}

export function adminRequests(world: FuzzWorld): fc.Arbitrary<Spec> {
  return routeRequests(world, ADMIN_ROUTES, 'admin');
}

export function auditRequests(world: FuzzWorld): fc.Arbitrary<Spec> {
  return routeRequests(world, AUDIT_ROUTES, 'audit');
}

/**
 * Raw path bytes: segments that are NOT percent-encoded by us (broken escapes such as `%`, `%zz`, `%E0%A4%A`,
 * encoded slashes and NULs), under admin and audit templates and at the root.
 */
export function rawPathRequests(world: FuzzWorld): fc.Arbitrary<Spec> {
  const segment = fc.oneof(
    fc.constantFrom('%', '%%', '%zz', '%E0%A4%A', '%C0%AF', '%00', '%2F', '%2e%2e', '%u0041', 'a%', '%1', '%ED%A0%80', world.zoneA, world.appId, '..', '.', '1'),
    fc.stringMatching(/^[A-Za-z0-9%._~:@!$&'()*+,;=-]{0,12}$/),
    // Longer than the router's 100-character parameter limit.
    fc.constantFrom(101, 128, 129, 5000).map((n) => 'z'.repeat(n)),
  );
  const templates = [...ADMIN_ROUTES, ...AUDIT_ROUTES].map((x) => x.path);
  return fc
    .record({
      template: fc.constantFrom(...templates, '/{a}', '/v1/{a}', '/v1/zones/{a}/{b}'),
      segs: fc.array(segment, { minLength: 3, maxLength: 3 }),
      method: fc.constantFrom('GET', 'POST', 'DELETE'),
      authorization: authorization(world),
      rid: requestIdChoice,
    })
    .map(({ template, segs, method, authorization: auth, rid }): Spec => {
      let i = 0;
      const path = template.replace(/\{(\w+)\}/g, () => segs[i++ % segs.length]!);
      return { label: `raw ${method} ${template}`, method, path, query: '', headers: auth === undefined ? {} : { authorization: auth }, rid, rule: ruleOf(method, template) };
    });
}

// --- STS ---

type FormValue = string | string[] | undefined;

function tokenValue(world: FuzzWorld): fc.Arbitrary<string> {
  const named = Object.keys(world.tokens);
  const segment = jsonText().map((t) => Buffer.from(t).toString('base64url'));
  const jwtish = fc
    .tuple(
      fc.oneof(segment, fc.constantFrom(...['{"alg":"ES256","kid":"k1"}', '{"alg":"none"}', '{"alg":"ES256","kid":"k1","crit":["x"]}', '{"alg":"ES256","b64":false,"crit":["b64"]}', '{"alg":"RS256","jwk":{"kty":"RSA"}}', '{"alg":"ES256","kid":{"__proto__":1}}', '{}', '[]', 'null', '"x"'].map((h) => Buffer.from(h).toString('base64url')))),
      segment,
      fc.oneof(fc.constant(''), fc.string({ maxLength: 90 }).map((s) => Buffer.from(s).toString('base64url')), fc.stringMatching(/^[A-Za-z0-9_-]{86}$/)),
    )
    .map(([h, p, s]) => `${h}.${p}.${s}`);
  // A real token with one character changed, or pieces of two real tokens spliced.
  const valid = world.tokens.valid!;
  const mutated = fc.tuple(fc.nat(valid.length - 1), fc.constantFrom('A', '_', '-', '.', '=', ' ', '+')).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1));
  const [h, , s] = valid.split('.');
  const spliced = fc.constantFrom(...named.map((n) => world.tokens[n]!.split('.')[1]!)).map((p) => `${h}.${p}.${s}`);
  return weighted<string>(
    [10, fc.constant(valid)],
    [6, fc.constantFrom(...named).map((n) => world.tokens[n]!)],
    [3, jwtish],
    [2, mutated],
    [1, spliced],
    [2, anyString()],
    [1, fc.constantFrom('x'.repeat(16 * 1024), 'x'.repeat(16 * 1024 + 1), `${valid}.${valid}`, ` ${valid}`, `${valid}\n`, `Bearer ${valid}`)],
    [1, fc.constant(world.mandate)],
  );
}

interface FormWeights {
  good: number;
  junk?: number;
  absent: number;
  /** RFC 6749 §3.2: parameters must not repeat. */
  repeated?: number;
  /** RFC 6749 §3.1: an empty value is as good as absent. */
  empty?: number;
}

function optionalForm(good: fc.Arbitrary<string>, junk: fc.Arbitrary<string>, w: FormWeights): fc.Arbitrary<FormValue> {
  return weighted<FormValue>(
    [w.good, good],
    [w.junk ?? 1, junk],
    [w.absent, fc.constant(undefined)],
    [w.repeated ?? 1, fc.array(fc.oneof(good, junk), { minLength: 2, maxLength: 3 })],
    [w.empty ?? 1, fc.constant('')],
  );
}

function stsForm(world: FuzzWorld): fc.Arbitrary<Record<string, FormValue>> {
  const junk = anyString();
  const token = tokenValue(world);
  const scopeGood = weighted<string>(
    [8, fc.constantFrom('payments:read', 'payments:write', 'payments:read payments:write', 'payments:write payments:read payments:read')],
    [3, fc.constantFrom('payments:admin', 'payments:read payments:admin', 'payments:delete', 'x:read', ' payments:read  ', 'payments:read\tpayments:write', 'PAYMENTS:READ', 's'.repeat(200), 's'.repeat(201))],
    [1, fc.array(fc.stringMatching(/^[a-z0-9:_./-]{1,8}$/), { minLength: 1, maxLength: 250 }).map((xs) => xs.join(' '))],
  );
  return fc.record({
    grant_type: weighted<FormValue>(
      [20, fc.constant(TOKEN_EXCHANGE)],
      [1, fc.constantFrom('client_credentials', 'password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', TOKEN_EXCHANGE.toUpperCase(), `${TOKEN_EXCHANGE} `, '__proto__', 'constructor', 'hasOwnProperty')],
      [1, junk],
      [1, fc.constant(undefined)],
      [1, fc.constant([TOKEN_EXCHANGE, TOKEN_EXCHANGE])],
    ),
    subject_token: optionalForm(token, junk, { good: 40, absent: 1 }),
    subject_token_type: optionalForm(fc.constantFrom(JWT_TYPE, JWT_TYPE, ACCESS_TOKEN_TYPE), fc.constantFrom('urn:ietf:params:oauth:token-type:saml2', 'urn:ietf:params:oauth:token-type:id_token', JWT_TYPE.toUpperCase(), '__proto__'), { good: 40, absent: 1 }),
    resource: optionalForm(
      weighted<string>([10, fc.constant('resource://payments')], [1, fc.constantFrom('resource://elsewhere', 'resource://nothing', 'https://payments', 'resource://PAYMENTS', 'resource://payments/', 'resource://payments#x', 'resource://')]),
      junk,
      { good: 40, absent: 1 },
    ),
    scope: optionalForm(scopeGood, junk, { good: 40, absent: 1 }),
    audience: optionalForm(fc.constantFrom('resource://payments', 'resource://elsewhere'), junk, { good: 1, junk: 1, absent: 60, repeated: 1, empty: 1 }),
    requested_token_type: optionalForm(fc.constantFrom(JWT_TYPE, ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:refresh_token'), junk, { good: 1, junk: 1, absent: 60, repeated: 1, empty: 1 }),
    actor_token: optionalForm(token, junk, { good: 3, junk: 1, absent: 60, repeated: 1, empty: 1 }),
    actor_token_type: optionalForm(fc.constantFrom(JWT_TYPE, ACCESS_TOKEN_TYPE), junk, { good: 3, junk: 1, absent: 60, repeated: 1, empty: 1 }),
    session_id: optionalForm(fc.constantFrom(world.sessionId, world.sessionId, world.revokedSessionId, 'ses_nope', 'x'.repeat(129)), junk, { good: 8, junk: 1, absent: 40, repeated: 1, empty: 1 }),
    client_id: optionalForm(fc.constantFrom(world.appId, world.appBId, 'app_nope'), junk, { good: 1, junk: 1, absent: 60, repeated: 1, empty: 1 }),
    client_secret: optionalForm(fc.constantFrom(world.appSecret, world.appBSecret, 'wrong-secret'), junk, { good: 1, junk: 1, absent: 60, repeated: 1, empty: 1 }),
  });
}

function stsAuthorization(world: FuzzWorld): fc.Arbitrary<string | undefined> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return weighted<string | undefined>(
    [20, fc.constant(world.basic(world.appId, world.appSecret))],
    [2, fc.constant(undefined)],
    [
      3,
      fc.oneof(
        fc.constantFrom(
          world.basic(world.appId, 'wrong'),
          world.basic(world.appBId, world.appBSecret),
          world.basic('app_nope', world.appSecret),
          `basic ${b64(`${world.appId}:${world.appSecret}`)}`,
          `Basic  ${b64(`${world.appId}:${world.appSecret}`)}`,
          `Basic ${b64(`${world.appId}:${world.appSecret}`)}=`,
          `Basic ${b64(`${world.appId}:${world.appSecret}`).replace(/=+$/, '')}`,
          `Basic ${b64(`${world.appId}`)}`,
          `Basic ${b64(`:${world.appSecret}`)}`,
          `Basic ${b64(`${world.appId}:`)}`,
          `Basic ${b64(`${world.appId}:%E0%A4%A`)}`,
          `Basic ${b64(`%:${world.appSecret}`)}`,
          `Basic ${b64(`__proto__:${world.appSecret}`)}`,
          `Basic ${b64(`${'a'.repeat(600)}:${world.appSecret}`)}`,
          `Basic ${'A'.repeat(5000)}`,
          'Basic !!!',
          'Basic',
          'Basic ',
          'Bearer ' + world.mandate,
          world.auth.root,
        ),
        fc.uint8Array({ maxLength: 60 }).map((bytes) => `Basic ${Buffer.from(bytes).toString('base64')}`),
        anyString().map((s) => `Basic ${b64(s.slice(0, 200))}`),
        anyString().map((s) => headerSafe(s.slice(0, 300))),
      ),
    ],
  );
}

function formEncode(form: Record<string, FormValue>, extra: [string, string][]): string {
  const p = new URLSearchParams();
  const safe = (s: string) => s.replace(/[\ud800-\udfff]/g, '\ufffd');
  for (const [k, v] of Object.entries(form)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, safe(one));
  }
  for (const [k, v] of extra) p.append(safe(k), safe(v));
  return p.toString();
}

export function stsRequests(world: FuzzWorld): fc.Arbitrary<Spec> {
  const contentType = weighted<string | undefined>(
    [30, fc.constant('application/x-www-form-urlencoded')],
    [2, fc.constantFrom('application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded; charset=utf-16', 'application/x-www-form-urlencoded;')],
    [1, fc.constantFrom(undefined, 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/gzip', '', 'application/xml')],
    [1, anyString().map((s) => headerSafe(s.slice(0, 100)))],
  );
  const extra = fc.array(
    fc.tuple(fc.oneof(keyArb, fc.constantFrom('__proto__', 'constructor', 'prototype', '__proto__[polluted]', 'constructor[prototype][polluted]', 'toString', 'hasOwnProperty', 'grant_type[]', 'scope[]', 'resource[0]')), anyString()),
    { maxLength: 3 },
  );
  const rawBody = weighted<string>(
    [3, fc.string({ maxLength: 200 })],
    [1, fc.constantFrom('%', '%%', 'a=%zz', 'grant_type=%E0%A4%A', '&&&', '=', '==&==', 'grant_type', `grant_type=${encodeURIComponent(TOKEN_EXCHANGE)}&&&&`, '{"grant_type":"x"}', '\u0000', 'a=1;b=2')],
    [1, hugeString],
  );
  const token = tokenValue(world);
  const introspectForm = fc.record({
    token: optionalForm(fc.oneof(fc.constant(world.mandate), fc.constantFrom(...world.recentMandates), token), anyString(), { good: 20, absent: 1 }),
    token_type_hint: optionalForm(fc.constantFrom('access_token', 'refresh_token'), anyString(), { good: 2, absent: 10 }),
    client_id: optionalForm(fc.constantFrom(world.appId, world.appBId), anyString(), { good: 1, absent: 20 }),
    client_secret: optionalForm(fc.constantFrom(world.appSecret, 'wrong'), anyString(), { good: 1, absent: 20 }),
  });
  return fc
    .record({
      endpoint: weighted<'token' | 'introspect' | 'revoke'>([12, fc.constant('token' as const)], [2, fc.constant('introspect' as const)], [1, fc.constant('revoke' as const)]),
      form: stsForm(world),
      introspectForm,
      extra,
      raw: weighted<string | null>([15, fc.constant(null)], [1, rawBody]),
      contentType,
      authorization: stsAuthorization(world),
      method: weighted<string>([30, fc.constant('POST')], [1, fc.constantFrom('GET', 'PUT', 'DELETE')]),
      rid: requestIdChoice,
    })
    .map(({ endpoint, form, introspectForm: iform, extra: ex, raw, contentType: ct, authorization: auth, method, rid }): Spec => {
      const payload = raw ?? formEncode(endpoint === 'token' ? form : iform, ex);
      const headers: Record<string, string> = {};
      if (auth !== undefined) headers.authorization = auth;
      if (ct !== undefined) headers['content-type'] = ct;
      return {
        label: `sts ${method} /v1/sts/${endpoint}`,
        method,
        path: `/v1/sts/${endpoint}`,
        query: '',
        headers,
        rid,
        payload,
        // Introspection never writes; revocation may (200); the token endpoint has its own rule.
        rule: method !== 'POST' ? 'read' : endpoint === 'token' ? 'token' : endpoint === 'introspect' ? 'read' : 'write',
      };
    });
}

// --- concurrent token exchanges ---

export interface BatchSpec {
  items: { spec: Spec; share: number | null }[];
}

/**
 * Batches of token requests sent at once; members with the same `share` use one X-Request-ID, so the request-id
 * guard and the ledger's `no_stream` append race each other.
 */
export function concurrentStsBatches(world: FuzzWorld): fc.Arbitrary<BatchSpec> {
  const tokenOnly = stsRequests(world).filter((s) => s.method === 'POST' && s.path === '/v1/sts/token');
  // Well-formed exchanges, allowed or denied, so that shared ids really race to a decision.
  const wellFormed = fc
    .record({
      token: fc.constantFrom('valid', 'valid2', 'validApp', 'validAud'),
      scope: fc.constantFrom('payments:read', 'payments:write', 'payments:read payments:write', 'payments:admin', 'payments:read payments:admin'),
      session: fc.constantFrom(undefined, undefined, undefined, world.sessionId, world.revokedSessionId),
      rid: requestIdChoice,
    })
    .map(({ token, scope, session, rid }): Spec => ({
      label: 'sts POST /v1/sts/token',
      method: 'POST',
      path: '/v1/sts/token',
      query: '',
      headers: { authorization: world.basic(world.appId, world.appSecret), 'content-type': 'application/x-www-form-urlencoded' },
      rid,
      payload: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: world.tokens[token]!,
        subject_token_type: JWT_TYPE,
        resource: 'resource://payments',
        scope,
        ...(session ? { session_id: session } : {}),
      }).toString(),
      rule: 'token',
    }));
  return fc.record({
    items: fc.array(fc.record({ spec: fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 2, arbitrary: tokenOnly }), share: fc.option(fc.nat(2), { nil: null, freq: 2 }) }), {
      minLength: 2,
      maxLength: 12,
    }),
  });
}

let batchCounter = 0;

/**
 * Send a batch concurrently, then account for the ledger as a whole: every response keeps the shape contract;
 * the DecisionRecorded events appended are exactly one per 200 and per 403 `access_denied` (by request id, no
 * id twice); SessionStarted only for the sessions 200s opened; nothing else; each 200's jti is its decision's.
 */
export async function checkBatch(world: FuzzWorld, batch: BatchSpec, stats?: Stats): Promise<string[]> {
  const { t } = world;
  const tag = `fzc-${++batchCounter}-${Math.random().toString(36).slice(2, 6)}`;
  const reqs = batch.items.map(({ spec, share }) => {
    const req = toRequest(world, spec);
    if (share !== null) req.headers['x-request-id'] = `${tag}-${share}`;
    return req;
  });
  const before = await t.writ.store.headPosition();
  const responses = await Promise.all(reqs.map((req) => t.app.inject({ method: 'POST', url: req.url, headers: req.headers, ...(req.payload === undefined ? {} : { payload: req.payload }) })));
  const appended = await readDelta(t, before, 1000);
  const v: string[] = [];
  const decided = new Map<string, number>();
  const issued: { rid: string; body: any }[] = [];
  responses.forEach((res, i) => {
    const shape = checkShape(reqs[i]!, res);
    stats?.add('sts-concurrent POST /v1/sts/token', { status: res.statusCode, code: shape.code, violations: shape.violations });
    if (shape.violations.length > 0) v.push(...shape.violations, describe(reqs[i]!, res));
    if (res.statusCode === 200 || (res.statusCode === 403 && shape.code === 'access_denied')) {
      const rid = shape.rid ?? '';
      decided.set(rid, (decided.get(rid) ?? 0) + 1);
      if (res.statusCode === 200) issued.push({ rid, body: shape.body });
    }
  });
  for (const [rid, n] of decided) if (n > 1) v.push(`request id ${rid} got ${n} decisions (200/403) in one batch`);
  const decisions = appended.filter((e) => e.type === 'DecisionRecorded');
  const recordedIds = decisions.map((e) => e.streamId.slice('decision-'.length));
  const expectedIds = [...decided.keys()];
  if (recordedIds.length !== expectedIds.length || expectedIds.some((id) => !recordedIds.includes(id))) {
    v.push(`decisions recorded [${recordedIds.join(', ')}] != decisions answered [${expectedIds.join(', ')}]`);
  }
  const openedSessions = new Set(issued.map((x) => x.body?.session_id).filter((sid) => sid !== world.sessionId && sid !== world.revokedSessionId));
  for (const e of appended) {
    if (e.type === 'DecisionRecorded') continue;
    if (e.type === 'SessionStarted' && openedSessions.has(e.streamId.slice('session-'.length))) continue;
    v.push(`unexpected event appended by a batch of exchanges: ${eventsText([e])}`);
  }
  const started = appended.filter((e) => e.type === 'SessionStarted').length;
  if (started !== openedSessions.size) v.push(`${openedSessions.size} new sessions issued, ${started} SessionStarted appended`);
  for (const { rid, body } of issued) checkIssued(body, rid, appended, v);
  if (v.length > 0) v.push(`batch of ${reqs.length}: ${responses.map((r, i) => `${reqs[i]!.headers['x-request-id'] ?? '-'}=>${r.statusCode}`).join(' ')}`);
  v.push(...prototypeIsClean());
  return v;
}

// --- every accepted request id is traceable ---

const ID_CHARS = [...'ABCXYZabcxyz0189._:-'];

/** Request ids of the public grammar `^[A-Za-z0-9._:-]{1,128}$`, biased to its edges (long ids, dots). */
export function grammarRequestIds(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/),
    fc.integer({ min: 90, max: 128 }).chain((n) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: n, maxLength: n })),
    fc.constantFrom('.', '..', '...', '.a', 'a.', '-', ':', '_', '..a', 'a..b'),
  );
}

/**
 * An exchange under any request id the server accepts (its grammar) is recorded under that id, and audit can
 * trace and explain it by that id: a request id that can be recorded but not looked up breaks the audit trail.
 * A repeated id (generation or shrinking) is a 409 and must still be traceable.
 */
export async function checkTraceable(world: FuzzWorld, id: string, stats?: Stats): Promise<string[]> {
  const { app } = world.t;
  const v: string[] = [];
  const res = await app.inject({
    method: 'POST',
    url: '/v1/sts/token',
    headers: { authorization: world.basic(world.appId, world.appSecret), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': id },
    payload: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: world.tokens.valid!, subject_token_type: JWT_TYPE, resource: 'resource://payments', scope: 'payments:read' }).toString(),
  });
  stats?.add('trace POST /v1/sts/token', { status: res.statusCode, code: undefined, violations: [] });
  // Dot-only ids are not honoured (URL normalisation would make their audit paths unreachable): the server
  // generates one instead, and that one must be traceable.
  const dotOnly = /^\.+$/.test(id);
  if (dotOnly) {
    const generated = String(res.headers['x-request-id']);
    if (generated === id || !generated.startsWith('req_')) v.push(`dot-only X-Request-ID ${JSON.stringify(id)} was honoured (${generated})`);
    id = generated;
  } else if (res.headers['x-request-id'] !== id) v.push(`X-Request-ID ${String(res.headers['x-request-id'])} != ${id}`);
  if (res.statusCode !== 200 && res.statusCode !== 409) v.push(`exchange under ${JSON.stringify(id)}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  for (const suffix of ['', '/explain']) {
    const url = `/v1/zones/${world.zoneA}/audit/decisions/${encodeURIComponent(id)}${suffix}`;
    const trace = await app.inject({ method: 'GET', url, headers: { authorization: world.auth.root } });
    stats?.add(`trace GET /v1/zones/{zone_id}/audit/decisions/{request_id}${suffix}`, { status: trace.statusCode, code: undefined, violations: [] });
    let body: any;
    try {
      body = trace.json();
    } catch {
      body = undefined;
    }
    if (trace.statusCode !== 200 || body?.request_id !== id) {
      v.push(`decision recorded under request id ${JSON.stringify(id)} (${id.length} chars) is not reachable: GET ${url.length > 200 ? `${url.slice(0, 200)}…` : url} -> ${trace.statusCode} ${trace.body.slice(0, 300)}`);
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Properties and the runner

export interface PropertyDef<T = unknown> {
  name: string;
  arbitrary(world: FuzzWorld): fc.Arbitrary<T>;
  check(world: FuzzWorld, value: T, stats?: Stats): Promise<string[]>;
  /** Runs of the long script per requested run (batches are several requests each). */
  runsScale?: number;
}

const single = (name: string, arbitrary: (world: FuzzWorld) => fc.Arbitrary<Spec>): PropertyDef<Spec> => ({ name, arbitrary, check: checkSpec });

export const ADMIN = single('admin', adminRequests);
export const STS = single('sts', stsRequests);
export const AUDIT = single('audit', auditRequests);
export const RAW_PATH = single('raw-path', rawPathRequests);
export const STS_CONCURRENT: PropertyDef<BatchSpec> = { name: 'sts-concurrent', arbitrary: concurrentStsBatches, check: checkBatch, runsScale: 0.1 };
export const TRACEABLE: PropertyDef<string> = { name: 'traceable-request-ids', arbitrary: () => grammarRequestIds(), check: checkTraceable, runsScale: 0.05 };

export const PROPERTIES: PropertyDef<any>[] = [ADMIN, STS, STS_CONCURRENT, AUDIT, TRACEABLE, RAW_PATH];

/** Send one spec and apply every check; the violations (empty when the contract held). */
export async function checkSpec(world: FuzzWorld, spec: Spec, stats?: Stats): Promise<string[]> {
  const req = toRequest(world, spec);
  const outcome = await sendChecked(world, req, spec.rule);
  stats?.add(spec.label, outcome);
  const v = [...outcome.violations];
  const res = outcome.res;
  if (res && spec.path.endsWith('/audit/export')) await checkExport(req, res, v);
  if (res && res.statusCode === 200 && spec.path === '/v1/sts/token') {
    const token = (res.json() as { access_token?: string }).access_token;
    if (token && world.recentMandates.length < 50) world.recentMandates.push(token);
  }
  v.push(...prototypeIsClean());
  return v;
}

export interface PropertyResult {
  name: string;
  numRuns: number;
  seed: number;
  failed: boolean;
  /** fast-check replay path of the (shrunk) counterexample. */
  path?: string;
  /** The violations of the shrunk counterexample. */
  message?: string;
  stats: Stats;
  ms: number;
}

/** Run one property; never throws for a failed property (the result says so). */
export async function runProperty<T>(world: FuzzWorld, def: PropertyDef<T>, opts: { numRuns: number; seed: number; path?: string; shrink?: boolean }): Promise<PropertyResult> {
  const stats = new Stats();
  const started = Date.now();
  const property = fc.asyncProperty(def.arbitrary(world), async (value) => {
    const v = await def.check(world, value, stats);
    if (v.length > 0) throw new Error(v.join('\n'));
  });
  const details = await fc.check(property, {
    numRuns: opts.numRuns,
    seed: opts.seed,
    ...(opts.path ? { path: opts.path } : {}),
    endOnFailure: opts.shrink === false,
  });
  const error = details.errorInstance;
  return {
    name: def.name,
    numRuns: details.numRuns,
    seed: opts.seed,
    failed: details.failed,
    ...(details.failed ? { path: details.counterexamplePath ?? undefined, message: error instanceof Error ? error.message : String(error) } : {}),
    stats,
    ms: Date.now() - started,
  } as PropertyResult;
}

/** The failure text of a result: the violations, and how to replay it. */
export function failureReport(result: PropertyResult): string {
  return `property ${result.name} failed (seed ${result.seed}, path ${result.path}; replay with FUZZ_SEED=${result.seed} FUZZ_PATH=${result.path}):\n${result.message}`;
}
