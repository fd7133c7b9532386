/**
 * Issue a grant (stream `grant-<grant_id>`): the application may ask for these scopes of the resource
 * (for one user when `user_id` is set).
 *
 * `application` and `resource` are facts the application layer read from the other aggregates' streams or
 * read models: null when the id is unknown. A fact whose `zone_id` differs from the command's is treated as
 * unknown, so a zone never learns that another zone's ids exist.
 *
 * Errors, in the order they are checked: `grant_already_exists`, `invalid_scope` (grammar or empty list;
 * `details.scopes`), `application_not_found`, `resource_not_found`, `grant_scopes_exceed_resource`
 * (`details.scopes` lists the scopes the resource does not define). Repeated scopes are dropped.
 */
export type IssueGrant = {
  type: 'IssueGrant';
  zone_id: string;
  grant_id: string;
  application_id: string;
  resource_id: string;
  scopes: readonly string[];
  user_id: string | null;
  issued_at: string;
  application: { zone_id: string } | null;
  resource: { zone_id: string; scopes: readonly string[] } | null;
};

/** Revoke a grant: `grant_not_found` (unknown or in another zone), `grant_already_revoked`. */
export type RevokeGrant = { type: 'RevokeGrant'; zone_id: string; grant_id: string; revoked_at: string };

/** Every command the grant aggregate accepts, tagged by `type`. */
export type GrantCommand = IssueGrant | RevokeGrant;
