import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { POLICY_ENTRYPOINT } from './policy-engine.js';
import { PolicyBundleError } from './policy-errors.js';

/**
 * Reader for the OPA bundles `opa build -t wasm -e writ/authz/result` writes: a gzip tarball holding
 * `/policy.wasm`, `/.manifest` (wasm entrypoints), `/data.json` and stub `.rego` files. Bundles arrive from
 * API clients, so everything is bounded and checked before a byte reaches WebAssembly; no tar library is
 * needed for this narrow, well-known layout.
 */

/** Largest bundle accepted as uploaded (compressed). */
export const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;
/** Largest decompressed tarball: bounds gzip bombs. */
export const MAX_TAR_BYTES = 64 * 1024 * 1024;
const MAX_ENTRIES = 10_000;
const BLOCK = 512;

/** One regular file of a tarball, by its normalised path (no leading slash, no `.`/`..` segments). */
export interface TarEntry {
  path: string;
  content: Uint8Array<ArrayBuffer>;
}

/** The `.manifest` fields writ reads; others are kept as given. */
export interface BundleManifest {
  revision?: string;
  roots?: string[];
  wasm?: { entrypoint: string; module: string }[];
  rego_version?: number;
  [key: string]: unknown;
}

/** What writ needs from an OPA wasm bundle. */
export interface OpaBundle {
  /** The compiled policy (`/policy.wasm`). */
  wasm: Uint8Array<ArrayBuffer>;
  /** Base document from every `data.json`, merged at its directory path: passed to `setData`. */
  data: Record<string, unknown>;
  /** Entrypoints the manifest declares for `/policy.wasm`; `[]` when the bundle has no manifest. */
  entrypoints: string[];
  /** sha256 hex of the bundle bytes as given (compressed): the version's content address. */
  digest: string;
  manifest: BundleManifest | null;
}

const ManifestSchema = z
  .object({
    revision: z.string().optional(),
    roots: z.array(z.string()).optional(),
    wasm: z.array(z.object({ entrypoint: z.string(), module: z.string() })).optional(),
    rego_version: z.number().optional(),
  })
  .passthrough();

/** sha256 hex of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Read and check an OPA wasm bundle. Throws {@link PolicyBundleError} (`invalid_bundle`,
 * `missing_entrypoint`) for anything writ cannot run. Built-ins and the wasm's own entrypoint table are
 * checked by loading it (see `validatePolicyBundle` in opa-wasm-engine.ts).
 */
export function readOpaBundle(bundle: Uint8Array): OpaBundle {
  if (bundle.byteLength > MAX_BUNDLE_BYTES) {
    throw new PolicyBundleError('invalid_bundle', `bundle is larger than ${MAX_BUNDLE_BYTES} bytes`, {
      limit: MAX_BUNDLE_BYTES,
    });
  }
  const digest = sha256Hex(bundle);
  const entries = readTar(gunzipBundle(bundle));

  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const e of entries) {
    if (files.has(e.path)) throw new PolicyBundleError('invalid_bundle', `bundle holds ${e.path} twice`);
    files.set(e.path, e.content);
  }

  const manifest = readManifest(files.get('.manifest'));
  const wasmFiles = [...files.keys()].filter((p) => p.endsWith('.wasm'));
  const wasm = files.get('policy.wasm');
  if (!wasm) {
    throw new PolicyBundleError(
      'invalid_bundle',
      'bundle has no /policy.wasm: build it with `opa build -t wasm -e writ/authz/result`',
    );
  }
  if (wasmFiles.length > 1) {
    throw new PolicyBundleError('invalid_bundle', 'bundle holds more than one wasm module; writ evaluates one', {
      modules: wasmFiles.map((p) => `/${p}`),
    });
  }

  let entrypoints: string[] = [];
  if (manifest) {
    const declared = manifest.wasm ?? [];
    const foreign = declared.filter((w) => normalisePath(w.module) !== 'policy.wasm');
    if (foreign.length > 0) {
      throw new PolicyBundleError('invalid_bundle', 'the manifest names a wasm module the bundle does not hold', {
        modules: foreign.map((w) => w.module),
      });
    }
    entrypoints = [...new Set(declared.map((w) => w.entrypoint))];
    if (!entrypoints.includes(POLICY_ENTRYPOINT)) {
      throw new PolicyBundleError(
        'missing_entrypoint',
        `the bundle's manifest does not list the wasm entrypoint ${POLICY_ENTRYPOINT} (package writ.authz, rule result)`,
        { entrypoints },
      );
    }
  }

  return { wasm, data: readData(files), entrypoints, digest, manifest };
}

