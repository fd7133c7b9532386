import { sign as cryptoSign } from 'node:crypto';
import { compactVerify, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { MAX_MANDATE_TTL_SECONDS, SIGNING_ALG, type SigningKeys } from './signing-keys.js';

/**
 * The mandate: the short-lived, resource-scoped JWT access token the STS issues (RFC 9068 profile:
 * header `typ: at+jwt`). Claims: `iss, sub, aud` (the resource identifier), `client_id, scope, jti, sid, iat,
 * exp`, and writ's `zone_id, policy_version, request_id`, plus `act: {sub}` for delegation (RFC 8693 §4.1).
 */

/** RFC 9068 §2.1: JWT access tokens carry `typ: at+jwt`. */
export const MANDATE_TYP = 'at+jwt';

/** Claims writ puts in every mandate. */
export interface MandateClaims {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  scope: string;
  jti: string;
  sid: string;
  iat: number;
  exp: number;
  zone_id: string;
  policy_version: number;
  request_id: string;
  act?: { sub: string };
}

/** Sign a mandate with the active key. The lifetime is capped at 900 s whatever the caller computed. */
export async function signMandate(keys: SigningKeys, claims: MandateClaims): Promise<string> {
  if (claims.exp - claims.iat > MAX_MANDATE_TTL_SECONDS || claims.exp <= claims.iat) {
    throw new Error(`mandate lifetime ${claims.exp - claims.iat}s is outside (0, ${MAX_MANDATE_TTL_SECONDS}]`);
  }
  const { kid, keyObject } = keys.signingKey();
  // JWS compact serialization (RFC 7515 §7.1) signed with node:crypto: ES256 wants the raw r||s form
  // (RFC 7518 §3.4), which is what `dsaEncoding: 'ieee-p1363'` gives. Verification stays with jose.
  const signingInput = `${base64url(JSON.stringify({ alg: SIGNING_ALG, kid, typ: MANDATE_TYP }))}.${base64url(JSON.stringify(claims))}`;
  // The callback form runs the signature on libuv's thread pool, off the event loop that serves exchanges.
  const signature = await new Promise<Buffer>((resolve, reject) =>
    cryptoSign('sha256', Buffer.from(signingInput), { key: keyObject, dsaEncoding: 'ieee-p1363' }, (err, sig) => (err ? reject(err) : resolve(sig))),
  );
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

/** Why a presented mandate is not one of ours or no longer valid. */
export type MandateRejection = 'expired' | 'invalid';

/**
 * Verify a mandate: our keys, our issuer, `typ: at+jwt`, ES256 only, not expired. Returns the claims or the
 * reason it was refused; never throws for a bad token.
 */
export async function verifyMandate(
  keys: SigningKeys,
  token: string,
  issuer: string,
  now: Date,
): Promise<{ ok: true; claims: MandateClaims } | { ok: false; reason: MandateRejection }> {
  try {
    const { payload } = await jwtVerify(token, keys.verificationKeys(), {
      algorithms: [SIGNING_ALG],
      issuer,
      typ: MANDATE_TYP,
      currentDate: now,
      requiredClaims: ['sub', 'aud', 'jti', 'sid', 'exp', 'iat', 'client_id', 'zone_id'],
    });
    return isMandateClaims(payload) ? { ok: true, claims: payload } : { ok: false, reason: 'invalid' };
  } catch (err) {
    return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}

/**
 * Check only that a mandate was signed by one of our published keys and names our issuer, whatever its
 * expiry: revocation acts on the session of an expired mandate too (the session outlives its mandates).
 */
export async function verifyMandateSignature(keys: SigningKeys, token: string, issuer: string): Promise<MandateClaims | undefined> {
  try {
    const { protectedHeader } = await compactVerify(token, keys.verificationKeys(), { algorithms: [SIGNING_ALG] });
    if (protectedHeader.typ !== MANDATE_TYP) return undefined;
    const claims = decodeJwt(token);
    return claims.iss === issuer && isMandateClaims(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

function isMandateClaims(p: JWTPayload): p is JWTPayload & MandateClaims {
  return (
    typeof p.sub === 'string' &&
    typeof p.aud === 'string' &&
    typeof p.jti === 'string' &&
    typeof p.sid === 'string' &&
    typeof p.client_id === 'string' &&
    typeof p.zone_id === 'string' &&
    typeof p.scope === 'string' &&
    typeof p.exp === 'number' &&
    typeof p.iat === 'number'
  );
}
