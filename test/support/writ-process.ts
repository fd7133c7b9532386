import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis-server.js';

/** The repository root (this file is test/support/writ-process.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WritProcessOptions {
  /** Ledger, keys and checkpoints; a fresh temp dir when absent. Pass the same dir to restart on the same state. */
  dataDir?: string;
  /** Extra or overriding environment for the server (WRIT_PORT and WRIT_DATA_DIR are set by the helper). */
  env?: Record<string, string>;
  /** Listen on this port (e.g. the previous one, to restart behind the same URL); a free one when absent. */
  port?: number;
  /** How long to wait for GET /v1/health/ready to answer 200 (default 30 s). */
  readyTimeoutMs?: number;
}

export interface WritProcess {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  pid: number;
  /** The root admin key the server was started with (WRIT_ADMIN_TOKEN). */
  adminToken: string;
  dataDir: string;
  /** Everything the child wrote to stdout and stderr so far (last 256 KiB). */
  output(): string;
  /** Resolves with the exit code (or signal) once the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM by pid, wait for the exit; SIGKILL after 5 s. Idempotent. Leaves the data dir in place. */
  stop(): Promise<void>;
  /** Send a signal (default SIGKILL: a crash) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Remove the data dir if this helper created it (call after stop()). */
  cleanup(): Promise<void>;
}

const OUTPUT_LIMIT = 256 * 1024;

/**
 * Start the REAL server (`node --import tsx src/server.ts`) as a child process on a free loopback port and a
 * temp (or given) data dir, and wait until GET /v1/health/ready answers 200. On failure the child's output
 * is part of the error. `pid` is the server process itself, so signals reach it directly.
 */
export async function startWritProcess(opts: WritProcessOptions = {}): Promise<WritProcess> {
  const createdDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'writ-proc-')));
  // freePort() releases the port before the child binds it: another process can grab it in between, so a
  // start that fails with EADDRINUSE is retried on a new port.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts, dataDir, createdDir);
    } catch (err) {
      lastError = err;
      if (opts.port !== undefined || !(err instanceof Error && /EADDRINUSE/.test(err.message))) break;
    }
  }
  if (createdDir) await rm(dataDir, { recursive: true, force: true });
  throw lastError;
}

async function startOnce(opts: WritProcessOptions, dataDir: string, createdDir: boolean): Promise<WritProcess> {
  const port = opts.port ?? (await freePort());
  const adminToken = opts.env?.WRIT_ADMIN_TOKEN ?? `root-${randomBytes(16).toString('hex')}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A developer's own WRIT_* settings must not leak into the test server.
  for (const k of Object.keys(env)) if (k.startsWith('WRIT_')) delete env[k];
  Object.assign(env, {
    WRIT_HOST: '127.0.0.1',
    WRIT_ISSUER: `http://127.0.0.1:${port}`,
    WRIT_LOG_LEVEL: 'warn',
    ...opts.env,
    WRIT_PORT: String(port),
    WRIT_DATA_DIR: dataDir,
    WRIT_ADMIN_TOKEN: adminToken,
  });

  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'server.ts')], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolveExit(exitInfo);
    });
    child.once('error', (err) => {
      collect(Buffer.from(`spawn error: ${err.message}\n`));
      exitInfo = { code: -1, signal: null };
      resolveExit(exitInfo);
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    throw new Error(`writ server did not spawn:\n${output}`);
  }

  const url = `http://127.0.0.1:${port}`;
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (exitInfo) {
      throw new Error(`writ server exited before it was ready (code ${exitInfo.code}, signal ${exitInfo.signal}); its output:\n${output || '(none)'}`);
    }
    try {
      const res = await fetch(`${url}/v1/health/ready`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status === 200) break;
      last = `${res.status} ${body}`;
    } catch (err) {
      last = err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err);
    }
    if (Date.now() > deadline) {
      await terminate(child, exited, 'SIGKILL');
      throw new Error(`writ server was not ready within ${timeoutMs} ms (last: ${last}); its output:\n${output || '(none)'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    port,
    pid,
    adminToken,
    dataDir,
    output: () => output,
    exited,
    stop: () => terminate(child, exited, 'SIGTERM'),
    kill: (signal: NodeJS.Signals = 'SIGKILL') => terminate(child, exited, signal),
    async cleanup() {
      if (createdDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Signal the child by pid and wait for its exit; escalate to SIGKILL after 5 s. */
async function terminate(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    return; // already gone
  }
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000).unref());
  if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
    await exited;
  }
}
