/**
 * Audit benchmark, on an embedded SQLite ledger of at least 1,000,000 events (zone, policy, applications,
 * resources, grants issued and revoked, sessions, and decisions with correct input digests):
 *
 * - explain latency p50/p99 over a sample of 1,000 decisions picked at random across the whole ledger
 *   (rebuild as of each decision's position, digest, re-evaluation with opa-wasm);
 * - export throughput (records/s) and peak RSS, NDJSON and CSV, each measured in a fresh child process so
 *   that the figure is the export's own footprint, not the seeding's. RSS is sampled every 10 ms.
 *
 * Goals: explain p50 <= 5 ms, p99 <= 20 ms; export >= 100,000 records/s under 250 MB RSS.
 *
 * `npx tsx bench/audit.ts [events]` prints one JSON object; `bench/run.ts` calls `benchAudit`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SqliteEventStore } from '../src/store/sqlite-event-store.js';
import type { EventStore, EventToAppend } from '../src/store/event-store.js';
import { streams } from '../src/domain/streams.js';
import { decodeEvent, type EventData } from '../src/domain/events.js';
import { GrantsModel } from '../src/projections/grants-model.js';
import { PolicyRegistry } from '../src/policy/policy-registry.js';
import { OpaWasmEngine } from '../src/policy/opa-wasm-engine.js';
import { loadDefaultBundle } from '../src/policy/default-policy.js';
import { buildPolicyInput, policyInputDigest } from '../src/decision/policy-input.js';
import { sha256Hex } from '../src/crypto/secret-hash.js';
import { explainDecision } from '../src/audit/explain.js';
import type { AuditContext, AuditReadModels } from '../src/audit/audit-ports.js';
import { exportChunks, type ExportFormat } from '../src/audit/export.js';
import { zoneDecisions } from '../src/audit/decision-scan.js';

const ZONE = 'zone_bench';
const APPS = 100;
const RESOURCES = 10;
const USERS = 1_000;
const DECISIONS_PER_SESSION = 10;
const BATCH = 2_000;
const SCOPES = ['s:read', 's:write'];

/** Options of {@link benchAudit}. */
export interface BenchAuditOptions {
  /** Ledger size to reach at least (default 1,000,000). */
  events?: number;
  /** Decisions explained (default 1,000). */
  sample?: number;
}

interface Grant {
  grant_id: string;
  scopes: string[];
  user_id: string | null;
  active: boolean;
}