/** Decompress a bundle, bounded by {@link MAX_TAR_BYTES}. */
export function gunzipBundle(bundle: Uint8Array): Uint8Array {
  if (bundle.byteLength < 18 || bundle[0] !== 0x1f || bundle[1] !== 0x8b) {
    throw new PolicyBundleError('invalid_bundle', 'bundle is not a gzip file (expected the output of opa build)');
  }
  try {
    return gunzipSync(bundle, { maxOutputLength: MAX_TAR_BYTES });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new PolicyBundleError(
      'invalid_bundle',
      tooLarge ? `bundle decompresses to more than ${MAX_TAR_BYTES} bytes` : 'bundle is not valid gzip data',
    );
  }
}

/**
 * Parse a ustar/GNU/PAX tarball into its regular files. Links, devices and any path escaping the bundle
 * root are refused rather than skipped: a bundle that tries them is not an `opa build` output.
 */
export function readTar(tar: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  let offset = 0;
  let pendingPath: string | null = null; // from a PAX `path` record or a GNU long name
  let pendingSize: number | null = null;
  let sawEnd = false;

  while (offset + BLOCK <= tar.byteLength) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (isZeroBlock(header)) {
      sawEnd = true;
      break;
    }
    verifyChecksum(header, offset);
    const type = String.fromCharCode(header[156] ?? 0);
    const headerSize = parseNumeric(header.subarray(124, 136), offset);
    // Extended headers describe the next entry; their own size is in the header, not in a PAX record.
    const extended = type === 'x' || type === 'L' || type === 'g';
    const size = extended ? headerSize : (pendingSize ?? headerSize);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.byteLength) throw invalid(`tar entry at offset ${offset} runs past the end of the archive`);
    const data = tar.subarray(dataStart, dataEnd);
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    switch (type) {
      case 'x': {
        const records = parsePax(data);
        if (records.path !== undefined) pendingPath = records.path;
        if (records.size !== undefined) pendingSize = parseDecimal(records.size);
        offset = next;
        continue;
      }
      case 'L':
        pendingPath = cString(data);
        offset = next;
        continue;
      case 'g': // global PAX header: nothing writ needs, and it does not consume a pending name
        offset = next;
        continue;
      case '0':
      case '\0':
      case '7': {
        const raw = pendingPath ?? headerPath(header);
        const path = normalisePath(raw);
        if (path === null) throw invalid(`tar entry ${JSON.stringify(raw)} escapes the bundle root`);
        if (path === '') throw invalid('tar entry without a name');
        out.push({ path, content: data.slice() });
        if (out.length > MAX_ENTRIES) throw invalid(`bundle holds more than ${MAX_ENTRIES} files`);
        break;
      }
      case '5': {
        const raw = pendingPath ?? headerPath(header);
        if (normalisePath(raw) === null) throw invalid(`tar entry ${JSON.stringify(raw)} escapes the bundle root`);
        break;
      }
      default:
        throw invalid(`tar entry of type ${JSON.stringify(type)} (link, device or unknown) is not allowed`);
    }
    pendingPath = null;
    pendingSize = null;
    offset = next;
  }
  if (!sawEnd) throw invalid('tar archive is truncated (no end-of-archive marker)');
  return out;
}

/**
 * Normalise a path inside the bundle: OPA writes `/policy.wasm`, so a leading slash means the bundle root.
 * Returns null when the path would leave the root (`..`) or is not a plain relative path.
 */
