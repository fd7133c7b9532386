import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNondeterministicBuiltin, validatePolicyBundle, type ValidatedPolicyBundle } from './opa-wasm-engine.js';
import { POLICY_ENTRYPOINT } from './policy-engine.js';
import {
  CompilerUnavailableError,
  PolicyBundleError,
  PolicyCompileError,
  type BuiltinLocation,
  type RegoCompileMessage,
} from './policy-errors.js';

/**
 * Rego -> OPA wasm bundle, through the `opa` CLI (the only Rego-to-wasm compiler there is). Each compile
 * runs in a fresh temp dir that is removed afterwards; `opa check --format json` runs first because it
 * gives structured, located errors, which `opa build` does not.
 */

/** Rego source as the admin API receives it: module file name -> source, plus an optional data document. */
export interface RegoSource {
  modules: Record<string, string>;
  data?: Record<string, unknown>;
}

/** A compiled, validated policy: the bundle bytes to store and what the API records about them. */
export interface CompiledPolicy extends ValidatedPolicyBundle {
  bundle: Uint8Array;
}

/** Options of {@link compileRego}. */
export interface RegoCompilerOptions {
  /** The opa binary; found by {@link findOpaCli} when absent. */
  opaPath?: string;
  /** Per opa invocation; the process is killed past it. */
  timeoutMs?: number;
}

/** The pinned compiler, for error hints. */
export const OPA_VERSION = 'v1.22.2';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Plain names only: no path separators, so a module can never be written outside the temp dir. */
const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.rego$/;
const MAX_MODULES = 100;
const MAX_MODULE_BYTES = 1024 * 1024;
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

/**
 * Compile Rego modules into an OPA wasm bundle with the entrypoint `writ/authz/result`, then validate it as
 * an uploaded bundle would be. Throws {@link PolicyCompileError} (located messages),
 * {@link PolicyBundleError} (`missing_entrypoint`, `nondeterministic_builtin`, `unsupported_builtin`) or
 * {@link CompilerUnavailableError}.
 */
