import { ACCEPTED_ALGORITHMS } from './subject-token-verifier.js';
import { SIGNING_ALG } from './signing-keys.js';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT } from './grant-types/token-exchange.js';

/**
 * OAuth 2.0 Authorization Server Metadata (RFC 8414), served at `/.well-known/oauth-authorization-server`.
 * writ has no authorization endpoint (it only exchanges tokens), so `response_types_supported` is empty.
 */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
  jwks_uri: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  /** Algorithm of the mandates writ signs (RFC 9068 access tokens). */
  access_token_signing_alg_values_supported: string[];
  /** writ extension: token types accepted as subject_token_type / actor_token_type. */
  token_exchange_subject_token_types_supported: string[];
  /** writ extension: algorithms accepted on subject and actor tokens. */
  subject_token_signing_alg_values_supported: string[];
}

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

export function authorizationServerMetadata(issuer: string): AuthorizationServerMetadata {
  const base = issuer.replace(/\/$/, '');
  return {
    issuer: base,
    token_endpoint: `${base}/v1/sts/token`,
    introspection_endpoint: `${base}/v1/sts/introspect`,
    revocation_endpoint: `${base}/v1/sts/revoke`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: [TOKEN_EXCHANGE_GRANT_TYPE],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    access_token_signing_alg_values_supported: [SIGNING_ALG],
    token_exchange_subject_token_types_supported: [TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN],
    subject_token_signing_alg_values_supported: [...ACCEPTED_ALGORITHMS],
  };
}
