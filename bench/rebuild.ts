/**
 * Projection rebuild benchmark: how fast `writ projections rebuild` folds a large ledger into the read models.
 *
 * The ledger is a SQLite file (the embedded default) holding realistic writ events — mostly DecisionRecorded,
 * plus grants, sessions and their revocations over a few zones — bulk-loaded straight into the events table
 * (load speed is not what is measured) and cached under .bench/ for re-runs. Every event is valid: the rebuild
 * would stop on the first one that is not.
 *
 * Figures: rebuild events/s with the compiled decoder (what writ uses) and with zod's decodeEvent (the
 * baseline), the ledger's raw readAll rate (the ceiling), per-event decode costs, checkpoint save/restore
 * times and sizes, and the heap the read models take.
 *
 *   npx tsx --expose-gc bench/rebuild.ts [events]     (default 1,000,000; prints one JSON object)
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { decodeEvent, makeEvent, type EventType } from '../src/domain/events.js';
import { streams } from '../src/domain/streams.js';
import type { RecordedEvent } from '../src/store/event-store.js';
import { SqliteEventStore } from '../src/store/sqlite-event-store.js';
import { SqliteCheckpointStore, type Checkpoint, type CheckpointStore } from '../src/projections/checkpoint-store.js';
import { fastDecodeEvent, type EventDecoder } from '../src/projections/event-decoder.js';
import { ProjectionRunner } from '../src/projections/projection-runner.js';
import { createReadModels } from '../src/projections/read-models.js';

/** Options of {@link benchRebuild}. */
export interface BenchRebuildOptions {
  /** Events in the ledger (default 1,000,000). */
  events?: number;
  /** Where the cached ledger lives (default .bench/ in the working directory). */
  dir?: string;
  /** Rounds of each rebuild (default 2; the best is kept). */
  rounds?: number;
}

const GENERATOR_VERSION = 1;

/** Runs the benchmark and returns its figures (rates per second, times in ms, sizes in MiB). */
export async function benchRebuild(opts: BenchRebuildOptions = {}): Promise<Record<string, number>> {
  const events = opts.events ?? 1_000_000;
  const dir = opts.dir ?? '.bench';
  const rounds = Math.max(1, opts.rounds ?? 2);
  mkdirSync(dir, { recursive: true });
  const ledgerPath = join(dir, `rebuild-ledger-${events}-v${GENERATOR_VERSION}.db`);
  const started = performance.now();
  const mix = await ensureLedger(ledgerPath, events);
  const setupMs = performance.now() - started;

  const store = SqliteEventStore.open(ledgerPath);
  const checkpointPath = join(dir, `rebuild-checkpoints-${process.pid}.db`);
  try {
    const read = await readAllRate(store);
    const decode = decodeCosts();
    const foldOnly = await foldOnlyRate(store);

    // The machine may be shared: alternate the two decoders and keep each one's best round.
    let fast: RebuildFigures | undefined;
    let viaZod: RebuildFigures | undefined;
    for (let round = 0; round < rounds; round++) {
      viaZod = best(viaZod, await rebuildOnce(store, decodeEvent, undefined));
      fast = best(fast, await rebuildOnce(store, fastDecodeEvent, checkpointPath));
    }
    if (!fast || !viaZod) throw new Error('no rounds');

    // Restart from the checkpoint just saved: what a server start costs instead of a rebuild.
    const restore = await restoreOnce(store, checkpointPath);
    return {
      ledger_is_sqlite: 1,
      ledger_events: events,
      ledger_decisions: mix.decisions,
      ledger_grant_events: mix.grants,
      ledger_session_events: mix.sessions,
      ledger_mib: mib(statSync(ledgerPath).size),
      ledger_setup_ms: Math.round(setupMs),
      read_all_events_per_s: Math.round(read.perSecond),
      read_all_events_per_cpu_s: Math.round(read.perCpuSecond),
      decode_decision_zod_us: round(decode.zodUs, 3),
      decode_decision_compiled_us: round(decode.compiledUs, 3),
      decode_speedup_ratio: round(decode.zodUs / decode.compiledUs, 2),
      fold_only_events_per_s: Math.round(foldOnly.perSecond),
      fold_only_zod_events_per_s: Math.round(foldOnly.zodPerSecond),
      rebuild_events_per_s: Math.round(fast.foldPerSecond),
      rebuild_events_per_cpu_s: Math.round(fast.foldPerCpuSecond),
      rebuild_zod_decoder_events_per_s: Math.round(viaZod.foldPerSecond),
      rebuild_zod_decoder_events_per_cpu_s: Math.round(viaZod.foldPerCpuSecond),
      rebuild_speedup_vs_zod_ratio: round(fast.foldPerCpuSecond / viaZod.foldPerCpuSecond, 2),
      rebuild_share_of_read_all_ratio: round(fast.foldPerCpuSecond / read.perCpuSecond, 2),
      rebuild_fold_ms: Math.round(fast.foldMs),
      rebuild_checkpoint_save_ms: Math.round(fast.saveMs),
      rebuild_total_ms: Math.round(fast.totalMs),
      checkpoint_mib: mib(statSync(checkpointPath).size),
      read_models_heap_mib: round(fast.heapMib, 1),
      read_models_heap_bytes_per_event: Math.round((fast.heapMib * 2 ** 20) / events),
      restart_restore_ms: Math.round(restore.restoreMs),
      restart_restore_speedup_ratio: round(fast.totalMs / restore.restoreMs, 1),
      audit_list_full_scan_ms: round(restore.fullScanMs, 2),
    };
  } finally {
    await store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(checkpointPath + suffix, { force: true });
  }
}

