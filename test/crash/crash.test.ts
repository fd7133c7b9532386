import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { verifyExport } from '../../src/audit/verify.js';
import { startWritProcess, type WritProcess } from '../support/writ-process.js';

/**
 * Crash consistency of record-before-issue, against the real server in a child process (SQLite ledger in a
 * temp data dir):
 *
 * 16 concurrent client loops exchange tokens (3 in 4 allowed, 1 in 4 denied by the grants), each with its
 * own X-Request-ID. Once a few hundred mandates were handed out the server is SIGKILLed by pid mid-load, then
 * restarted on the same data dir — twice; between the two crashes a clean stop and start saves projection
 * checkpoints, so the second recovery restores them and folds only the events after them. After each restart:
 *
 * - the server is ready and the ledger readable (health, decisions list, a complete export that verifies,
 *   state as of now);
 * - every exchange that got a 200 is in audit under its request ID: decision `allow`, mandate jti = the jti of
 *   the JWT the client received (`typ: at+jwt`, `request_id` claim = its X-Request-ID), its session exists,
 *   and introspection calls the mandate active;
 * - every 403 is in audit as a `deny` without mandate;
 * - every recorded decision is one a client sent, allow jtis are unique, and the ledger export and the
 *   decisions read model hold the same request IDs;
 * - a request ID acknowledged before the crash cannot be reused after it (409), and new exchanges work.
 *
 * Requests in flight at the kill may or may not be recorded: either is fine, but a recorded one never lost
 * its mandate to the ledger (the client just never saw it).
 */

const LOOPS = 16;
/** 200s to see before the kill, per cycle. */
const OK_BEFORE_KILL = 300;
const CYCLES = 2;
const SUBJECT_ISSUER = 'https://idp.crash.test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

interface Outcome {
  requestId: string;
  cycle: number;
  intent: 'allow' | 'deny';
  status: number | 'network_error';
  body?: any;
}

const procs: WritProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop();
  await procs[0]?.cleanup();
});

