/**
 * Register an application (stream `application-<application_id>`). The client secret is shown once by the
 * API; only its salted hash reaches the domain. Re-registration is refused with `application_already_exists`.
 */
export type RegisterApplication = {
  type: 'RegisterApplication';
  zone_id: string;
  application_id: string;
  name: string;
  secret_salt: string;
  secret_hash: string;
  registered_at: string;
};

/** Every command the application aggregate accepts, tagged by `type`. */
export type ApplicationCommand = RegisterApplication;
