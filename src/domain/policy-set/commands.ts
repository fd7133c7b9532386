/**
 * Commands on a zone's policy set (stream `policyset-<zone_id>`, one per zone). Bundles arrive already built
 * and hashed: compiling Rego and computing the sha256 digest are I/O and crypto, done by the application
 * layer. The decider assigns version numbers (1, 2, 3, ...) and keeps versions content-addressed.
 */

/** The bundle of a policy-set version as the application layer built it. */
export type PolicyBundle = {
  /** sha256 (lowercase hex) of the bundle bytes. */
  digest: string;
  bundle_base64: string;
  entrypoints: string[];
};

/**
 * Create version 1 from the built-in bundle and activate it (two events). Refused with
 * `policy_set_already_initialized` when the zone already has a policy set.
 */
export type InitializePolicySet = { type: 'InitializePolicySet'; zone_id: string; created_at: string } & PolicyBundle;

/**
 * Create the next version (not activated). `policy_set_not_initialized` before InitializePolicySet;
 * `policy_version_exists` (`details.version`, `details.digest`) when a version with the same digest exists:
 * uploading the same bundle twice must not mint a second version of identical content.
 */
export type CreatePolicyVersion = {
  type: 'CreatePolicyVersion';
  zone_id: string;
  origin: 'rego' | 'bundle';
  created_at: string;
} & PolicyBundle;

/**
 * Make `version` the active one. `policy_set_not_initialized`, `policy_version_not_found`,
 * `policy_version_already_active`. Rolling back is activating an older version.
 */
export type ActivatePolicyVersion = { type: 'ActivatePolicyVersion'; zone_id: string; version: number; activated_at: string };

/** Every command the policy-set aggregate accepts, tagged by `type`. */
export type PolicySetCommand = InitializePolicySet | CreatePolicyVersion | ActivatePolicyVersion;
