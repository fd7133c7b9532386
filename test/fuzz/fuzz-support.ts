import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { REQUEST_ID } from '../../src/domain/validation.js';
import { streams } from '../../src/domain/streams.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { verifyExport } from '../../src/audit/verify.js';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { bundleWithRevision, policyInput } from '../api/helpers.js';

/**
 * Shared machinery of the fuzz suites (test/fuzz/*.test.ts) and of the long run (scripts/fuzz-long.ts).
 *
 * A fuzz "world" is a complete writ (SQLite ledger, projections, opa-wasm, signing keys) behind `app.inject`,
 * seeded over HTTP with two zones, zone keys, a trusted ES256 issuer, an application, a resource, grants,
 * one allowed and one denied exchange. Arbitraries generate requests against it (admin, STS, audit); every
 * response is checked against the public contract:
 *
 * - never 5xx (one documented exception: 501 `compiler_unavailable` for Rego uploads when the server has no
 *   opa CLI);
 * - every response carries X-Request-ID (the inbound one when it matches the grammar, else `req_…`);
 * - every non-2xx is JSON `{error: <snake_case>, error_description, request_id == X-Request-ID, details: {}}`;
 * - the ledger (`store.headPosition()`, and the events appended, read back) changes only when it may:
 *   refused requests (4xx) append nothing, except a 403 `access_denied` from the token endpoint, which appends
 *   exactly its DecisionRecorded (deny) in `decision-<request_id>`; reads (GET, introspection, audit,
 *   simulate) never append; a 200 from the token endpoint appended an allow whose mandate jti is the JWT's.
 */

// ---------------------------------------------------------------------------------------------------------
// The world

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const SUBJECT_ISSUER = 'https://idp.fuzz.test';

