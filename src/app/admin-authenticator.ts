import { constantTimeEqual, verifySecret } from '../crypto/secret-hash.js';
import type { DirectoryModel } from '../projections/directory-model.js';

/** Who is calling the admin and audit API. */
export type AdminPrincipal = { key_id: 'root'; kind: 'root' } | { key_id: string; kind: 'zone'; zone_id: string };

export type AuthOutcome = { ok: true; principal: AdminPrincipal } | { ok: false; code: 'authentication_required' | 'invalid_token' };

/** Zone admin keys read `<key_id>.<secret>`: the id finds the stored salted hash, the secret is checked against it. */
export function formatAdminKey(keyId: string, secret: string): string {
  return `${keyId}.${secret}`;
}

/**
 * Resolves a bearer token to a principal. The root key is compared in constant time; zone keys are
 * looked up by id and their secret verified against the salted hash in the directory read model.
 */
export class AdminAuthenticator {
  constructor(
    private readonly rootToken: string,
    private readonly directory: DirectoryModel,
  ) {}

  authenticate(authorization: string | undefined): AuthOutcome {
    if (!authorization) return { ok: false, code: 'authentication_required' };
    const m = /^Bearer[ ]+([^ ]+)$/i.exec(authorization.trim());
    if (!m) return { ok: false, code: 'invalid_token' };
    const token = m[1]!;
    const dot = token.indexOf('.');
    if (dot > 0) {
      const key = this.directory.getAdminKey(token.slice(0, dot));
      if (key && key.status === 'active' && verifySecret(token.slice(dot + 1), key.secret_salt, key.secret_hash)) {
        return { ok: true, principal: { key_id: key.key_id, kind: 'zone', zone_id: key.zone_id } };
      }
    }
    if (constantTimeEqual(token, this.rootToken)) return { ok: true, principal: { key_id: 'root', kind: 'root' } };
    return { ok: false, code: 'invalid_token' };
  }
}