function best(a: RebuildFigures | undefined, b: RebuildFigures): RebuildFigures {
  return a && a.foldPerCpuSecond >= b.foldPerCpuSecond ? a : b;
}

interface RebuildFigures {
  foldMs: number;
  foldPerCpuSecond: number;
  saveMs: number;
  totalMs: number;
  foldPerSecond: number;
  heapMib: number;
}

async function rebuildOnce(store: SqliteEventStore, decode: EventDecoder, checkpointPath: string | undefined): Promise<RebuildFigures> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const models = createReadModels();
  const inner = checkpointPath ? SqliteCheckpointStore.open(checkpointPath) : undefined;
  let saveMs = 0;
  // Times the final checkpoint (snapshot serialization + write) apart from the fold.
  const checkpoints: CheckpointStore | undefined = inner && {
    load: (name) => inner.load(name),
    clear: () => inner.clear(),
    close: () => inner.close(),
    async save(list: readonly Checkpoint[]) {
      const t = performance.now();
      await inner.save(list);
      saveMs += performance.now() - t;
    },
  };
  const runner = new ProjectionRunner({ store, models: models.all, checkpoints, decode });
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let foldEnd = 0;
  let foldCpu = 0;
  const { events } = await runner.rebuild({
    onProgress: (done, total) => {
      if (done !== total) return;
      // The last report comes right after the last event, before the snapshots and the save.
      foldEnd = performance.now();
      foldCpu = cpuSeconds(process.cpuUsage(cpuStarted));
    },
  });
  const totalMs = performance.now() - started;
  const foldMs = foldEnd - started;
  // snapshot() runs between the last report and save(): count it with the save.
  const snapshotMs = totalMs - foldMs - saveMs;
  gc();
  const heapMib = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  await inner?.close();
  if (models.decisions.size === 0) throw new Error('nothing was folded');
  return {
    foldMs,
    foldPerCpuSecond: events / foldCpu,
    saveMs: saveMs + snapshotMs,
    totalMs,
    foldPerSecond: events / (foldMs / 1000),
    heapMib,
  };
}

/**
 * decode + apply alone, on events already read and parsed (the store's share taken out): what the projections
 * cost per event. Chunks are parsed fresh before each timed fold so that nothing is warmer than in a real rebuild.
 */
