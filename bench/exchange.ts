/**
 * Token-exchange benchmark: durable exchanges/s and latency of a real, listening writ (SQLite ledger,
 * `synchronous=FULL`, group commit) on loopback, under 32 concurrent keep-alive clients, next to a Fastify
 * hello-world measured in the same run with the same load generator. The ratio exchange/hello-world says how
 * much of what the HTTP stack alone could do the STS keeps.
 *
 * Layout: writ (and, in turn, the hello-world app) run in this process; the load generator is a separate
 * child process (plain JS below, node:http with a keep-alive Agent), so on a 2-core box each side has a core.
 * The seed goes through the admin API: a zone (built-in default policy), a trusted issuer, an application, a
 * resource, an any-user grant. Subject tokens are pre-signed (ES256), a pool of distinct users cycled through
 * by the clients, so after the first pass their verification is served from the STS's cache, as for a
 * workload that reuses its token until it expires. Every exchange opens a new session: two events per
 * exchange (SessionStarted + DecisionRecorded), both fsynced before the answer.
 *
 *   npx tsx bench/exchange.ts                       prints one JSON object
 *   node --cpu-prof --cpu-prof-dir=bench-results --import tsx bench/exchange.ts    + a V8 CPU profile
 *
 * Env: WRIT_BENCH_SECONDS (default 10), WRIT_BENCH_CONCURRENCY (32), WRIT_BENCH_TOKENS (1000),
 * WRIT_BENCH_PROFILE=<file.cpuprofile> (a V8 CPU profile of the server during the measured exchange phase only,
 * without the set-up and the hello-world run that `--cpu-prof` also records).
 */
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { createWrit } from '../src/main.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ROOT = 'bench-root-token-0123456789abcdef';

/** Result of one load-generator run. */
interface LoadResult {
  requests: number;
  ok: number;
  statuses: Record<string, number>;
  seconds: number;
  per_sec: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * The load generator, run with `node -e` in a child process. Reads its job from WRIT_LOADGEN (JSON): target,
 * requests to cycle through, concurrency, warm-up and measured seconds. Each client loops: send, wait for
 * the full response, record the latency, send the next. Prints one JSON LoadResult on stdout.
 */
const LOAD_GENERATOR = String.raw`
const http = require('node:http');
const fs = require('node:fs');
const job = JSON.parse(fs.readFileSync(process.env.WRIT_LOADGEN, 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
const requests = job.requests.map((r) => ({ ...r, body: r.body === undefined ? undefined : Buffer.from(r.body) }));
let next = 0;
let measuring = false;
let stop = false;
const latencies = [];
const statuses = {};
let count = 0;
let ok = 0;
function once(r) {
  return new Promise((resolve) => {
    const headers = { ...r.headers };
    if (r.body) headers['content-length'] = r.body.length;
    const started = process.hrtime.bigint();
    const req = http.request({ host: job.host, port: job.port, method: r.method, path: r.path, headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        if (measuring) {
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          count++;
          statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
          if (res.statusCode === job.expect) ok++;
        }
        resolve();
      });
    });
    req.on('error', (e) => { if (measuring) { count++; statuses.error = (statuses.error || 0) + 1; } resolve(); });
    if (r.body) req.write(r.body);
    req.end();
  });
}
async function client() {
  while (!stop) await once(requests[next++ % requests.length]);
}
(async () => {
  const clients = Array.from({ length: job.concurrency }, client);
  await new Promise((r) => setTimeout(r, job.warmupSeconds * 1000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, job.seconds * 1000));
  measuring = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(clients);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0;
  process.stdout.write(JSON.stringify({ requests: count, ok, statuses, seconds, per_sec: ok / seconds, p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: latencies[latencies.length - 1] || 0 }));
})();
`;

interface LoadJob {
  host: string;
  port: number;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** Status counted as success. */
  expect: number;
  requests: Array<{ method: string; path: string; headers: Record<string, string>; body?: string }>;
}

/** Run the load generator in its own process and return what it measured. */
async function runLoad(job: LoadJob, dir: string): Promise<LoadResult> {
  const jobFile = join(dir, `job-${Date.now()}.json`);
  await writeFile(jobFile, JSON.stringify(job));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LOAD_GENERATOR], { env: { ...process.env, WRIT_LOADGEN: jobFile, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch (err) {
        reject(new Error(`load generator printed ${out.slice(0, 200)}`, { cause: err }));
      }
    });
  });
}

