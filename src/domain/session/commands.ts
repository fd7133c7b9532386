/** Who a session acts for. */
export type SubjectType = 'user' | 'application';

/**
 * Start a session (stream `session-<session_id>`). `session_already_exists` when the stream holds an active
 * session; `session_revoked` when it holds a revoked one: a revoked session never becomes active again.
 */
export type StartSession = {
  type: 'StartSession';
  zone_id: string;
  session_id: string;
  application_id: string;
  subject_id: string;
  subject_type: SubjectType;
  started_at: string;
};

/**
 * Revoke a session. `session_not_found` when unknown or in another zone. Revoking an already revoked session
 * is idempotent: no event, no error. Operators, the admin API and RFC 7009 revocation all expect "make sure it
 * is revoked" to succeed on retry, and the first revocation's time and reason stay the recorded ones.
 */
export type RevokeSession = {
  type: 'RevokeSession';
  zone_id: string;
  session_id: string;
  reason: string | null;
  revoked_at: string;
};

/** Every command the session aggregate accepts, tagged by `type`. */
export type SessionCommand = StartSession | RevokeSession;
