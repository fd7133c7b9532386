import { verifySecret } from '../crypto/secret-hash.js';
import { ApiError } from '../api/api-error.js';
import { invalidClient, invalidRequest } from './oauth-errors.js';
import type { StsApplication, StsDirectory } from './sts-ports.js';

/**
 * Client authentication of the token, introspection and revocation endpoints (RFC 6749 §2.3.1):
 * `client_secret_basic` (HTTP Basic, id and secret form-urlencoded before base64) or `client_secret_post`
 * (`client_id` + `client_secret` in the form body). Using both at once is refused (RFC 6749 §2.3: a client
 * MUST NOT use more than one method per request).
 */

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** Credentials as presented, not yet checked. */
export interface PresentedCredentials {
  clientId: string;
  clientSecret: string;
  method: ClientAuthMethod;
}

/** An application whose secret matched. */
export interface AuthenticatedClient {
  applicationId: string;
  zoneId: string;
  name: string;
}

/** Longest id or secret looked at: anything longer is not ours and is not hashed. */
const MAX_CREDENTIAL_LENGTH = 512;

/**
 * Read the credentials of a request. Returns an ApiError instead of throwing so that the rate limiter can
 * run before authentication and still key on the presented client id.
 */
export function readClientCredentials(
  authorization: string | undefined,
  body: Readonly<Record<string, unknown>>,
): PresentedCredentials | ApiError {
  const bodyId = body.client_id;
  const bodySecret = body.client_secret;
  const hasBodyCredentials = bodyId !== undefined || bodySecret !== undefined;
  const hasBasic = typeof authorization === 'string' && /^basic\s/i.test(authorization);

  if (hasBasic && hasBodyCredentials) {
    // A public client_id alongside Basic is tolerated only when it names the same client and carries no secret.
    if (bodySecret !== undefined) return invalidRequest('use one client authentication method: HTTP Basic or client_secret_post, not both');
  }
  if (hasBasic) {
    const parsed = parseBasic(authorization);
    if (!parsed) return invalidClient('malformed Basic credentials');
    if (bodyId !== undefined && bodyId !== parsed.clientId) {
      return invalidRequest('client_id in the body differs from the authenticated client');
    }
    return { ...parsed, method: 'client_secret_basic' };
  }
  if (typeof bodyId === 'string' && typeof bodySecret === 'string' && bodyId.length > 0 && bodySecret.length > 0) {
    if (bodyId.length > MAX_CREDENTIAL_LENGTH || bodySecret.length > MAX_CREDENTIAL_LENGTH) return invalidClient('credential too long');
    return { clientId: bodyId, clientSecret: bodySecret, method: 'client_secret_post' };
  }
  return invalidClient('no client credentials');
}

/**
 * Check presented credentials against the directory. Unknown client and wrong secret give the same error;
 * the secret is compared with the stored salted hash in constant time.
 */
export function authenticateClient(directory: StsDirectory, credentials: PresentedCredentials): AuthenticatedClient | ApiError {
  const app: StsApplication | undefined = directory.getApplication(credentials.clientId);
  if (!app) return invalidClient('unknown client');
  if (!verifySecret(credentials.clientSecret, app.secret_salt, app.secret_hash)) return invalidClient('secret mismatch');
  return { applicationId: app.application_id, zoneId: app.zone_id, name: app.name };
}

/** Read and check credentials in one step; throws the OAuth error (for introspection and revocation). */
export function requireClient(
  directory: StsDirectory,
  authorization: string | undefined,
  body: Readonly<Record<string, unknown>>,
): AuthenticatedClient {
  const presented = readClientCredentials(authorization, body);
  if (presented instanceof ApiError) throw presented;
  const client = authenticateClient(directory, presented);
  if (client instanceof ApiError) throw client;
  return client;
}

/** `Basic base64(urlencode(id) ":" urlencode(secret))`, decoded per RFC 6749 §2.3.1. */
function parseBasic(header: string): { clientId: string; clientSecret: string } | undefined {
  const encoded = header.slice(6).trim();
  if (encoded.length === 0 || encoded.length > 4 * MAX_CREDENTIAL_LENGTH || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (!clientId || !clientSecret) return undefined;
  if (clientId.length > MAX_CREDENTIAL_LENGTH || clientSecret.length > MAX_CREDENTIAL_LENGTH) return undefined;
  return { clientId, clientSecret };
}

/** application/x-www-form-urlencoded decoding of one value; undefined when the percent-encoding is broken. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