export async function compileRego(source: RegoSource, options: RegoCompilerOptions = {}): Promise<CompiledPolicy> {
  checkSource(source);
  const opa = options.opaPath ?? (await findOpaCli());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const dir = await mkdtemp(join(tmpdir(), 'writ-rego-'));
  try {
    const srcDir = join(dir, 'src');
    await mkdir(srcDir);
    for (const [name, text] of Object.entries(source.modules)) {
      await writeFile(join(srcDir, name), text, { flag: 'wx' });
    }
    if (source.data !== undefined) await writeFile(join(srcDir, 'data.json'), JSON.stringify(source.data), { flag: 'wx' });
    const capabilitiesPath = join(dir, 'capabilities.json');
    await writeFile(capabilitiesPath, await deterministicCapabilities(opa, timeoutMs));

    const check = await runOpa(opa, ['check', '--format', 'json', '--max-errors', '50', '--capabilities', capabilitiesPath, '.'], srcDir, timeoutMs);
    if (check.code !== 0) throw checkFailure(check);

    const bundlePath = join(dir, 'bundle.tar.gz');
    const build = await runOpa(
      opa,
      ['build', '-t', 'wasm', '-e', POLICY_ENTRYPOINT, '--capabilities', capabilitiesPath, '-o', bundlePath, '.'],
      srcDir,
      timeoutMs,
    );
    if (build.code !== 0) throw buildFailure(build);

    const bundle = new Uint8Array(await readFile(bundlePath));
    try {
      return { bundle, ...(await validatePolicyBundle(bundle)) };
    } catch (err) {
      if (err instanceof PolicyBundleError && err.details.builtins) {
        const locations = locateCalls(source.modules, err.details.builtins);
        throw new PolicyBundleError(err.code, err.message, { ...err.details, locations });
      }
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Where the opa CLI is: `WRIT_OPA_PATH`, else `opa` on PATH, else `<repo>/.tools/bin/opa` (what
 * `npm run setup` installs). Throws {@link CompilerUnavailableError} with an install hint.
 */
export async function findOpaCli(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.WRIT_OPA_PATH;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new CompilerUnavailableError(`WRIT_OPA_PATH=${explicit} is not an executable opa binary`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'opa');
    if (await isExecutable(candidate)) return candidate;
  }
  // Walk up from this module: the repo root is two levels up from src/policy, three from dist/src/policy.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, '.tools', 'bin', 'opa');
    if (await isExecutable(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new CompilerUnavailableError(
    `the opa CLI (${OPA_VERSION}) was not found in WRIT_OPA_PATH, PATH or .tools/bin; it is needed to compile Rego`,
  );
}

function checkSource(source: RegoSource): void {
  const names = Object.keys(source.modules ?? {});
  const problems: RegoCompileMessage[] = [];
  if (names.length === 0) problems.push({ file: '', row: 0, message: 'no Rego module submitted' });
  if (names.length > MAX_MODULES) problems.push({ file: '', row: 0, message: `more than ${MAX_MODULES} modules` });
  let total = 0;
  for (const name of names) {
    const text = source.modules[name];
    if (!MODULE_NAME.test(name)) {
      problems.push({
        file: name,
        row: 0,
        message: 'module file names are plain names ending in .rego (letters, digits, ".", "_", "-"; no path)',
      });
    }
    if (typeof text !== 'string') {
      problems.push({ file: name, row: 0, message: 'module source must be a string' });
      continue;
    }
    const size = Buffer.byteLength(text);
    total += size;
    if (size > MAX_MODULE_BYTES) problems.push({ file: name, row: 0, message: `module is larger than ${MAX_MODULE_BYTES} bytes` });
  }
  if (source.data !== undefined) {
    if (typeof source.data !== 'object' || source.data === null || Array.isArray(source.data)) {
      problems.push({ file: 'data.json', row: 0, message: 'data must be a JSON object' });
    } else {
      total += Buffer.byteLength(JSON.stringify(source.data));
    }
  }
  if (total > MAX_SOURCE_BYTES) problems.push({ file: '', row: 0, message: `source is larger than ${MAX_SOURCE_BYTES} bytes` });
  if (problems.length > 0) throw new PolicyCompileError('the policy source cannot be compiled', problems);
}

interface OpaRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runOpa(opa: string, args: string[], cwd: string, timeoutMs: number): Promise<OpaRun> {
  return new Promise((resolve, reject) => {
    execFile(
      opa,
      args,
      { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          return reject(new CompilerUnavailableError(`the opa CLI at ${opa} cannot be run (${String(e.code)})`));
        }
        if (e.killed || e.signal) {
          return reject(
            new PolicyCompileError(`opa ${args[0]} did not finish within ${timeoutMs} ms`, [
              { file: '', row: 0, message: `compilation timed out after ${timeoutMs} ms` },
            ]),
          );
        }
        resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr });
      },
    );
  });
}

const capabilitiesCache = new Map<string, Promise<string>>();

/**
 * The compiler's own capabilities minus non-deterministic built-ins: the type checker then refuses them
 * with a file and row, instead of the bundle check refusing them without one.
 */
function deterministicCapabilities(opa: string, timeoutMs: number): Promise<string> {
  let cached = capabilitiesCache.get(opa);
  if (!cached) {
    cached = runOpa(opa, ['capabilities', '--current'], tmpdir(), timeoutMs).then((run) => {
      if (run.code !== 0) throw new CompilerUnavailableError(`opa capabilities failed: ${run.stderr.trim().slice(0, 500)}`);
      let caps: { builtins: { name: string }[] };
      try {
        caps = JSON.parse(run.stdout) as typeof caps;
        if (!Array.isArray(caps.builtins)) throw new Error('no builtins');
      } catch {
        throw new CompilerUnavailableError(`${opa} does not behave like the opa CLI (opa capabilities --current)`);
      }
      caps.builtins = caps.builtins.filter((b) => !isNondeterministicBuiltin(b.name));
      return JSON.stringify(caps);
    });
    capabilitiesCache.set(opa, cached);
    cached.catch(() => capabilitiesCache.delete(opa));
  }
  return cached;
}

interface OpaJsonError {
  message?: string;
  code?: string;
  location?: { file?: string; row?: number; col?: number };
}

function checkFailure(run: OpaRun): Error {
  const errors = parseJsonErrors(run.stderr) ?? parseJsonErrors(run.stdout);
  if (!errors) return textFailure(run);
  const messages: RegoCompileMessage[] = [];
  const nondeterministic: BuiltinLocation[] = [];
  for (const e of errors) {
    const file = e.location?.file ? basename(e.location.file) : '';
    const row = e.location?.row ?? 0;
    const col = e.location?.col;
    const undefinedFn = /^undefined function (\S+)$/.exec(e.message ?? '')?.[1];
    if (undefinedFn && isNondeterministicBuiltin(undefinedFn)) {
      nondeterministic.push({ builtin: undefinedFn, file, row, ...(col !== undefined ? { col } : {}) });
      messages.push({
        file,
        row,
        ...(col !== undefined ? { col } : {}),
        code: 'nondeterministic_builtin',
        message: `${undefinedFn} is not allowed: it is not deterministic (read the decision time from input.context.time)`,
      });
      continue;
    }
    messages.push({
      file,
      row,
      ...(col !== undefined ? { col } : {}),
      message: e.message ?? 'unknown error',
      ...(e.code ? { code: e.code } : {}),
    });
  }
  if (nondeterministic.length > 0 && nondeterministic.length === messages.length) {
    const builtins = [...new Set(nondeterministic.map((n) => n.builtin))].sort();
    return new PolicyBundleError(
      'nondeterministic_builtin',
      `the policy calls non-deterministic built-ins (${builtins.join(', ')}); ` +
        'decisions must be reproducible: read the decision time from input.context.time',
      { builtins, locations: nondeterministic },
    );
  }
  return new PolicyCompileError('the policy does not compile', messages);
}

function buildFailure(run: OpaRun): Error {
  const text = `${run.stderr}\n${run.stdout}`;
  if (/entrypoint .* does not refer to a rule or policy decision/.test(text)) {
    return new PolicyBundleError(
      'missing_entrypoint',
      `no rule defines the entrypoint ${POLICY_ENTRYPOINT}: declare \`package writ.authz\` and a rule \`result\``,
    );
  }
  return textFailure(run);
}

/** `opa build` prints `file:row: code: message` lines (no JSON format for build errors). */
function textFailure(run: OpaRun): PolicyCompileError {
  const text = `${run.stderr}\n${run.stdout}`.trim();
  const messages: RegoCompileMessage[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:error: )?([^\s:]+\.rego):(\d+)(?::(\d+))?: (?:(rego_\w+): )?(.*)$/.exec(line);
    if (m) {
      messages.push({
        file: basename(m[1]!),
        row: Number(m[2]),
        ...(m[3] ? { col: Number(m[3]) } : {}),
        ...(m[4] ? { code: m[4] } : {}),
        message: m[5]!,
      });
    }
  }
  if (messages.length === 0) messages.push({ file: '', row: 0, message: text.slice(0, 2000) || 'opa failed' });
  return new PolicyCompileError('the policy does not compile', messages);
}

function parseJsonErrors(text: string): OpaJsonError[] | null {
  const start = text.indexOf('{');
  if (start < 0) return null;
  try {
    const parsed = JSON.parse(text.slice(start)) as { errors?: OpaJsonError[] };
    return Array.isArray(parsed.errors) && parsed.errors.length > 0 ? parsed.errors : null;
  } catch {
    return null;
  }
}

/** Best-effort source locations of calls to the given built-ins (the wasm only names them). */
function locateCalls(modules: Record<string, string>, builtins: readonly string[]): BuiltinLocation[] {
  const out: BuiltinLocation[] = [];
  for (const [file, text] of Object.entries(modules)) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const code = line.replace(/#.*$/, '');
      for (const builtin of builtins) {
        const re = new RegExp(`(^|[^A-Za-z0-9_.])${builtin.replace(/\./g, '\\.')}\\s*\\(`, 'g');
        for (let m = re.exec(code); m; m = re.exec(code)) {
          out.push({ builtin, file, row: i + 1, col: m.index + m[1]!.length + 1 });
        }
      }
    });
  }
  return out;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