export function normalisePath(raw: string): string | null {
  if (raw.includes('\\') || raw.includes('\0') || /^[A-Za-z]:/.test(raw)) return null;
  const parts: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return null;
    parts.push(seg);
  }
  return parts.join('/');
}

function readManifest(bytes: Uint8Array | undefined): BundleManifest | null {
  if (!bytes) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('/.manifest is not valid JSON');
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw invalid('/.manifest does not have the OPA manifest shape');
  return parsed.data as BundleManifest;
}

/** Merge every `data.json` at its directory's path, as OPA does when it loads a bundle. */
function readData(files: Map<string, Uint8Array>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const dataFiles = [...files.keys()].filter((p) => p === 'data.json' || p.endsWith('/data.json')).sort();
  for (const p of [...files.keys()]) {
    if (p === 'data.yaml' || p === 'data.yml' || p.endsWith('/data.yaml') || p.endsWith('/data.yml')) {
      throw invalid(`/${p}: YAML data is not supported, use data.json`);
    }
  }
  for (const p of dataFiles) {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(files.get(p)));
    } catch {
      throw invalid(`/${p} is not valid JSON`);
    }
    const dirs = p.split('/').slice(0, -1);
    if (dirs.length === 0) {
      if (!isPlainObject(value)) throw invalid('/data.json must hold a JSON object');
      mergeInto(data, value, p);
      continue;
    }
    let node: Record<string, unknown> = data;
    for (const d of dirs.slice(0, -1)) {
      const child = node[d];
      if (child === undefined) node[d] = {};
      else if (!isPlainObject(child)) throw invalid(`/${p} conflicts with other bundle data`);
      node = node[d] as Record<string, unknown>;
    }
    const last = dirs[dirs.length - 1]!;
    if (node[last] === undefined) node[last] = value;
    else if (isPlainObject(node[last]) && isPlainObject(value)) mergeInto(node[last], value, p);
    else throw invalid(`/${p} conflicts with other bundle data`);
  }
  return data;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>, file: string): void {
  for (const [k, v] of Object.entries(source)) {
    const existing = target[k];
    if (existing === undefined) target[k] = v;
    else if (isPlainObject(existing) && isPlainObject(v)) mergeInto(existing, v, file);
    else throw invalid(`/${file} conflicts with other bundle data at ${k}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function verifyChecksum(header: Uint8Array, offset: number): void {
  const stored = parseNumeric(header.subarray(148, 156), offset);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  if (sum !== stored) throw invalid(`tar header at offset ${offset} has a bad checksum (not a tar archive?)`);
}

/** Octal (NUL/space padded) or GNU base-256 numeric field. */
function parseNumeric(field: Uint8Array, offset: number): number {
  if ((field[0]! & 0x80) !== 0) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n)) throw invalid(`tar header at offset ${offset} has an oversized number`);
    return n;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`tar header at offset ${offset} has a malformed number`);
  return parseInt(text, 8);
}

function parseDecimal(s: string): number {
  if (!/^\d{1,15}$/.test(s)) throw invalid('PAX size record is malformed');
  return Number(s);
}

function headerPath(header: Uint8Array): string {
  const name = cString(header.subarray(0, 100));
  const magic = cString(header.subarray(257, 263));
  // POSIX ustar splits long names into prefix + name; the GNU "ustar  " variant uses that area otherwise.
  const prefix = magic === 'ustar' ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** `<len> <key>=<value>\n` records; `len` counts bytes, so parse bytes, not decoded text. */
function parsePax(buf: Uint8Array): Record<string, string> {
  const decoder = new TextDecoder();
  const out: Record<string, string> = {};
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(decoder.decode(buf.subarray(i, sp)));
    if (!Number.isInteger(len) || len <= sp - i || i + len > buf.length) throw invalid('PAX header is malformed');
    const record = decoder.decode(buf.subarray(sp + 1, i + len - 1));
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

function invalid(message: string): PolicyBundleError {
  return new PolicyBundleError('invalid_bundle', message);
}