/** Seeds the ledger through the store's own append path (group commit), keeping just enough state to compute each decision's true input. */
export async function seed(store: EventStore, target: number): Promise<{ requestIds: string[]; events: number }> {
  let events = 0;
  let head = -1n;
  const append = async (batch: Array<[string, EventToAppend[]]>) => {
    const results = await Promise.all(batch.map(([stream, evs]) => store.appendToStream(stream, evs, { expectedRevision: 'any' })));
    for (const [, evs] of batch) events += evs.length;
    head = results.reduce((m, r) => (r.position > m ? r.position : m), head);
  };
  const sessionStart = new Map<string, string>();
  const at = new Date(Date.UTC(2025, 0, 1));
  const time = () => new Date(at.getTime() + events).toISOString();

  const bundle = await loadDefaultBundle();
  const digest = sha256Hex(bundle);
  await append([[streams.zone(ZONE), [{ type: 'ZoneCreated', data: { zone_id: ZONE, name: 'bench', created_at: time() } }]]]);
  await append([
    [
      streams.policySet(ZONE),
      [
        { type: 'PolicyVersionCreated', data: { zone_id: ZONE, version: 1, digest, bundle_base64: Buffer.from(bundle).toString('base64'), entrypoints: ['writ/authz/result'], origin: 'builtin', created_at: time() } },
        { type: 'PolicyVersionActivated', data: { zone_id: ZONE, version: 1, previous_version: null, activated_at: time() } },
      ],
    ],
  ]);
  const salt = 'bench-salt-0123456789';
  const apps: Array<[string, EventToAppend[]]> = [];
  for (let a = 0; a < APPS; a++) {
    apps.push([streams.application(`app_${a}`), [{ type: 'ApplicationRegistered', data: { zone_id: ZONE, application_id: `app_${a}`, name: `app ${a}`, secret_salt: salt, secret_hash: 'a'.repeat(64), registered_at: time() } }]]);
  }
  for (let r = 0; r < RESOURCES; r++) {
    apps.push([streams.resource(`res_${r}`), [{ type: 'ResourceRegistered', data: { zone_id: ZONE, resource_id: `res_${r}`, identifier: `resource://bench-${r}`, scopes: SCOPES, upstream_url: null, registered_at: time() } }]]);
  }
  await append(apps);

  // Grants: per (app, resource) one any-user read grant and a few per-user grants; a tenth revoked later on.
  const byTriple = new Map<string, Grant[]>();
  const issue: Array<[string, EventToAppend[]]> = [];
  let g = 0;
  for (let a = 0; a < APPS; a++) {
    for (let r = 0; r < RESOURCES; r++) {
      const list: Grant[] = [];
      for (let k = 0; k < 3; k++) {
        const grant_id = `grt_${g++}`;
        const user_id = k === 0 ? null : `user-${(a * 31 + r * 7 + k) % USERS}`;
        const scopes = k === 2 ? SCOPES : ['s:read'];
        list.push({ grant_id, scopes, user_id, active: true });
        issue.push([streams.grant(grant_id), [{ type: 'GrantIssued', data: { zone_id: ZONE, grant_id, application_id: `app_${a}`, resource_id: `res_${r}`, scopes, user_id, issued_at: time() } }]]);
      }
      byTriple.set(`${a}/${r}`, list);
    }
  }
  await append(issue);

  const requestIds: string[] = [];
  let n = 0;
  let revokedUpTo = 0;
  const allGrants = [...byTriple.values()].flat();
  while (events < target) {
    const batch: Array<[string, EventToAppend[]]> = [];
    // Every so often revoke a few grants, so that explains see revoked grants too.
    if (n > 0 && revokedUpTo < allGrants.length / 10) {
      for (let i = 0; i < 5 && revokedUpTo < allGrants.length / 10; i++) {
        const victim = allGrants[(revokedUpTo * 10 + 1) % allGrants.length]!;
        revokedUpTo++;
        if (!victim.active) continue;
        victim.active = false;
        batch.push([streams.grant(victim.grant_id), [{ type: 'GrantRevoked', data: { zone_id: ZONE, grant_id: victim.grant_id, revoked_at: time() } }]]);
      }
      await append(batch.splice(0));
    }
    // Decisions in a batch are all taken as of the ledger head before it: that is where "the read models stood".
    const P = head;
    for (let i = 0; i < BATCH && events + batch.length < target + BATCH; i++, n++) {
      const a = n % APPS;
      const r = Math.floor(n / APPS) % RESOURCES;
      const user = `user-${(n * 7919) % USERS}`;
      // One exchange in DECISIONS_PER_SESSION opens a session; the others continue one opened in the previous
      // batch (so it exists as of their position, as the STS requires of a continued session).
      const opened = n % DECISIONS_PER_SESSION === 0 || n < BATCH;
      const base = n - BATCH - ((n - BATCH) % DECISIONS_PER_SESSION);
      const sessionId = opened ? `ses_${n}` : `ses_${base}`;
      const requested = n % 5 === 4 ? ['s:write'] : ['s:read'];
      const grantsNow = byTriple.get(`${a}/${r}`)!.filter((x) => x.active && (x.user_id === null || x.user_id === user));
      const covered = new Set(grantsNow.flatMap((x) => x.scopes));
      const allow = requested.every((s) => covered.has(s));
      const occurred_at = time();
      const requestId = `req_bench_${n}`;
      const input = buildPolicyInput({
        zoneId: ZONE,
        requestId,
        application: { id: `app_${a}`, name: `app ${a}` },
        subject: { id: user, type: 'user' },
        actor: null,
        resource: { id: `res_${r}`, identifier: `resource://bench-${r}`, scopes: SCOPES },
        requestedScopes: requested,
        grants: grantsNow,
        // A session that does not exist as of the batch's position is proposed by the exchange, started now.
        session: { id: sessionId, status: 'active', started_at: opened ? occurred_at : sessionStart.get(sessionId) ?? occurred_at },
        time: occurred_at,
      });
      if (opened && allow) {
        sessionStart.set(sessionId, occurred_at);
        batch.push([streams.session(sessionId), [{ type: 'SessionStarted', data: { zone_id: ZONE, session_id: sessionId, application_id: `app_${a}`, subject_id: user, subject_type: 'user', started_at: occurred_at } }]]);
      }
      const data: EventData<'DecisionRecorded'> = {
        request_id: requestId,
        zone_id: ZONE,
        occurred_at,
        application_id: `app_${a}`,
        subject_id: user,
        subject_type: 'user',
        actor_id: null,
        session_id: sessionId,
        session_opened: opened && allow,
        resource: { id: `res_${r}`, identifier: `resource://bench-${r}` },
        requested_scopes: requested,
        granted_scopes: allow ? requested : [],
        decision: allow ? 'allow' : 'deny',
        determining_policies: ['writ.default.grants'],
        diagnostics: allow ? [] : [{ reason: 'scope_not_granted', scope: requested[0]!, message: 'no active grant covers this scope' }],
        policy_set_version: 1,
        policy_set_digest: digest,
        ledger_position: String(P),
        input_digest: policyInputDigest(input),
        grant_ids: grantsNow.map((x) => x.grant_id),
        mandate: allow ? { jti: `jti_${n}`, exp: new Date(Date.parse(occurred_at) + 300_000).toISOString() } : null,
      };
      batch.push([streams.decision(requestId), [{ type: 'DecisionRecorded', data: data as unknown as Record<string, unknown> }]]);
      requestIds.push(requestId);
    }
    await append(batch);
  }
  return { requestIds, events };
}
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

