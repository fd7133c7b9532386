import { createPrivateKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';

/**
 * The STS's mandate signing keys: ES256 key pairs kept as JWK files in `<dataDir>/keys/` (directory 0700,
 * files 0600), created on first start, kept across restarts.
 *
 * Rotation makes a new active key and retires the previous one: its private half is erased from disk at
 * once (nothing may sign with it any more), its public half stays in the JWKS until every mandate it signed
 * has expired. That horizon is `retired_at + MAX_MANDATE_TTL + clock skew`, with the largest TTL writ allows,
 * not the configured one, because the TTL may have been larger when the key was signing. Expired retired
 * keys are pruned on the next open, reload or rotation.
 *
 * Several writ processes may share one keys directory (one host, or a mounted volume): they then sign with
 * the same key and publish the same JWKS, so any instance can introspect any instance's mandates. Creation
 * and rotation take an exclusive lock file; running instances pick up a rotation (e.g. `writ keys rotate`)
 * by watching the directory, never by reading it per request.
 */

/** Largest mandate lifetime writ accepts (API.md: at most 900 s after iat). */
export const MAX_MANDATE_TTL_SECONDS = 900;
/** Slack for verifiers' clocks when deciding that a retired key can no longer verify anything. */
const RETIREMENT_SKEW_SECONDS = 60;
export const SIGNING_ALG = 'ES256' as const;

/** One key as stored on disk. `private_jwk` is dropped when the key is retired. */
export interface StoredSigningKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  created_at: string;
  retired_at: string | null;
  public_jwk: JWK;
  private_jwk?: JWK;
}

export interface SigningKeysOptions {
  /** Keep keys in memory only (throwaway `memory:` runs); nothing is written. */
  inMemory?: boolean;
  /** Configured mandate TTL, for documentation of the retention horizon; retention uses the maximum. */
  mandateTtlSeconds?: number;
  /** Reload when another process rotates the keys. Default true for on-disk keys. */
  watch?: boolean;
  now?: () => Date;
}

/** The key that signs new mandates. */
export interface ActiveSigningKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  privateKey: CryptoKey;
  /**
   * The same key as a node:crypto KeyObject: mandates are signed with node:crypto directly because jose's
   * WebCrypto path costs ~4x more CPU per ES256 signature on the token endpoint's hot path.
   */
  keyObject: KeyObject;
}

