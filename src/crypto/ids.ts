import { randomFillSync } from 'node:crypto';

/** Crockford base32, lowercase: ULID's alphabet (no i, l, o, u). */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
// Random bytes are drawn from a pooled buffer: one syscall per 4 KiB instead of one (or sixteen) per id,
// because the token endpoint generates two ids per exchange (request and session).
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

function randomChars(count: number): string {
  if (poolOffset + count > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < count; i++) out += ALPHABET[POOL[poolOffset++]! & 31];
  return out;
}

function timeChars(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32]! + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/**
 * Unique ids with a readable type prefix (`grt_01j…`), ULID-shaped: 48 bits of millisecond time (so ids sort
 * by creation time across milliseconds, which helps cursors and logs) and 80 random bits.
 */
export function newId(prefix: 'zone' | 'key' | 'iss' | 'app' | 'res' | 'grt' | 'ses' | 'req' | 'jti'): string {
  return `${prefix}_${timeChars(Date.now())}${randomChars(16)}`;
}
