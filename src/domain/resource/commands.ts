/**
 * Register a protected resource (stream `resource-<resource_id>`).
 *
 * - `identifier` must match `resource://<slug>` (`invalid_resource_identifier`).
 * - every scope must match the scope grammar (`invalid_scope`, `details.scopes` lists the offending ones);
 *   at least one scope is required (`invalid_scope`); repeats are dropped.
 * - `resource_already_exists` when the stream already holds a resource, or when the application layer
 *   reports another resource of the zone with the same identifier (`conflicting_resource_id`).
 */
export type RegisterResource = {
  type: 'RegisterResource';
  zone_id: string;
  resource_id: string;
  identifier: string;
  scopes: readonly string[];
  upstream_url: string | null;
  registered_at: string;
  /**
   * Id of a resource of the same zone already registered under `identifier`, looked up by the application
   * layer (the STS resolves `resource=` by identifier, so two would be ambiguous). Omitted or null: none.
   */
  conflicting_resource_id?: string | null;
};

/** Every command the resource aggregate accepts, tagged by `type`. */
export type ResourceCommand = RegisterResource;