/** Measure exchanges and the hello-world baseline; returns figures (per second, milliseconds, ratios). */
export async function benchExchange(): Promise<Record<string, number>> {
  const seconds = Number(process.env.WRIT_BENCH_SECONDS ?? 10);
  const concurrency = Number(process.env.WRIT_BENCH_CONCURRENCY ?? 32);
  const tokenCount = Number(process.env.WRIT_BENCH_TOKENS ?? 1000);
  const warmupSeconds = Math.min(3, Math.max(1, seconds / 4));
  const dir = await mkdtemp(join(tmpdir(), 'writ-bench-exchange-'));
  try {
    // --- writ, as `npm start` wires it, minus request logging (which would measure pino, not the STS).
    const config = loadConfig({
      WRIT_DATA_DIR: join(dir, 'data'),
      WRIT_ADMIN_TOKEN: ROOT,
      WRIT_PORT: '0',
      WRIT_ISSUER: 'http://127.0.0.1',
      WRIT_RATE_LIMIT: '1000000',
      WRIT_LOG_LEVEL: 'warn',
    });
    const writ = await createWrit(config);
    const app = await buildApp(writ, { logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;

    const admin = async (url: string, body: unknown) => {
      const res = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ROOT}` }, payload: body as object });
      if (res.statusCode !== 201) throw new Error(`seed ${url}: ${res.statusCode} ${res.body}`);
      return res.json() as Record<string, string>;
    };
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-idp-1', alg: 'ES256', use: 'sig' };
    const zone = await admin('/v1/zones', { name: 'bench' });
    const z = zone.zone_id!;
    await admin(`/v1/zones/${z}/issuers`, { issuer: 'https://idp.bench.example', jwks: { keys: [jwk] } });
    const application = await admin(`/v1/zones/${z}/applications`, { name: 'bench-app' });
    const resource = await admin(`/v1/zones/${z}/resources`, { identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] });
    await admin(`/v1/zones/${z}/grants`, { application_id: application.application_id, resource_id: resource.resource_id, scopes: ['payments:read', 'payments:write'] });

    const now = Math.floor(Date.now() / 1000);
    const basic = `Basic ${Buffer.from(`${application.application_id}:${application.client_secret}`).toString('base64')}`;
    const requests = [];
    for (let i = 0; i < tokenCount; i++) {
      const token = await new SignJWT({ iss: 'https://idp.bench.example', sub: `user-${i}`, iat: now, exp: now + 3600 })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-idp-1', typ: 'JWT' })
        .sign(privateKey);
      const body = new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: token,
        subject_token_type: JWT_TYPE,
        resource: 'resource://payments',
        scope: 'payments:read payments:write',
      }).toString();
      requests.push({ method: 'POST', path: '/v1/sts/token', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body });
    }
    // One exchange by hand: the bench measures successes only, so make sure they are successes.
    const probe = await app.inject({ method: 'POST', url: '/v1/sts/token', headers: requests[0]!.headers, payload: requests[0]!.body });
    if (probe.statusCode !== 200) throw new Error(`exchange probe: ${probe.statusCode} ${probe.body}`);

    const headBefore = await writ.store.headPosition();
    const profiler = process.env.WRIT_BENCH_PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const exchange = await runLoad({ host: '127.0.0.1', port, concurrency, warmupSeconds, seconds, expect: 200, requests }, dir);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(process.env.WRIT_BENCH_PROFILE!, JSON.stringify(profile));
      profiler.disconnect();
    }
    const headAfter = await writ.store.headPosition();
    await app.close();
    await writ.close();

    // --- The baseline: Fastify hello-world in this same process, same generator, same concurrency.
    const hello = Fastify({ logger: false });
    hello.get('/', async () => ({ hello: 'world' }));
    await hello.listen({ host: '127.0.0.1', port: 0 });
    const helloPort = (hello.server.address() as { port: number }).port;
    const baseline = await runLoad(
      { host: '127.0.0.1', port: helloPort, concurrency, warmupSeconds, seconds, expect: 200, requests: [{ method: 'GET', path: '/', headers: {} }] },
      dir,
    );
    await hello.close();

    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      exchanges_per_sec: Math.round(exchange.per_sec),
      exchange_p50_ms: r2(exchange.p50_ms),
      exchange_p90_ms: r2(exchange.p90_ms),
      exchange_p99_ms: r2(exchange.p99_ms),
      exchange_max_ms: r2(exchange.max_ms),
      exchange_non_200: exchange.requests - exchange.ok,
      hello_world_per_sec: Math.round(baseline.per_sec),
      hello_world_p50_ms: r2(baseline.p50_ms),
      hello_world_p99_ms: r2(baseline.p99_ms),
      ratio_exchange_over_hello_world: r2(exchange.per_sec / baseline.per_sec),
      // Two events (SessionStarted + DecisionRecorded) per exchange, warm-up included.
      ledger_events_appended: Number(headAfter - headBefore),
      concurrency,
      seconds,
      subject_tokens: tokenCount,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchExchange()
    .then((figures) => {
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      // Open handles (pino transports, timers) must not keep a finished bench alive.
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