async function call(base: string, method: string, path: string, opts: { auth?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = opts.auth;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let parsed: any = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json') && text !== '') parsed = JSON.parse(text);
  return { status: res.status, body: parsed, text, headers: res.headers };
}

async function ok(p: Promise<{ status: number; text: string; body: any }>, status: number, what: string): Promise<any> {
  const res = await p;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 500)}`);
  return res.body;
}

/** Run `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe('crash consistency (SIGKILL mid-load, restart on the same data dir)', () => {
  it('every 200 is a recorded allow with the same jti, every recorded jti is a decision, the ledger survives', async () => {
    const env = {
      WRIT_ADMIN_TOKEN: `root-${randomBytes(16).toString('hex')}`,
      // Fixed across restarts (the port changes): introspection checks `iss`.
      WRIT_ISSUER: 'http://writ.crash.test',
      WRIT_RATE_LIMIT: '1000000',
      WRIT_LOG_LEVEL: 'warn',
    };
    let proc = await startWritProcess({ env });
    procs.push(proc);
    const dataDir = proc.dataDir;
    const root = `Bearer ${env.WRIT_ADMIN_TOKEN}`;

    // --- seed over HTTP ---
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'crash-1', alg: 'ES256', use: 'sig' };
    const base0 = proc.url;
    const zone = await ok(call(base0, 'POST', '/v1/zones', { auth: root, json: { name: 'crash' } }), 201, 'zone');
    const z = zone.zone_id as string;
    await ok(call(base0, 'POST', `/v1/zones/${z}/issuers`, { auth: root, json: { issuer: SUBJECT_ISSUER, jwks: { keys: [jwk] } } }), 201, 'issuer');
    const app = await ok(call(base0, 'POST', `/v1/zones/${z}/applications`, { auth: root, json: { name: 'loadgen' } }), 201, 'application');
    const resource = await ok(
      call(base0, 'POST', `/v1/zones/${z}/resources`, { auth: root, json: { identifier: 'resource://payments', scopes: ['payments:read', 'payments:write', 'payments:admin'] } }),
      201,
      'resource',
    );
    await ok(
      call(base0, 'POST', `/v1/zones/${z}/grants`, { auth: root, json: { application_id: app.application_id, resource_id: resource.resource_id, scopes: ['payments:read', 'payments:write'] } }),
      201,
      'grant',
    );
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(app.application_id)}:${encodeURIComponent(app.client_secret)}`).toString('base64')}`;
    const now = Math.floor(Date.now() / 1000);
    const subjects = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((sub) =>
        new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256', kid: 'crash-1', typ: 'JWT' }).setIssuer(SUBJECT_ISSUER).setIssuedAt(now).setExpirationTime(now + 900).sign(privateKey),
      ),
    );

    const outcomes: Outcome[] = [];
    const exchange = (base: string, requestId: string, subjectToken: string, scope: string) =>
      call(base, 'POST', '/v1/sts/token', {
        auth: basic,
        headers: { 'x-request-id': requestId },
        form: { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TYPE, resource: 'resource://payments', scope },
      });

    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // --- load, then SIGKILL mid-load ---
      const base = proc.url;
      let ok200 = 0;
      let killed = false;
      const loop = async (i: number) => {
        for (let j = 0; !killed; j++) {
          const requestId = `crash-${cycle}-${i}-${j}`;
          const intent = j % 4 === 3 ? 'deny' : 'allow';
          const scope = intent === 'deny' ? 'payments:read payments:admin' : j % 2 === 0 ? 'payments:read' : 'payments:read payments:write';
          try {
            const res = await exchange(base, requestId, subjects[(i + j) % subjects.length]!, scope);
            outcomes.push({ requestId, cycle, intent, status: res.status, body: res.body });
            if (res.status === 200) ok200++;
          } catch {
            // Connection reset by the kill (or a timeout): the outcome is unknown to the client.
            outcomes.push({ requestId, cycle, intent, status: 'network_error' });
            if (killed) return;
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      };
      const loops = Array.from({ length: LOOPS }, (_, i) => loop(i));
      const deadline = Date.now() + 30_000;
      try {
        while (ok200 < OK_BEFORE_KILL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      } finally {
        killed = true;
      }
      expect(ok200, 'mandates issued before the kill').toBeGreaterThanOrEqual(OK_BEFORE_KILL);
      process.kill(proc.pid, 'SIGKILL');
      const exit = await proc.exited;
      expect(exit.signal).toBe('SIGKILL');
      await Promise.all(loops);
      // Mid-load: requests were in flight when the process died.
      expect(outcomes.filter((o) => o.cycle === cycle && o.status === 'network_error').length).toBeGreaterThan(0);

      // --- restart on the same data dir ---
      proc = await startWritProcess({ dataDir, env });
      procs.push(proc);
      await verify(proc, cycle);

      if (cycle < CYCLES) {
        // A clean stop saves the projection checkpoints: the next crash then restarts from a checkpoint plus the
        // events after it, instead of a fold of the whole ledger.
        await proc.stop();
        expect((await proc.exited).code).toBe(0);
        proc = await startWritProcess({ dataDir, env });
        procs.push(proc);
      }
    }

    async function verify(p: WritProcess, cycle: number) {
      const base = p.url;
      const ready = await call(base, 'GET', '/v1/health/ready');
      expect(ready.status, ready.text).toBe(200);
      const detailed = await ok(call(base, 'GET', '/v1/health/detailed', { auth: root }), 200, 'health/detailed');
      expect(detailed.status).toBe('ready');
      expect(BigInt(detailed.ledger.head_position)).toBeGreaterThan(0n);

      // No exchange answered anything else than 200/403 (or lost its connection at the kill).
      const statuses = new Map<string, number>();
      for (const o of outcomes) statuses.set(String(o.status), (statuses.get(String(o.status)) ?? 0) + 1);
      const unexpected = outcomes.filter((o) => o.status !== 200 && o.status !== 403 && o.status !== 'network_error');
      expect(unexpected.map((o) => `${o.requestId} ${o.status} ${JSON.stringify(o.body).slice(0, 200)}`)).toEqual([]);
      for (const o of outcomes) {
        if (o.status === 200) expect(o.intent, o.requestId).toBe('allow');
        if (o.status === 403) expect(o.intent, o.requestId).toBe('deny');
      }

      // Every 200: a recorded allow with the JWT's jti, its session, and an active mandate.
      const issued = outcomes.filter((o) => o.status === 200);
      const denied = outcomes.filter((o) => o.status === 403);
      const problems: string[] = [];
      await pool(issued, 8, async (o) => {
        const token = o.body.access_token as string;
        const header = decodeProtectedHeader(token);
        const claims = decodeJwt(token);
        if (header.typ !== 'at+jwt') problems.push(`${o.requestId}: typ ${String(header.typ)}`);
        if (claims.request_id !== o.requestId) problems.push(`${o.requestId}: request_id claim ${String(claims.request_id)}`);
        if (claims.zone_id !== z) problems.push(`${o.requestId}: zone_id claim ${String(claims.zone_id)}`);
        if (o.body.request_id !== o.requestId) problems.push(`${o.requestId}: body request_id ${o.body.request_id}`);
        const trace = await call(base, 'GET', `/v1/zones/${z}/audit/decisions/${o.requestId}`, { auth: root });
        if (trace.status !== 200) problems.push(`${o.requestId}: 200 to the client, audit says ${trace.status} ${trace.text.slice(0, 200)}`);
        else {
          if (trace.body.decision !== 'allow') problems.push(`${o.requestId}: recorded ${trace.body.decision}`);
          if (trace.body.mandate?.jti !== claims.jti) problems.push(`${o.requestId}: recorded jti ${trace.body.mandate?.jti} != issued ${String(claims.jti)}`);
          if (trace.body.session_id !== claims.sid) problems.push(`${o.requestId}: recorded session ${trace.body.session_id} != sid ${String(claims.sid)}`);
        }
        const session = await call(base, 'GET', `/v1/zones/${z}/sessions/${String(claims.sid)}`, { auth: root });
        if (session.status !== 200) problems.push(`${o.requestId}: session ${String(claims.sid)} -> ${session.status}`);
        const intro = await call(base, 'POST', '/v1/sts/introspect', { auth: basic, form: { token } });
        if (intro.status !== 200 || intro.body.active !== true || intro.body.jti !== claims.jti) {
          problems.push(`${o.requestId}: introspection ${intro.status} ${intro.text.slice(0, 200)}`);
        }
      });
      await pool(denied, 8, async (o) => {
        const trace = await call(base, 'GET', `/v1/zones/${z}/audit/decisions/${o.requestId}`, { auth: root });
        if (trace.status !== 200 || trace.body.decision !== 'deny' || trace.body.mandate !== undefined) {
          problems.push(`${o.requestId}: 403 to the client, audit says ${trace.status} ${trace.text.slice(0, 200)}`);
        }
      });
      expect(problems).toEqual([]);

      // Every recorded decision: one a client sent; allow jtis unique; the ledger export agrees with the read model.
      const listed: any[] = [];
      for (let cursor: string | null = null; ; ) {
        const page: any = await ok(call(base, 'GET', `/v1/zones/${z}/audit/decisions?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: root }), 200, 'decisions');
        listed.push(...page.items);
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      const sent = new Map(outcomes.map((o) => [o.requestId, o]));
      const strangers = listed.filter((d) => !sent.has(d.request_id));
      expect(strangers.map((d) => d.request_id)).toEqual([]);
      const jtis = listed.filter((d) => d.decision === 'allow').map((d) => d.mandate?.jti);
      expect(jtis.every((j) => typeof j === 'string')).toBe(true);
      expect(new Set(jtis).size).toBe(jtis.length);
      const answeredIds = new Set(outcomes.filter((o) => o.status === 200 || o.status === 403).map((o) => o.requestId));
      const listedIds = new Set(listed.map((d) => d.request_id as string));
      for (const id of answeredIds) expect(listedIds.has(id), id).toBe(true);
      // Recorded but never answered: in flight at a kill. Their decision matches what was asked.
      const inFlight = listed.filter((d) => !answeredIds.has(d.request_id));
      for (const d of inFlight) {
        expect(sent.get(d.request_id)!.status, d.request_id).toBe('network_error');
        expect(d.decision).toBe(sent.get(d.request_id)!.intent);
        // Decision and session are committed together: an allow the crash cut off still has its session.
        if (d.decision === 'allow') {
          const session = await call(base, 'GET', `/v1/zones/${z}/sessions/${d.session_id}`, { auth: root });
          expect(session.status, `${d.request_id}: session ${d.session_id} ${session.text}`).toBe(200);
        } else expect(d.mandate).toBeNull();
      }

      const exported = await call(base, 'GET', `/v1/zones/${z}/audit/export`, { auth: root });
      expect(exported.status).toBe(200);
      const verified = await verifyExport([exported.text]);
      expect(verified, JSON.stringify(verified)).toMatchObject({ ok: true, count: listed.length });
      const exportedIds = new Set(
        exported.text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l))
          .filter((r) => r.type === 'decision')
          .map((r) => r.request_id as string),
      );
      expect([...exportedIds].sort()).toEqual([...listedIds].sort());

      const state = await ok(call(base, 'GET', `/v1/zones/${z}/state`, { auth: root }), 200, 'state');
      expect(state.grants).toHaveLength(1);

      // A request id acknowledged before the crash stays used; new exchanges are served.
      const head = async () => (await ok(call(base, 'GET', '/v1/health/detailed', { auth: root }), 200, 'health/detailed')).ledger.head_position as string;
      const headBefore = await head();
      const reused = issued.find((o) => o.cycle === cycle)!;
      const again = await exchange(base, reused.requestId, subjects[0]!, 'payments:read');
      expect(again.status, again.text).toBe(409);
      expect(again.body.error).toBe('duplicate_request_id');
      expect(await head(), 'a 409 appends nothing').toBe(headBefore);
      const fresh = await exchange(base, `after-restart-${cycle}`, subjects[0]!, 'payments:read');
      expect(fresh.status, fresh.text).toBe(200);
      outcomes.push({ requestId: `after-restart-${cycle}`, cycle, intent: 'allow', status: 200, body: fresh.body });

      console.info(
        `crash cycle ${cycle}: ${outcomes.length} exchanges (${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}), ` +
          `${listed.length} decisions recorded, ${inFlight.length} recorded while in flight at the kill`,
      );
    }
  }, 90_000);
});
