/**
 * Commands on a zone (stream `zone-<zone_id>`). Ids, times and the admin key's salted hash are produced by
 * the application layer; the key's secret never reaches the domain.
 */

/** Create the zone. Refused with `zone_already_exists` when the stream already holds it. */
export type CreateZone = { type: 'CreateZone'; zone_id: string; name: string; created_at: string };

/** Issue a zone-scoped admin key (`zone_not_found`, `admin_key_already_exists` on an id collision). */
export type IssueAdminKey = {
  type: 'IssueAdminKey';
  zone_id: string;
  key_id: string;
  name: string;
  secret_salt: string;
  secret_hash: string;
  issued_at: string;
};

/** Revoke an admin key (`zone_not_found`, `admin_key_not_found`, `admin_key_already_revoked`). */
export type RevokeAdminKey = { type: 'RevokeAdminKey'; zone_id: string; key_id: string; revoked_at: string };

/**
 * Trust an issuer of subject tokens. `issuer_already_trusted` when an active issuer of the zone has the same
 * `issuer` (compared exactly, as `iss` is); `issuer_already_exists` on an issuer id collision.
 */
export type AddTrustedIssuer = {
  type: 'AddTrustedIssuer';
  zone_id: string;
  issuer_id: string;
  issuer: string;
  jwks: { keys: Record<string, unknown>[] };
  audience: string | null;
  added_at: string;
};

/** Stop trusting an issuer. `issuer_not_found` when unknown or already removed. */
export type RemoveTrustedIssuer = { type: 'RemoveTrustedIssuer'; zone_id: string; issuer_id: string; removed_at: string };

/** Every command the zone aggregate accepts, tagged by `type`. */
export type ZoneCommand = CreateZone | IssueAdminKey | RevokeAdminKey | AddTrustedIssuer | RemoveTrustedIssuer;