export class SigningKeys {
  private active!: ActiveSigningKey;
  private published: JSONWebKeySet = { keys: [] };
  private verifier!: JWTVerifyGetKey;
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  private constructor(
    /** Directory of the key files, or undefined when keys live in memory only. */
    readonly dir: string | undefined,
    options: SigningKeysOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Open the keys in `dir`, creating the first key pair if there is none. */
  static async open(dir: string, options: SigningKeysOptions = {}): Promise<SigningKeys> {
    const keys = new SigningKeys(options.inMemory ? undefined : dir, options);
    if (options.inMemory) {
      await keys.install([await newKey(keys.now())]);
      return keys;
    }
    await ensurePrivateDir(dir);
    await withLock(dir, async () => {
      const stored = await pruneExpired(dir, await readKeys(dir), keys.now());
      if (!stored.some((k) => k.retired_at === null && k.private_jwk)) {
        const created = await newKey(keys.now());
        await writeKey(dir, created);
        stored.push(created);
      }
      await keys.install(stored);
    });
    if (options.watch ?? true) keys.watchDir(dir);
    return keys;
  }

  /** The key new mandates are signed with. */
  signingKey(): ActiveSigningKey {
    return this.active;
  }

  /** Public keys of the active key and of retired keys whose mandates may still be alive (RFC 7517 JWK Set). */
  jwks(): JSONWebKeySet {
    return this.published;
  }

  /** A jose key resolver over {@link jwks}, for verifying our own mandates (introspection, revocation). */
  verificationKeys(): JWTVerifyGetKey {
    return this.verifier;
  }

  /** Make a new active key; the previous one is retired (see the class comment). Returns the new kid. */
  async rotate(): Promise<string> {
    if (!this.dir) {
      const retired = this.published.keys.map((k) => k);
      const created = await newKey(this.now());
      await this.install([created], retired);
      return created.kid;
    }
    const dir = this.dir;
    const kid = await rotateIn(dir, this.now());
    await this.reload();
    return kid;
  }

  /** Re-read the directory (after another process rotated). */
  async reload(): Promise<void> {
    if (!this.dir) return;
    const dir = this.dir;
    const stored = await pruneExpired(dir, await readKeys(dir), this.now());
    if (!stored.some((k) => k.retired_at === null && k.private_jwk)) return; // mid-rotation; the next event reloads
    await this.install(stored);
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }

  private async install(stored: StoredSigningKey[], extraPublic: JWK[] = []): Promise<void> {
    const signing = newestActive(stored);
    if (!signing?.private_jwk) throw new Error('no active signing key');
    const privateKey = (await importJWK(signing.private_jwk, SIGNING_ALG, { extractable: false })) as CryptoKey;
    const published = stored
      .slice()
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
      .map((k) => publicJwk(k));
    for (const extra of extraPublic) if (!published.some((p) => p.kid === extra.kid)) published.push(extra);
    const keyObject = createPrivateKey({ key: signing.private_jwk as JsonWebKey, format: 'jwk' });
    this.active = { kid: signing.kid, alg: SIGNING_ALG, privateKey, keyObject };
    this.published = Object.freeze({ keys: published.map((k) => Object.freeze(k)) }) as JSONWebKeySet;
    this.verifier = createLocalJWKSet(this.published);
  }

  private watchDir(dir: string): void {
    try {
      this.watcher = watch(dir, { persistent: false }, () => {
        // Rotation writes several files; reload once they have settled.
        if (this.reloadTimer) clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => {
          this.reload().catch(() => {
            /* a half-written rotation: the next change event reloads */
          });
        }, 50);
        this.reloadTimer.unref();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No inotify (some container filesystems): rotations then apply at the next restart.
      this.watcher = undefined;
    }
  }
}

/**
 * Rotate the keys stored under `<dataDir>/keys` (the `writ keys rotate` command). A running writ sharing the
 * directory picks the new key up by itself. Returns the new active kid and the kids still published.
 */
export async function rotateSigningKeys(dataDir: string, now: Date = new Date(), keysDir?: string): Promise<{ active_kid: string; published_kids: string[] }> {
  const dir = keysDir ?? join(dataDir, 'keys');
  await ensurePrivateDir(dir);
  const kid = await rotateIn(dir, now);
  const stored = await readKeys(dir);
  return { active_kid: kid, published_kids: stored.map((k) => k.kid) };
}

async function rotateIn(dir: string, now: Date): Promise<string> {
  return withLock(dir, async () => {
    const stored = await pruneExpired(dir, await readKeys(dir), now);
    const created = await newKey(now);
    // The new key is written before the old ones are retired: a crash in between leaves two keys that can
    // sign, never none.
    await writeKey(dir, created);
    for (const k of stored) {
      if (k.retired_at === null || k.private_jwk) {
        const { private_jwk: _erased, ...rest } = k;
        await writeKey(dir, { ...rest, retired_at: k.retired_at ?? now.toISOString() });
      }
    }
    return created.kid;
  });
}

async function newKey(now: Date): Promise<StoredSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const public_jwk = await exportJWK(publicKey);
  const private_jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(public_jwk);
  return { kid, alg: SIGNING_ALG, created_at: now.toISOString(), retired_at: null, public_jwk, private_jwk };
}

function publicJwk(k: StoredSigningKey): JWK {
  const { kty, crv, x, y } = k.public_jwk;
  return { kty, crv, x, y, kid: k.kid, alg: k.alg, use: 'sig' };
}

function newestActive(stored: StoredSigningKey[]): StoredSigningKey | undefined {
  let best: StoredSigningKey | undefined;
  for (const k of stored) {
    if (k.retired_at !== null || !k.private_jwk) continue;
    if (!best || k.created_at > best.created_at || (k.created_at === best.created_at && k.kid > best.kid)) best = k;
  }
  return best;
}

async function readKeys(dir: string): Promise<StoredSigningKey[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jwk.json'));
  const keys: StoredSigningKey[] = [];
  for (const name of names) {
    try {
      const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredSigningKey;
      if (parsed && typeof parsed.kid === 'string' && parsed.alg === SIGNING_ALG && parsed.public_jwk) keys.push(parsed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // pruned by another process meanwhile
      throw new Error(`unreadable signing key file ${name}`);
    }
  }
  return keys;
}

/** Delete retired keys that can no longer verify any unexpired mandate. */
async function pruneExpired(dir: string, stored: StoredSigningKey[], now: Date): Promise<StoredSigningKey[]> {
  const horizonMs = (MAX_MANDATE_TTL_SECONDS + RETIREMENT_SKEW_SECONDS) * 1000;
  const kept: StoredSigningKey[] = [];
  for (const k of stored) {
    if (k.retired_at !== null && Date.parse(k.retired_at) + horizonMs < now.getTime()) {
      await rm(keyPath(dir, k.kid), { force: true });
    } else {
      kept.push(k);
    }
  }
  return kept;
}

function keyPath(dir: string, kid: string): string {
  return join(dir, `${kid}.jwk.json`);
}

/** Atomic write (temp file + rename) with mode 0600, so a reader never sees half a key. */
async function writeKey(dir: string, key: StoredSigningKey): Promise<void> {
  const path = keyPath(dir, key.kid);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for an existing directory.
  await chmod(dir, 0o700);
}

/** Run `fn` holding `<dir>/.lock` (O_EXCL). A lock older than 30 s is a crashed holder's and is broken. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 30_000) await unlink(lock).catch(() => undefined);
      else if (Date.now() > deadline) throw new Error(`signing keys are locked by another process (${lock})`);
      else await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}
