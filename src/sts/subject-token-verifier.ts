import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ApiError } from '../api/api-error.js';
import { invalidToken, type TokenRejectionReason, type TokenRole } from './oauth-errors.js';
import type { StsDirectory, StsTrustedIssuer } from './sts-ports.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/**
 * Verification of RFC 8693 subject and actor tokens: JWTs from a trusted issuer of the client's zone.
 *
 * - The issuer is chosen by the token's (unverified) `iss` among the zone's trusted issuers; the signature is
 *   then checked against that issuer's JWKS only, so a token can never pick its own key.
 * - Algorithms are an explicit allow-list of asymmetric ones: never `none`, never HS* (which would let anyone
 *   holding the public JWK forge tokens).
 * - `exp` and `sub` are required; `aud` is checked when the issuer is configured with an audience;
 *   `nbf` and `iat` must not be in the future; clock tolerance is 60 s.
 *
 * **Subject type rule.** A token describes an application (a workload acting for itself) when it carries
 * `client_id` (RFC 9068 §2.2, RFC 8693 §4.3) or `azp` (OIDC) equal to its `sub`: that is how client-credentials
 * tokens identify their client. Any other token describes a user, and `sub` is then the `user_id` matched
 * against per-user grants. A `subject_type` claim is deliberately not honoured: it would let one claim
 * override what the token's structure says.
 */

/** Asymmetric JWS algorithms accepted on subject and actor tokens. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
const ACCEPTED = new Set<string>(ACCEPTED_ALGORITHMS);
/** Clock skew tolerated on exp/nbf/iat, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/** Tokens longer than this are refused unparsed (a JWT is a few kB at most). */
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_SUBJECT_LENGTH = 512;

/** A token that passed verification. `claims` feed live policy evaluation only; they are never recorded. */
export interface VerifiedSubject {
  /** The `sub` claim. */
  id: string;
  type: 'user' | 'application';
  issuerId: string;
  claims: Readonly<JWTPayload>;
  /** `exp`, seconds since the epoch. */
  exp: number;
}

export interface SubjectTokenVerifierOptions {
  cacheSize?: number;
  now?: () => Date;
}

/** `user` or `application`, per the subject type rule in the module comment. */
export function subjectTypeOf(claims: JWTPayload): 'user' | 'application' {
  const sub = claims.sub;
  if (typeof sub !== 'string') return 'user';
  if (typeof claims.client_id === 'string' && claims.client_id === sub) return 'application';
  if (typeof claims.azp === 'string' && claims.azp === sub) return 'application';
  return 'user';
}

export class SubjectTokenVerifier {
  private readonly cache: VerifiedTokenCache<VerifiedSubject>;
  /** Imported JWKS per trusted issuer; issuers are immutable (a change is a remove + add with a new id). */
  private readonly keySets = new Map<string, { jwks: unknown; keys: JWTVerifyGetKey }>();
  private readonly now: () => Date;

  constructor(
    private readonly directory: StsDirectory,
    options: SubjectTokenVerifierOptions = {},
  ) {
    this.cache = new VerifiedTokenCache(options.cacheSize ?? 10_000);
    this.now = options.now ?? (() => new Date());
  }

  /** Verify a token presented to `zoneId`. Throws 401 `invalid_token` with `details.reason`. */
  async verify(zoneId: string, token: string, role: TokenRole): Promise<VerifiedSubject> {
    const now = this.now();
    const nowMs = now.getTime();
    const cacheKey = VerifiedTokenCache.keyOf(zoneId, token);
    const cached = this.cache.get(cacheKey, nowMs);
    // A cached verification holds only while its issuer is still trusted by the zone.
    if (cached && this.stillTrusted(zoneId, cached)) return cached;
    if (cached) this.cache.delete(cacheKey);

    const verified = await this.verifyUncached(zoneId, token, role, now);
    this.cache.set(cacheKey, verified, (verified.exp + CLOCK_TOLERANCE_SECONDS) * 1000, nowMs);
    return verified;
  }

  private stillTrusted(zoneId: string, v: VerifiedSubject): boolean {
    const iss = v.claims.iss;
    return typeof iss === 'string' && this.directory.findIssuers(zoneId, iss).some((i) => i.issuer_id === v.issuerId);
  }

  private async verifyUncached(zoneId: string, token: string, role: TokenRole, now: Date): Promise<VerifiedSubject> {
    const reject = (reason: TokenRejectionReason, detail?: string) => invalidToken(reason, role, detail);
    if (token.length > MAX_TOKEN_LENGTH) throw reject('malformed', 'token too long');

    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw reject('malformed', 'not a JWS compact JWT');
    }
    // Before any key is touched: `none` and symmetric algorithms are refused outright.
    if (typeof header.alg !== 'string' || !ACCEPTED.has(header.alg)) throw reject('signature_invalid', `algorithm ${String(header.alg)} not accepted`);
    if (typeof unverified.iss !== 'string' || unverified.iss.length === 0) throw reject('claim_missing', 'iss');

    const issuers = this.directory.findIssuers(zoneId, unverified.iss);
    if (issuers.length === 0) throw reject('issuer_untrusted');

    // One issuer string may in principle be configured more than once; the first that verifies wins.
    let failure: ApiError | undefined;
    for (const issuer of issuers) {
      try {
        const { payload } = await jwtVerify(token, this.keysOf(issuer), {
          algorithms: [...ACCEPTED_ALGORITHMS],
          issuer: issuer.issuer,
          ...(issuer.audience ? { audience: issuer.audience } : {}),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp', 'sub'],
          currentDate: now,
        });
        // jose checks iat only with maxTokenAge; a token minted in the future is as unusable as one with nbf there.
        if (typeof payload.iat === 'number' && payload.iat > now.getTime() / 1000 + CLOCK_TOLERANCE_SECONDS) {
          throw reject('token_not_yet_valid', 'iat in the future');
        }
        const sub = payload.sub;
        if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) throw reject('claim_missing', 'sub');
        return { id: sub, type: subjectTypeOf(payload), issuerId: issuer.issuer_id, claims: Object.freeze(payload), exp: payload.exp! };
      } catch (err) {
        failure = err instanceof ApiError ? err : reject(reasonOf(err), errorName(err));
      }
    }
    throw failure ?? reject('signature_invalid');
  }

  private keysOf(issuer: StsTrustedIssuer): JWTVerifyGetKey {
    const known = this.keySets.get(issuer.issuer_id);
    if (known && known.jwks === issuer.jwks) return known.keys;
    const keys = createLocalJWKSet(issuer.jwks as unknown as Parameters<typeof createLocalJWKSet>[0]);
    this.keySets.set(issuer.issuer_id, { jwks: issuer.jwks, keys });
    return keys;
  }
}

/** Map jose's error classes to writ's public reasons. */
function reasonOf(err: unknown): TokenRejectionReason {
  if (err instanceof errors.JWTExpired) return 'token_expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'claim_missing';
    switch (err.claim) {
      case 'nbf':
        return 'token_not_yet_valid';
      case 'iat':
        return 'token_not_yet_valid';
      case 'iss':
        return 'issuer_untrusted';
      case 'aud':
        return 'audience_mismatch';
      default:
        return 'malformed';
    }
  }
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown_kid';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature_invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'signature_invalid';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'signature_invalid';
  return 'malformed';
}

function errorName(err: unknown): string {
  return err instanceof Error ? `${err.name}${'code' in err ? ` ${String((err as { code: unknown }).code)}` : ''}` : 'unknown';
}
