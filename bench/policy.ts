/**
 * Policy evaluation throughput: the built-in default policy evaluated in-process through opa-wasm (what the
 * STS does per token exchange) versus the same Rego answered by an `opa run --server` sidecar over HTTP on
 * loopback, measured in the same run on the same machine. Run: `npx tsx bench/policy.ts` (prints JSON).
 * On a small box the HTTP client shares the CPU with opa; both are on loopback, so the sidecar figure is
 * a best case (no network).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadDefaultBundle } from '../src/policy/default-policy.js';
import { sha256Hex } from '../src/policy/opa-bundle.js';
import { OpaWasmEngine } from '../src/policy/opa-wasm-engine.js';
import type { PolicyInput } from '../src/policy/policy-engine.js';
import { findOpaCli } from '../src/policy/rego-compiler.js';

/** Knobs of {@link benchPolicy}; defaults suit a 2-core CI box. */
export interface PolicyBenchOptions {
  /** Measured seconds per side (after warm-up). */
  seconds?: number;
  /** Concurrent in-flight HTTP requests against opa. */
  concurrency?: number;
}

const DEFAULT_POLICY_REGO = fileURLToPath(new URL('../policy/default/authz.rego', import.meta.url));

/** A realistic decision: three grants, one of them user-scoped, two scopes requested, all granted. */
const INPUT: PolicyInput = {
  schema_version: '1',
  zone_id: 'zone-bench',
  request_id: 'req-bench',
  application: { id: 'app-bench', name: 'billing' },
  subject: { id: 'user-42', type: 'user', claims: {} },
  actor: null,
  resource: {
    id: 'res-payments',
    identifier: 'resource://payments',
    scopes: ['payments:read', 'payments:write', 'payments:refund', 'payments:export'],
  },
  requested_scopes: ['payments:read', 'payments:write'],
  grants: [
    { grant_id: 'grant-1', scopes: ['payments:read'], user_id: null },
    { grant_id: 'grant-2', scopes: ['payments:write', 'payments:refund'], user_id: 'user-42' },
    { grant_id: 'grant-3', scopes: ['payments:export'], user_id: null },
  ],
  session: { id: 'sess-bench', status: 'active', started_at: '2025-01-01T00:00:00Z' },
  context: { time: '2025-01-01T00:05:00Z' },
};

/**
 * Measure both sides. Returns evaluations/s in-process, decisions/s over HTTP, and their ratio; the opa
 * process is started here and killed by pid before returning, whatever happens.
 */
export async function benchPolicy(options: PolicyBenchOptions = {}): Promise<Record<string, number>> {
  const seconds = options.seconds ?? 3;
  const concurrency = options.concurrency ?? 32;

  // In-process: opa-wasm, synchronous evaluate.
  const bundle = await loadDefaultBundle();
  const policy = await new OpaWasmEngine().load({ zoneId: 'zone-bench', version: 1, digest: sha256Hex(bundle), bundle });
  const expected = policy.evaluate(INPUT);
  if (expected.decision !== 'allow') throw new Error(`bench input should be allowed: ${JSON.stringify(expected)}`);
  for (let i = 0; i < 5_000; i++) policy.evaluate(INPUT);
  const wasm = timeLoop(seconds, () => policy.evaluate(INPUT));
  // The SDK call alone (JSON in, wasm eval, JSON out), without writ's result validation and grant ceiling.
  const raw = timeLoop(Math.max(1, seconds / 3), () => policy.evaluateRaw(INPUT));

  // Sidecar: opa run --server on a loopback port, same Rego, keep-alive fetch with N requests in flight.
  const opa = await findOpaCli();
  const port = await freePort();
  const child = spawn(
    opa,
    ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', '--skip-version-check', DEFAULT_POLICY_REGO],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, child, () => stderr);
    const path = '/v1/data/writ/authz/result';
    const body = Buffer.from(JSON.stringify({ input: INPUT }));
    const check = (text: string): void => {
      const json = JSON.parse(text) as { result?: { decision?: string } };
      if (json.result?.decision !== 'allow') throw new Error(`opa answered ${text.slice(0, 500)}`);
    };
    // Two clients: node:http with a keep-alive agent (the cheaper client, so the sidecar is not
    // under-measured on a small box) and fetch (undici, keep-alive by default), which costs more CPU here.
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const viaHttp = () => post(agent, port, path, body).then(check);
    const viaFetch = () =>
      fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
        .then((r) => r.text())
        .then(check);

    const sequentialStart = performance.now();
    for (let i = 0; i < 500; i++) await viaHttp();
    const sequentialUs = ((performance.now() - sequentialStart) * 1000) / 500;
    const http = await timeConcurrent(seconds, concurrency, viaHttp);
    for (let i = 0; i < 200; i++) await viaFetch();
    const fetched = await timeConcurrent(seconds, concurrency, viaFetch);
    agent.destroy();

    return {
      wasm_evaluations_per_sec: Math.round(wasm.perSec),
      wasm_mean_eval_us: round2(1e6 / wasm.perSec),
      wasm_sdk_only_evaluations_per_sec: Math.round(raw.perSec),
      opa_http_decisions_per_sec: Math.round(http.perSec),
      opa_http_fetch_decisions_per_sec: Math.round(fetched.perSec),
      opa_http_sequential_mean_latency_us: Math.round(sequentialUs),
      opa_http_concurrency: concurrency,
      ratio_wasm_over_http: round2(wasm.perSec / http.perSec),
      ratio_wasm_over_http_fetch: round2(wasm.perSec / fetched.perSec),
      seconds_per_side: seconds,
    };
  } finally {
    await stop(child);
  }
}

function timeLoop(seconds: number, fn: () => unknown): { perSec: number } {
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 1_000; i++) fn();
    n += 1_000;
  }
  return { perSec: n / ((performance.now() - start) / 1000) };
}

async function timeConcurrent(seconds: number, concurrency: number, fn: () => Promise<void>): Promise<{ perSec: number }> {
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await fn();
        n++;
      }
    }),
  );
  return { perSec: n / ((performance.now() - start) / 1000) };
}

function post(agent: Agent, port: number, path: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.byteLength },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`opa exited (${child.exitCode}): ${stderr()}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`opa did not become healthy: ${stderr()}`);
}

/** Stop the opa we started, by its pid: SIGTERM, then SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, 3_000);
  await exited;
  clearTimeout(timer);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchPolicy()
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