async function foldOnlyRate(store: SqliteEventStore): Promise<{ perSecond: number; zodPerSecond: number }> {
  const CHUNK = 100_000;
  const measure = async (decode: EventDecoder): Promise<number> => {
    const models = createReadModels();
    let chunk: RecordedEvent[] = [];
    let cpu = 0;
    let n = 0;
    const fold = () => {
      const c = process.cpuUsage();
      for (const e of chunk) {
        const event = decode(e.type, e.data);
        const at = { position: e.position, recordedAt: e.recordedAt, streamId: e.streamId, revision: e.revision };
        for (const m of models.all) m.apply(event, at);
      }
      cpu += cpuSeconds(process.cpuUsage(c));
      n += chunk.length;
      chunk = [];
    };
    for await (const e of store.readAll()) {
      chunk.push(e);
      if (chunk.length === CHUNK) fold();
    }
    fold();
    return n / cpu;
  };
  const zodPerSecond = await measure(decodeEvent);
  gc();
  const perSecond = await measure(fastDecodeEvent);
  gc();
  return { perSecond, zodPerSecond };
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

async function restoreOnce(store: SqliteEventStore, checkpointPath: string): Promise<{ restoreMs: number; fullScanMs: number }> {
  gc();
  const checkpoints = SqliteCheckpointStore.open(checkpointPath);
  const models = createReadModels();
  const runner = new ProjectionRunner({ store, models: models.all, checkpoints });
  const started = performance.now();
  await runner.start();
  await runner.waitFor(await store.headPosition(), 120_000);
  const restoreMs = performance.now() - started;
  // An audit query that matches nothing scans the whole zone: its worst case.
  const zone = models.directory.listZones()[0]!.zone_id;
  const t = performance.now();
  models.decisions.list(zone, { subject: 'nobody-has-this-subject-but-interned', limit: 100 });
  models.decisions.list(zone, { limit: 100, since: '2099-01-01T00:00:00Z' });
  const fullScanMs = (performance.now() - t) / 2;
  await runner.stop();
  await checkpoints.close();
  return { restoreMs, fullScanMs };
}

async function readAllRate(store: SqliteEventStore): Promise<{ perSecond: number; perCpuSecond: number }> {
  let n = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  for await (const e of store.readAll()) if (e.position >= 0n) n++;
  return { perSecond: n / ((performance.now() - started) / 1000), perCpuSecond: n / cpuSeconds(process.cpuUsage(cpu)) };
}

function decodeCosts(): { zodUs: number; compiledUs: number } {
  const gen = new Generator(1);
  const samples = Array.from({ length: 20_000 }, () => JSON.parse(JSON.stringify(gen.decision(0).data)) as Record<string, unknown>);
  const time = (decode: EventDecoder): number => {
    for (const s of samples) decode('DecisionRecorded', s);
    const rounds = 10;
    const t = performance.now();
    for (let r = 0; r < rounds; r++) for (const s of samples) decode('DecisionRecorded', s);
    return ((performance.now() - t) * 1000) / (rounds * samples.length);
  };
  return { zodUs: time(decodeEvent), compiledUs: time(fastDecodeEvent) };
}

// ---------------------------------------------------------------------------------------------------------
// The ledger.

interface Mix {
  decisions: number;
  grants: number;
  sessions: number;
}

/** Builds the ledger file once (or reuses it) and returns what it holds. */
async function ensureLedger(path: string, events: number): Promise<Mix> {
  const db = new Database(path);
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS bench_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    const meta = db.prepare('SELECT v FROM bench_meta WHERE k = ?').get('mix') as { v: string } | undefined;
    if (meta) return JSON.parse(meta.v) as Mix;
  } finally {
    db.close();
  }
  // A fresh file with the store's own schema, then a bulk load that bypasses appends.
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  await SqliteEventStore.open(path).close();
  const out = new Database(path);
  try {
    out.pragma('journal_mode = WAL');
    out.pragma('synchronous = OFF');
    const insert = out.prepare(
      'INSERT INTO events (position, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const gen = new Generator(42);
    const mix: Mix = { decisions: 0, grants: 0, sessions: 0 };
    const revisions = new Map<string, number>();
    let position = 0;
    const load = out.transaction((count: number) => {
      for (let i = 0; i < count && position < events; i++) {
        const e = gen.next();
        if (e.type === 'DecisionRecorded') mix.decisions++;
        else if (e.type.startsWith('Grant')) mix.grants++;
        else if (e.type.startsWith('Session')) mix.sessions++;
        const revision = revisions.get(e.stream) ?? 0;
        // Decision streams never get a second event: keep the map small.
        if (!e.stream.startsWith('decision-')) revisions.set(e.stream, revision + 1);
        insert.run(position, e.stream, revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), e.recordedAt);
        position++;
      }
    });
    while (position < events) load(100_000);
    out.exec(`CREATE TABLE IF NOT EXISTS bench_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    out.prepare('INSERT OR REPLACE INTO bench_meta (k, v) VALUES (?, ?)').run('mix', JSON.stringify(mix));
    out.pragma('wal_checkpoint(TRUNCATE)');
    return mix;
  } finally {
    out.close();
  }
}

interface GeneratedEvent {
  type: EventType;
  stream: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recordedAt: string;
}

const HEX = '0123456789abcdef';
const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const SCOPES = ['payments:read', 'payments:write', 'payments:refund', 'reports:read', 'reports:export', 'ledger:read'];

/**
 * A seeded stream of events shaped like production: ~85% decisions (70% allowed, with a session, a mandate,
 * one or two grants), the rest grants, sessions, revocations and now and then a policy activation. The first
 * events set up zones, applications, resources and policy versions. The first 2,000 events are checked with
 * makeEvent so that a generator bug fails here, not as a mysterious rebuild stop.
 */
class Generator {
  private state: number;
  private clock = Date.UTC(2030, 0, 1);
  private counter = 0;
  private setup: GeneratedEvent[] = [];
  private readonly zones: Array<{ id: string; apps: string[]; resources: Array<{ id: string; identifier: string; scopes: string[] }>; versions: number; active: number }> = [];
  private readonly grants: Array<{ zone: string; id: string; app: string; resource: string; user: string | null }> = [];
  /** Recent open sessions per zone (bounded: decisions pick among the latest). */
  private readonly sessions = new Map<string, Array<{ zone: string; id: string; app: string; subject: string }>>();

  constructor(seed: number) {
    this.state = seed >>> 0;
    for (let z = 0; z < 3; z++) {
      const zone = { id: this.id('zone'), apps: [] as string[], resources: [] as Array<{ id: string; identifier: string; scopes: string[] }>, versions: 1, active: 1 };
      this.zones.push(zone);
      this.push('ZoneCreated', streams.zone(zone.id), { zone_id: zone.id, name: `Zone ${z}`, created_at: this.now() });
      this.push('PolicyVersionCreated', streams.policySet(zone.id), {
        zone_id: zone.id,
        version: 1,
        digest: this.hex(64),
        bundle_base64: Buffer.from('bundle'.repeat(2000)).toString('base64'),
        entrypoints: ['writ/authz/result'],
        origin: 'builtin',
        created_at: this.now(),
      });
      this.push('PolicyVersionActivated', streams.policySet(zone.id), { zone_id: zone.id, version: 1, previous_version: null, activated_at: this.now() });
      for (let a = 0; a < 8; a++) {
        const app = this.id('app');
        zone.apps.push(app);
        this.push('ApplicationRegistered', streams.application(app), {
          zone_id: zone.id,
          application_id: app,
          name: `Service ${a}`,
          secret_salt: this.hex(32),
          secret_hash: this.hex(64),
          registered_at: this.now(),
        });
      }
      for (let r = 0; r < 6; r++) {
        const res = { id: this.id('res'), identifier: `resource://svc-${z}-${r}`, scopes: SCOPES.slice(0, 3 + (r % 4)) };
        zone.resources.push(res);
        this.push('ResourceRegistered', streams.resource(res.id), {
          zone_id: zone.id,
          resource_id: res.id,
          identifier: res.identifier,
          scopes: res.scopes,
          upstream_url: null,
          registered_at: this.now(),
        });
      }
    }
  }

  next(): GeneratedEvent {
    const e = this.setup.shift() ?? this.step();
    if (this.counter++ < 2_000) makeEvent(e.type, e.data as never);
    return e;
  }

  decision(zoneIndex: number): GeneratedEvent {
    const zone = this.zones[zoneIndex % this.zones.length]!;
    const open = this.sessions.get(zone.id) ?? [];
    const session = open.length > 0 && this.rnd() < 0.9 ? this.pick(open) : undefined;
    const resource = this.pick(zone.resources);
    const allow = this.rnd() < 0.7;
    const requested = [this.pick(resource.scopes), ...(this.rnd() < 0.3 ? [this.pick(resource.scopes)] : [])].filter((s, i, xs) => xs.indexOf(s) === i);
    const requestId = this.id('req');
    const occurred = this.now();
    const data = {
      request_id: requestId,
      zone_id: zone.id,
      occurred_at: occurred,
      application_id: session?.app ?? this.pick(zone.apps),
      subject_id: session?.subject ?? `usr_${this.hex(24)}`,
      subject_type: 'user',
      actor_id: null,
      session_id: session?.id ?? null,
      resource: { id: resource.id, identifier: resource.identifier },
      requested_scopes: requested,
      granted_scopes: allow ? requested : [],
      decision: allow ? 'allow' : 'deny',
      determining_policies: allow ? ['writ.authz.grants_cover_request'] : ['writ.authz.default_deny'],
      diagnostics: allow ? [] : [{ reason: 'scope_not_granted', message: 'no active grant covers this scope', scope: requested[0] }],
      policy_set_version: zone.active,
      policy_set_digest: this.hex(64),
      ledger_position: String(this.counter),
      input_digest: this.hex(64),
      grant_ids: allow ? [this.id('grant')] : [],
      mandate: allow ? { jti: this.id('jti'), exp: new Date(this.clock + 900_000).toISOString() } : null,
    };
    return { type: 'DecisionRecorded', stream: streams.decision(requestId), data, metadata: { request_id: requestId }, recordedAt: occurred };
  }

  private step(): GeneratedEvent {
    this.clock += Math.floor(this.rnd() * 40);
    const zi = Math.floor(this.rnd() * this.zones.length);
    const zone = this.zones[zi]!;
    const roll = this.rnd();
    const meta = { key_id: 'key_bench', request_id: this.id('req') };
    if (roll < 0.05) {
      const resource = this.pick(zone.resources);
      const g = { zone: zone.id, id: this.id('grant'), app: this.pick(zone.apps), resource: resource.id, user: this.rnd() < 0.5 ? null : `usr_${this.hex(24)}` };
      this.grants.push(g);
      return this.event('GrantIssued', streams.grant(g.id), {
        zone_id: g.zone,
        grant_id: g.id,
        application_id: g.app,
        resource_id: g.resource,
        scopes: [this.pick(resource.scopes)],
        user_id: g.user,
        issued_at: this.now(),
      }, meta);
    }
    if (roll < 0.07 && this.grants.length > 0) {
      const g = this.grants.splice(Math.floor(this.rnd() * this.grants.length), 1)[0]!;
      return this.event('GrantRevoked', streams.grant(g.id), { zone_id: g.zone, grant_id: g.id, revoked_at: this.now() }, meta);
    }
    if (roll < 0.135) {
      const s = { zone: zone.id, id: this.id('ses'), app: this.pick(zone.apps), subject: `usr_${this.hex(24)}` };
      const open = this.sessions.get(zone.id) ?? [];
      this.sessions.set(zone.id, open);
      open.push(s);
      if (open.length > 200) open.splice(0, 50);
      return this.event('SessionStarted', streams.session(s.id), {
        zone_id: s.zone,
        session_id: s.id,
        application_id: s.app,
        subject_id: s.subject,
        subject_type: 'user',
        started_at: this.now(),
      }, { request_id: meta.request_id });
    }
    const open = this.sessions.get(zone.id) ?? [];
    if (roll < 0.145 && open.length > 0) {
      const s = open.splice(Math.floor(this.rnd() * open.length), 1)[0]!;
      return this.event('SessionRevoked', streams.session(s.id), { zone_id: s.zone, session_id: s.id, reason: 'logout', revoked_at: this.now() }, meta);
    }
    if (roll < 0.1455) {
      const v = 1 + Math.floor(this.rnd() * zone.versions);
      const previous = zone.active;
      zone.active = v;
      return this.event('PolicyVersionActivated', streams.policySet(zone.id), { zone_id: zone.id, version: v, previous_version: previous, activated_at: this.now() }, meta);
    }
    return this.decision(zi);
  }

  private push(type: EventType, stream: string, data: Record<string, unknown>): void {
    this.setup.push(this.event(type, stream, data, { key_id: 'root', request_id: this.id('req') }));
  }

  private event(type: EventType, stream: string, data: Record<string, unknown>, metadata: Record<string, unknown>): GeneratedEvent {
    return { type, stream, data, metadata, recordedAt: this.now() };
  }

  private now(): string {
    return new Date(this.clock).toISOString();
  }

  private rnd(): number {
    // mulberry32
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[Math.floor(this.rnd() * 16)];
    return s;
  }

  /** A prefixed ULID-shaped id (26 characters after the prefix), like the ids writ generates. */
  private id(prefix: string): string {
    let s = `${prefix}_`;
    for (let i = 0; i < 26; i++) s += ULID_ALPHABET[Math.floor(this.rnd() * 32)];
    return s;
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchRebuild({ events })
    .then((result) => process.stdout.write(`${JSON.stringify({ ledger: 'sqlite', ...result })}\n`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