/** Explain a random sample of decisions; latencies in ms. */
async function benchExplain(store: EventStore, requestIds: string[], sample: number): Promise<Record<string, number>> {
  // The grants index explain uses, rebuilt from the ledger as the projection runner would.
  const grants = new GrantsModel();
  for await (const e of store.readAll()) {
    if (e.type === 'GrantIssued' || e.type === 'GrantRevoked') grants.apply(decodeEvent(e.type, e.data), e);
  }
  const bundleEvent = await (async () => {
    for await (const e of store.readStream(streams.policySet(ZONE), { maxCount: 1 })) return e.data as EventData<'PolicyVersionCreated'>;
    throw new Error('no policy version');
  })();
  const policies = new PolicyRegistry(new OpaWasmEngine(), async () => ({ digest: bundleEvent.digest, bundle: Buffer.from(bundleEvent.bundle_base64, 'base64') }));
  const ctx: AuditContext = { store, models: { grants } as unknown as AuditReadModels, policies };

  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = () => requestIds[Math.floor(rand() * requestIds.length)]!;
  for (let i = 0; i < 50; i++) await explainDecision(ctx, ZONE, pick()); // warm-up: policy load, JIT
  const times: number[] = [];
  let digestMatches = 0;
  let reevaluationMatches = 0;
  for (let i = 0; i < sample; i++) {
    const id = pick();
    const t0 = performance.now();
    const e = await explainDecision(ctx, ZONE, id);
    times.push(performance.now() - t0);
    if (e.input_digest_matches) digestMatches++;
    if (e.reevaluation.matches_recorded) reevaluationMatches++;
  }
  times.sort((a, b) => a - b);
  return {
    explain_sample: sample,
    explain_p50_ms: round(percentile(times, 50)),
    explain_p99_ms: round(percentile(times, 99)),
    explain_max_ms: round(times[times.length - 1]!),
    explain_input_digest_matches: digestMatches,
    explain_reevaluation_matches: reevaluationMatches,
  };
}

/** In this process: stream the zone's export to nowhere, sampling RSS. */
export async function exportOnly(path: string, format: ExportFormat): Promise<Record<string, number>> {
  const store = SqliteEventStore.open(path);
  // Baseline in the same process and moment: the bare ledger scan every export rides on.
  const s0 = performance.now();
  let scanned = 0;
  for await (const e of store.readAll()) if (e.type === 'DecisionRecorded') scanned++;
  const scanPerSecond = scanned / ((performance.now() - s0) / 1000);
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const rssBefore = process.memoryUsage.rss();
  const t0 = performance.now();
  let bytes = 0;
  let records = 0;
  const head = await store.headPosition();
  for await (const chunk of exportChunks(zoneDecisions(store, ZONE, {}, { upTo: head }), format)) {
    bytes += chunk.length;
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) records++;
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await store.close();
  // Lines minus the trailer (and the CSV header).
  const decisions = records - 1 - (format === 'csv' ? 1 : 0);
  return {
    [`export_${format}_records`]: decisions,
    [`export_${format}_records_per_s`]: Math.round(decisions / seconds),
    [`export_${format}_vs_bare_scan_ratio`]: round(decisions / seconds / scanPerSecond, 2),
    [`ledger_bare_scan_decisions_per_s_${format}_run`]: Math.round(scanPerSecond),
    [`export_${format}_mb_per_s`]: round(bytes / 1e6 / seconds, 1),
    [`export_${format}_peak_rss_mb`]: round(peak / 2 ** 20, 1),
    [`export_${format}_rss_before_mb`]: round(rssBefore / 2 ** 20, 1),
  };
}

/** Run {@link exportOnly} in a fresh Node process (tsx), so its RSS is the export's alone. */
function exportInChild(path: string, format: ExportFormat): Promise<Record<string, number>> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--export-only', path, format], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`export child exited with ${code}`))));
  });
}

/** Runs the audit benchmark on a temp ledger (removed afterwards) and returns its figures. */
export async function benchAudit(opts: BenchAuditOptions = {}): Promise<Record<string, number>> {
  const target = opts.events ?? 1_000_000;
  const sample = opts.sample ?? 1_000;
  const dir = mkdtempSync(join(tmpdir(), 'writ-bench-audit-'));
  const path = join(dir, 'ledger.db');
  try {
    const store = SqliteEventStore.open(path);
    const t0 = performance.now();
    const { requestIds, events } = await seed(store, target);
    const seedSeconds = (performance.now() - t0) / 1000;
    const explain = await benchExplain(store, requestIds, sample);
    await store.close();
    const ndjson = await exportInChild(path, 'ndjson');
    const csv = await exportInChild(path, 'csv');
    return {
      ledger_events: events,
      ledger_decisions: requestIds.length,
      seed_seconds: round(seedSeconds, 1),
      ...explain,
      ...ndjson,
      ...csv,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  if (args[0] === '--export-only') {
    exportOnly(args[1]!, args[2] as ExportFormat)
      .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
      .catch((err) => {
        console.error(err);
        process.exit(1);
      });
  } else {
    benchAudit({ ...(args[0] ? { events: Number(args[0]) } : {}) })
      .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
      .catch((err) => {
        console.error(err);
        process.exit(1);
      });
  }
}
