import { createHash } from 'node:crypto';

/**
 * Subject tokens already verified, so a workload that exchanges the same token for several resources pays
 * for the signature check once. Keyed by sha256 of (zone, token): the token itself is never kept, and a
 * token verified for one zone says nothing about another zone's trust. Entries live until the token's own
 * expiry (plus the verifier's clock tolerance, so the cache accepts exactly what verification would), and
 * the oldest are dropped beyond `maxEntries`.
 */
export class VerifiedTokenCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The cache key of a token presented to a zone. */
  static keyOf(zoneId: string, token: string): string {
    return createHash('sha256').update(zoneId).update('\u0000').update(token).digest('base64url');
  }

  get(key: string, nowMs: number): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAtMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: V, expiresAtMs: number, nowMs: number): void {
    if (expiresAtMs <= nowMs) return;
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      // Insertion order is age order: drop the oldest.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAtMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
