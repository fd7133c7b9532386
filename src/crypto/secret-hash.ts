import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets writ hands out (client secrets, admin keys) are 256-bit random strings, so a salted SHA-256 is
 * enough to store them: a slow KDF protects low-entropy passwords, and would cost the token endpoint
 * milliseconds per exchange for nothing.
 */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function generateSalt(): string {
  return randomBytes(16).toString('base64url');
}

export function hashSecret(secret: string, salt: string): string {
  return createHash('sha256').update(salt).update('\u0000').update(secret).digest('hex');
}

/** Constant-time check of a presented secret against a stored salted hash. */
export function verifySecret(presented: string, salt: string, expectedHex: string): boolean {
  const actual = Buffer.from(hashSecret(presented, salt), 'hex');
  const expected = Buffer.from(expectedHex, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Constant-time equality of two strings of any length (hashing first hides the length too). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