/** A subject-token issuer key pair. */
interface Signer {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

export interface FuzzWorld {
  t: TestWrit;
  zoneA: string;
  zoneB: string;
  /** Authorization header values. */
  auth: { root: string; zoneA: string; zoneB: string; revoked: string };
  appId: string;
  appSecret: string;
  appBId: string;
  appBSecret: string;
  resourceId: string;
  resourceBId: string;
  grantId: string;
  spareGrantId: string;
  issuerId: string;
  spareKeyId: string;
  zoneAKeyId: string;
  /** Session of the allowed seed exchange (subject user-1), and one revoked on purpose. */
  sessionId: string;
  revokedSessionId: string;
  allowedRequestId: string;
  deniedRequestId: string;
  mandate: string;
  /** Mandates issued while fuzzing (introspection/revocation targets). */
  recentMandates: string[];
  /** Subject/actor tokens, by name. */
  tokens: Record<string, string>;
  /** Public JWKs (for issuer bodies), and a private one (must be refused). */
  publicJwks: JWK[];
  privateJwk: JWK;
  basic(id: string, secret: string): string;
  close(): Promise<void>;
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function newSigner(kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
  };
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

async function sign(signer: Signer, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT', ...header }).sign(signer.privateKey);
}

async function must(res: LightMyRequestResponse, status: number, what: string): Promise<any> {
  if (res.statusCode !== status) throw new Error(`fuzz world setup: ${what}: expected ${status}, got ${res.statusCode} ${res.body.slice(0, 500)}`);
  return res.body === '' ? undefined : res.json();
}

/** Long-lived tokens: the long run may take many minutes. */
const TOKEN_LIFETIME_S = 6 * 3600;

export async function startFuzzWorld(opts: { rateLimitPerSecond?: number } = {}): Promise<FuzzWorld> {
  // By default the rate limiter is out of the way: a 429 is a legal answer but would hide the paths behind it.
  const t = await startTestWrit({ env: { WRIT_RATE_LIMIT: String(opts.rateLimitPerSecond ?? 1_000_000) } });
  const app = t.app;
  const json = (method: 'POST' | 'GET' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
    app.inject({ method, url, headers: { authorization, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
  const root = t.root.authorization;

  const zoneA = (await must(await json('POST', '/v1/zones', root, { name: 'fuzz-a' }), 201, 'zone A')).zone_id as string;
  const zoneB = (await must(await json('POST', '/v1/zones', root, { name: 'fuzz-b' }), 201, 'zone B')).zone_id as string;
  const keyA = await must(await json('POST', `/v1/zones/${zoneA}/admin-keys`, root, { name: 'ops' }), 201, 'key A');
  const keyB = await must(await json('POST', `/v1/zones/${zoneB}/admin-keys`, root, { name: 'ops' }), 201, 'key B');
  const spareKey = await must(await json('POST', `/v1/zones/${zoneA}/admin-keys`, root, { name: 'spare' }), 201, 'spare key');
  const revokedKey = await must(await json('POST', `/v1/zones/${zoneA}/admin-keys`, root, { name: 'revoked' }), 201, 'revoked key');
  await must(await json('DELETE', `/v1/zones/${zoneA}/admin-keys/${revokedKey.key_id}`, root), 200, 'revoke key');

  const idp = await newSigner('k1');
  const rogue = await newSigner('k1'); // same kid, key the zone does not trust
  const other = await newSigner('k2');
  const issuer = await must(await json('POST', `/v1/zones/${zoneA}/issuers`, root, { issuer: SUBJECT_ISSUER, jwks: { keys: [idp.publicJwk] } }), 201, 'issuer');
  await must(await json('POST', `/v1/zones/${zoneB}/issuers`, root, { issuer: SUBJECT_ISSUER, jwks: { keys: [other.publicJwk] } }), 201, 'issuer B');

  const application = await must(await json('POST', `/v1/zones/${zoneA}/applications`, root, { name: 'billing' }), 201, 'application');
  const applicationB = await must(await json('POST', `/v1/zones/${zoneB}/applications`, root, { name: 'other' }), 201, 'application B');
  const resource = await must(
    await json('POST', `/v1/zones/${zoneA}/resources`, root, { identifier: 'resource://payments', scopes: ['payments:read', 'payments:write', 'payments:admin'] }),
    201,
    'resource',
  );
  const resourceB = await must(await json('POST', `/v1/zones/${zoneB}/resources`, root, { identifier: 'resource://elsewhere', scopes: ['x:read'] }), 201, 'resource B');
  const grant = await must(
    await json('POST', `/v1/zones/${zoneA}/grants`, root, { application_id: application.application_id, resource_id: resource.resource_id, scopes: ['payments:read', 'payments:write'] }),
    201,
    'grant',
  );
  const spareGrant = await must(
    await json('POST', `/v1/zones/${zoneA}/grants`, root, { application_id: application.application_id, resource_id: resource.resource_id, scopes: ['payments:read'], user_id: 'user-2' }),
    201,
    'spare grant',
  );
  await must(await json('POST', `/v1/zones/${zoneB}/grants`, root, { application_id: applicationB.application_id, resource_id: resourceB.resource_id, scopes: ['x:read'] }), 201, 'grant B');
  // A second policy version (same wasm, other digest) so that activate/simulate have more than one target.
  await must(
    await app.inject({ method: 'POST', url: `/v1/zones/${zoneA}/policy-sets/versions`, headers: { authorization: root, 'content-type': 'application/gzip' }, payload: await bundleWithRevision('fuzz-2') }),
    201,
    'policy version 2',
  );

  const now = Math.floor(Date.now() / 1000);
  const base = { iss: SUBJECT_ISSUER, iat: now, exp: now + TOKEN_LIFETIME_S };
  const tokens: Record<string, string> = {
    valid: await sign(idp, { ...base, sub: 'user-1' }),
    valid2: await sign(idp, { ...base, sub: 'user-2' }),
    validApp: await sign(idp, { ...base, sub: 'svc-1', client_id: 'svc-1' }),
    validAud: await sign(idp, { ...base, sub: 'user-1', aud: ['a', 'b'], nbf: now - 10, extra: { nested: [1, 2, { x: '\u0000' }] } }),
    expired: await sign(idp, { ...base, sub: 'user-1', iat: now - 7200, exp: now - 3600 }),
    notYetValid: await sign(idp, { ...base, sub: 'user-1', nbf: now + 3600 }),
    iatFuture: await sign(idp, { ...base, sub: 'user-1', iat: now + 3600 }),
    noSub: await sign(idp, { ...base }),
    emptySub: await sign(idp, { ...base, sub: '' }),
    numericSub: await sign(idp, { ...base, sub: 12345 }),
    hugeSub: await sign(idp, { ...base, sub: 'u'.repeat(600) }),
    weirdSub: await sign(idp, { ...base, sub: '__proto__' }),
    unicodeSub: await sign(idp, { ...base, sub: '\u202e\ud83d\ude00\u0000' }),
    noExp: await sign(idp, { iss: SUBJECT_ISSUER, iat: now, sub: 'user-1' }),
    stringExp: await sign(idp, { ...base, sub: 'user-1', exp: 'tomorrow' }),
    noIss: await sign(idp, { iat: now, exp: now + TOKEN_LIFETIME_S, sub: 'user-1' }),
    objectIss: await sign(idp, { ...base, iss: { a: 1 }, sub: 'user-1' }),
    untrustedIss: await sign(idp, { ...base, iss: 'https://evil.test', sub: 'user-1' }),
    rogueSignature: await sign(rogue, { ...base, sub: 'user-1' }),
    unknownKid: await sign(other, { ...base, sub: 'user-1' }),
    noKid: await sign(idp, { ...base, sub: 'user-1' }, { kid: undefined }),
    hugeClaims: await sign(idp, { ...base, sub: 'user-1', blob: 'x'.repeat(15_000) }),
    protoClaims: await sign(idp, JSON.parse(`{"iss":"${SUBJECT_ISSUER}","sub":"user-1","exp":${now + TOKEN_LIFETIME_S},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`)),
    algNone: `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify({ ...base, sub: 'user-1' }))}.`,
    hs256: await new SignJWT({ ...base, sub: 'user-1' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode('x'.repeat(32))),
    algWeird: `${b64url(JSON.stringify({ alg: ['ES256'], kid: 'k1' }))}.${b64url(JSON.stringify({ ...base, sub: 'user-1' }))}.${b64url('sig')}`,
    twoDots: 'a.b',
    fourParts: 'a.b.c.d',
    jwe: `${b64url(JSON.stringify({ alg: 'RSA-OAEP', enc: 'A256GCM' }))}.x.y.z.w`,
  };

  const basic = basicAuth;
  const exchange = (requestId: string, scope: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/sts/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(application.application_id, application.client_secret), 'x-request-id': requestId },
      payload: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: tokens.valid!, subject_token_type: JWT_TYPE, resource: 'resource://payments', scope }).toString(),
    });
  const allowed = await must(await exchange('fuzz-seed-allowed', 'payments:read'), 200, 'allowed exchange');
  await must(await exchange('fuzz-seed-denied', 'payments:admin'), 403, 'denied exchange');
  const toRevoke = await must(await exchange('fuzz-seed-to-revoke', 'payments:write'), 200, 'exchange to revoke');
  await must(await json('POST', `/v1/zones/${zoneA}/sessions/${toRevoke.session_id}/revoke`, root, { reason: 'fuzz' }), 200, 'revoke session');

  return {
    t,
    zoneA,
    zoneB,
    auth: { root, zoneA: `Bearer ${keyA.token}`, zoneB: `Bearer ${keyB.token}`, revoked: `Bearer ${revokedKey.token}` },
    appId: application.application_id,
    appSecret: application.client_secret,
    appBId: applicationB.application_id,
    appBSecret: applicationB.client_secret,
    resourceId: resource.resource_id,
    resourceBId: resourceB.resource_id,
    grantId: grant.grant_id,
    spareGrantId: spareGrant.grant_id,
    issuerId: issuer.issuer_id,
    spareKeyId: spareKey.key_id,
    zoneAKeyId: keyA.key_id,
    sessionId: allowed.session_id,
    revokedSessionId: toRevoke.session_id,
    allowedRequestId: 'fuzz-seed-allowed',
    deniedRequestId: 'fuzz-seed-denied',
    mandate: allowed.access_token,
    recentMandates: [allowed.access_token, toRevoke.access_token],
    tokens,
    publicJwks: [idp.publicJwk, other.publicJwk],
    privateJwk: idp.privateJwk,
    basic,
    close: () => t.close(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Requests and their checks

/** A request with late-bound parts (fresh request ids, world ids) resolved when it is sent. */
export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** How a request may touch the ledger. */
export type LedgerRule =
  /** A read: never appends, whatever the status. */
  | 'read'
  /** A write: 2xx may append, anything else appends nothing. */
  | 'write'
  /** POST /v1/sts/token: 200 appends its allow, 403 access_denied exactly its deny, anything else nothing. */
  | 'token';

export interface Outcome {
  status: number;
  code: string | undefined;
  violations: string[];
  res?: LightMyRequestResponse;
}

/** Status and error-code counts, per property: the summary of the long run and coverage checks of the suites. */
export class Stats {
  readonly statuses = new Map<string, number>();
  runs = 0;
  add(label: string, o: Outcome): void {
    this.runs++;
    const key = `${label} ${o.status}${o.code ? ` ${o.code}` : ''}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
  }
  count(pred: (key: string) => boolean): number {
    let n = 0;
    for (const [k, v] of this.statuses) if (pred(k)) n += v;
    return n;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.statuses.entries()].sort((a, b) => b[1] - a[1]));
  }
}

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const GENERATED_ID = /^req_[0-9a-z]{10,64}$/;

function short(s: string | Buffer | undefined, n = 300): string {
  if (s === undefined) return '(none)';
  const text = typeof s === 'string' ? s : `<${s.length} bytes>`;
  const shown = JSON.stringify(text.length > n ? `${text.slice(0, n)}…(${text.length} chars)` : text);
  return shown;
}

/** A readable account of a request and its response, for failure messages. */
export function describe(req: FuzzRequest, res?: LightMyRequestResponse): string {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v]));
  const lines = [`${req.method} ${req.url.length > 300 ? `${req.url.slice(0, 300)}…(${req.url.length})` : req.url}`, `headers ${JSON.stringify(headers)}`, `payload ${short(req.payload)}`];
  if (res) lines.push(`=> ${res.statusCode} x-request-id=${String(res.headers['x-request-id'])} content-type=${String(res.headers['content-type'])} body ${short(res.body, 500)}`);
  return lines.join('\n  ');
}

export async function readDelta(t: TestWrit, before: bigint, maxCount = 100): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of t.writ.store.readAll({ fromPosition: before, maxCount })) out.push(e);
  return out;
}

export function eventsText(events: RecordedEvent[]): string {
  return events.map((e) => `${e.position}:${e.streamId}:${e.type}`).join(', ');
}

/** What the shape checks learned of a response. */
export interface Shape {
  /** X-Request-ID of the response. */
  rid: string | undefined;
  /** `error` of a non-2xx body. */
  code: string | undefined;
  /** Parsed JSON body (errors always; 2xx when JSON). */
  body: any;
  violations: string[];
}

/**
 * The contract every response keeps, whatever the route: X-Request-ID, no 5xx, the error shape. Ledger checks
 * are separate (they need the positions around the request).
 */
export function checkShape(req: FuzzRequest, res: LightMyRequestResponse): Shape {
  const v: string[] = [];
  const status = res.statusCode;
  const ridHeader = res.headers['x-request-id'];
  const rid = typeof ridHeader === 'string' ? ridHeader : undefined;

  // X-Request-ID on every response.
  const inbound = req.headers['x-request-id'];
  if (rid === undefined) v.push('response has no X-Request-ID header');
  else if (typeof inbound === 'string' && REQUEST_ID.test(inbound)) {
    if (rid !== inbound) v.push(`X-Request-ID ${rid} is not the valid inbound ${inbound}`);
  } else if (!GENERATED_ID.test(rid)) v.push(`generated X-Request-ID ${JSON.stringify(rid)} is not req_<id>`);

  // Status and error shape.
  let body: any;
  let code: string | undefined;
  const isCompilerUnavailable = status === 501 && req.method === 'POST' && /\/policy-sets\/versions\/?(\?|$)/.test(req.url);
  if (status >= 500 && !isCompilerUnavailable) v.push(`status ${status} (5xx)`);
  if (status < 200 || status >= 300) {
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/json')) v.push(`error content-type is ${JSON.stringify(type)}, not application/json`);
    try {
      body = JSON.parse(res.body);
    } catch {
      v.push('error body is not JSON');
    }
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) v.push('error body is not an object');
      else {
        code = typeof body.error === 'string' ? body.error : undefined;
        if (typeof body.error !== 'string' || !SNAKE_CASE.test(body.error)) v.push(`error ${JSON.stringify(body.error)} is not a snake_case code`);
        if (typeof body.error_description !== 'string' || body.error_description.length === 0) v.push('error_description missing or empty');
        if (typeof body.request_id !== 'string') v.push('request_id missing from the error body');
        else if (body.request_id !== rid) v.push(`body request_id ${body.request_id} != X-Request-ID ${String(rid)}`);
        if (typeof body.details !== 'object' || body.details === null || Array.isArray(body.details)) v.push('details missing or not an object');
        if (isCompilerUnavailable && code !== 'compiler_unavailable') v.push(`501 with code ${code}`);
        if (status >= 500 && /(\/work\/|node_modules|at [\w.]+ \(|SQLITE|Error:)/.test(res.body)) v.push('5xx body leaks internals');
      }
    }
  } else if (String(res.headers['content-type'] ?? '').startsWith('application/json') && res.body !== '') {
    try {
      body = JSON.parse(res.body);
    } catch {
      v.push('2xx JSON body does not parse');
    }
  }
  return { rid, code, body, violations: v };
}

/** Send one request and check it against the contract. Never throws for a contract breach: returns violations. */
export async function sendChecked(world: FuzzWorld, req: FuzzRequest, rule: LedgerRule): Promise<Outcome> {
  const { t } = world;
  const before = await t.writ.store.headPosition();
  let res: LightMyRequestResponse;
  try {
    res = await t.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.payload === undefined ? {} : { payload: req.payload }) });
  } catch (err) {
    return { status: -1, code: undefined, violations: [`inject threw: ${err instanceof Error ? err.stack : String(err)}\n  ${describe(req)}`] };
  }
  const after = await t.writ.store.headPosition();
  const status = res.statusCode;
  const { rid, code, body, violations: v } = checkShape(req, res);

  // The ledger.
  const appended = after !== before ? await readDelta(t, before) : [];
  const ok2xx = status >= 200 && status < 300;
  if (after < before) v.push(`ledger head went backwards ${before} -> ${after}`);
  if (rule === 'read' && after !== before) v.push(`a read appended to the ledger: ${eventsText(appended)}`);
  if (rule === 'write' && !ok2xx && after !== before) v.push(`refused (${status}) but appended: ${eventsText(appended)}`);
  if (rule === 'token') {
    if (status === 403 && code === 'access_denied') {
      const mine = appended.filter((e) => e.streamId === streams.decision(rid ?? ''));
      if (appended.length !== 1 || mine.length !== 1 || mine[0]!.type !== 'DecisionRecorded' || mine[0]!.data.decision !== 'deny') {
        v.push(`403 access_denied must append exactly its DecisionRecorded (deny); appended: ${eventsText(appended)}`);
      }
    } else if (status === 200) {
      checkIssued(body, rid, appended, v);
      const sid = body?.session_id;
      const foreign = appended.filter((e) => e.streamId !== streams.decision(rid ?? '') && e.streamId !== streams.session(String(sid)));
      if (foreign.length > 0) v.push(`a 200 exchange appended more than its decision and session: ${eventsText(foreign)}`);
    } else if (after !== before) v.push(`refused (${status} ${code}) but appended: ${eventsText(appended)}`);
  }

  if (v.length > 0) v.push(describe(req, res));
  return { status, code, violations: v, res };
}

/** A 200 from the token endpoint: an at+jwt mandate whose jti is the recorded allow's, recorded before it was returned. */
export function checkIssued(body: any, rid: string | undefined, appended: RecordedEvent[], v: string[]): void {
  if (typeof body?.access_token !== 'string') {
    v.push('200 without access_token');
    return;
  }
  if (body.request_id !== rid) v.push(`200 body request_id ${body.request_id} != X-Request-ID ${rid}`);
  const header = decodeProtectedHeader(body.access_token);
  if (header.typ !== 'at+jwt') v.push(`mandate typ ${String(header.typ)}`);
  const claims = decodeJwt(body.access_token);
  if (claims.request_id !== rid) v.push(`mandate request_id ${String(claims.request_id)} != ${rid}`);
  const decision = appended.find((e) => e.streamId === streams.decision(rid ?? '') && e.type === 'DecisionRecorded');
  if (!decision) v.push(`200 but no DecisionRecorded appended for ${rid}: ${eventsText(appended)}`);
  else {
    const mandate = decision.data.mandate as { jti?: string } | null;
    if (decision.data.decision !== 'allow') v.push(`200 but the recorded decision is ${String(decision.data.decision)}`);
    if (mandate?.jti !== claims.jti) v.push(`recorded mandate jti ${mandate?.jti} != issued jti ${String(claims.jti)}`);
  }
  const scopes = String(claims.scope ?? '').split(' ');
  if (scopes.some((s) => s !== 'payments:read' && s !== 'payments:write')) v.push(`mandate scope ${String(claims.scope)} exceeds the grant`);
  if (Number(claims.exp) - Number(claims.iat) > 900) v.push('mandate lifetime over 900 s');
}

/** Extra checks of successful audit exports: a 200 stream must be a complete, verifiable chain. */
export async function checkExport(req: FuzzRequest, res: { statusCode: number; body: string }, v: string[]): Promise<void> {
  if (res.statusCode !== 200) return;
  const result = await verifyExport([res.body]);
  if (!result.ok) v.push(`a 200 export does not verify: ${result.reason} ${result.detail}\n  ${describe(req)}`);
}

export function prototypeIsClean(): string[] {
  const v: string[] = [];
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'x', 'isAdmin', 'admin', 'a']) if (probe[k] !== undefined) v.push(`Object.prototype.${k} polluted`);
  if (Object.keys(Object.prototype).length > 0) v.push(`Object.prototype has enumerable keys: ${Object.keys(Object.prototype).join(',')}`);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries: values

/** Strings a human would try. World-specific ones are added per property. */
const NASTY_STRINGS = [
  '',
  ' ',
  '  ',
  '\t',
  '\n',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '\u0000',
  '\u0000x',
  '\u202e\u0000\u200b',
  '\ud800',
  '\udfff\ud800',
  '\ud83d\ude00',
  'é',
  'e\u0301',
  '../../etc/passwd',
  '..',
  '.',
  '%00',
  '%2e%2e%2f',
  "' OR 1=1 --",
  '"; DROP TABLE events; --',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  'resource://payments',
  'resource://',
  'resource://PAYMENTS',
  'resource://payments/../x',
  'payments:read',
  'payments:admin',
  '2025-01-01T00:00:00Z',
  '2025-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '2025-02-30T00:00:00Z',
  '2025-01-01',
  '1970-01-01T00:00:00+14:00',
  'x'.repeat(129),
  'x'.repeat(201),
  'x'.repeat(513),
  'x'.repeat(2001),
];

/** Long strings; the longest (over 1 MB) are rare: they cost more to build than to send. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('a', 'é', '\ud83d\ude00', '\u0000', ' ', '%', '"', '\\'),
    fc.oneof({ weight: 8, arbitrary: fc.constant(1_000) }, { weight: 4, arbitrary: fc.constant(20_000) }, { weight: 2, arbitrary: fc.constant(200_000) }, { weight: 1, arbitrary: fc.constant(1_100_000) }),
  )
  .map(([c, n]) => c.repeat(n));

export function anyString(extra: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 8, arbitrary: fc.constantFrom(...NASTY_STRINGS, ...extra) },
    { weight: 1, arbitrary: hugeString },
  );
}

/** JSON text of a number, including ones JSON.parse turns into Infinity, -0 or loses precision on. */
const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('1e309', '-1e309', '-0', '0.5', '1e-400', '9007199254740993', '123456789012345678901234567890', '1E2', '0', '1', '2', '-1', '1000', '1001', '10001'),
);

const FIELD_NAMES = [
  'name',
  'identifier',
  'scopes',
  'upstream_url',
  'application_id',
  'resource_id',
  'user_id',
  'issuer',
  'jwks',
  'keys',
  'audience',
  'modules',
  'data',
  'input',
  'request_id',
  'reason',
  'since',
  'until',
  'candidate_version',
  'max_items',
  'status',
  'zone_id',
  'version',
  'kty',
  'kid',
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf'];

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
);

/** Any JSON value as text (duplicate keys and prototype keys included: they must reach the parser literally). */
export function jsonText(strings: fc.Arbitrary<string> = anyString()): fc.Arbitrary<string> {
  const stringText = strings.map((s) => JSON.stringify(s));
  const { value } = fc.letrec<{ value: string; leaf: string; array: string; object: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, tie('leaf'), tie('array'), tie('object')),
    leaf: fc.oneof({ weight: 3, arbitrary: stringText }, { weight: 2, arbitrary: numberText }, { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') }),
    array: fc.array(tie('value'), { maxLength: 5 }).map((vs) => `[${vs.join(',')}]`),
    object: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 6 }).map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  }));
  return value;
}

/** Very deep nesting (arrays or objects), as JSON text. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(100, 1_000, 5_000, 20_000), fc.boolean())
  .map(([n, arrays]) => (arrays ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"input":'.repeat(n)}{}${'}'.repeat(n)}`));

/** A JSON object text from named fields (absent when undefined), extra junk entries and prototype-pollution entries. */
export function objectText(fields: fc.Arbitrary<Record<string, string | undefined>>, junk: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(
      fields,
      // Unknown keys are refused by strict schemas: rare enough that the named fields usually reach the domain.
      fc.oneof({ weight: 4, arbitrary: fc.constant([] as [string, string][]) }, { weight: 1, arbitrary: fc.array(fc.tuple(keyArb, junk), { minLength: 1, maxLength: 2 }) }),
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(null) },
        fc.constantFrom(
          '"__proto__":{"polluted":true}',
          '"constructor":{"prototype":{"polluted":true}}',
          '"__proto__":null',
          '"__proto__":[]',
          '"prototype":{"polluted":true}',
          '"constructor":"x"',
        ),
      ),
      fc.boolean(),
    )
    .map(([named, extra, proto, protoFirst]) => {
      const entries = Object.entries(named)
        .filter((e): e is [string, string] => e[1] !== undefined)
        .map(([k, v]) => `${JSON.stringify(k)}:${v}`);
      for (const [k, v] of extra) entries.push(`${JSON.stringify(k)}:${v}`);
      if (proto) {
        if (protoFirst) entries.unshift(proto);
        else entries.push(proto);
      }
      return `{${entries.join(',')}}`;
    });
}

/** A field that is usually well-formed, sometimes any JSON, absent once in `absentFreq`. */
export function field(good: fc.Arbitrary<string>, junk: fc.Arbitrary<string>, absentFreq = 6): fc.Arbitrary<string | undefined> {
  return fc.option(fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: junk }), { nil: undefined, freq: absentFreq });
}

export const js = (v: unknown) => JSON.stringify(v);

/** A late-bound X-Request-ID: fresh and unique, reused, raw (valid or not), or absent. */
export type RequestIdChoice = { kind: 'fresh' } | { kind: 'absent' } | { kind: 'reuse'; which: 'allowed' | 'denied' } | { kind: 'raw'; value: string };

export const requestIdChoice: fc.Arbitrary<RequestIdChoice> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ kind: 'fresh' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'absent' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('allowed' as const, 'denied' as const).map((which) => ({ kind: 'reuse' as const, which })) },
  // Short ids collide between runs: the second use of one is a duplicate.
  { weight: 1, arbitrary: fc.stringMatching(/^[a-c]{1,2}$/).map((value) => ({ kind: 'raw' as const, value: `dup-${value}` })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 140 }),
        fc.constantFrom('a b', 'x'.repeat(128), 'x'.repeat(129), 'é', '../x', 'req_', '-', '.', ':', 'a\tb', '__proto__', '1'),
      )
      .filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e\t]*$/.test(s))
      .map((value) => ({ kind: 'raw' as const, value })),
  },
);

let freshCounter = 0;
const runTag = Math.random().toString(36).slice(2, 8);

export function materializeRequestId(world: FuzzWorld, c: RequestIdChoice): string | undefined {
  switch (c.kind) {
    case 'fresh':
      return `fz-${runTag}-${++freshCounter}`;
    case 'absent':
      return undefined;
    case 'reuse':
      return c.which === 'allowed' ? world.allowedRequestId : world.deniedRequestId;
    case 'raw':
      return c.value;
  }
}

/** Header values Node's HTTP layer accepts (inject validates them like a real client would send them). */
export function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e\t]/g, '?');
}

/** gzip of junk: not a bundle. */
export const junkGzip: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 200 }).map((bytes) => gzipSync(Buffer.from(bytes)));

export { policyInput };
