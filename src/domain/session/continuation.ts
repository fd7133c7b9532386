import type { SessionState } from './state.js';

/** Outcome of presenting an existing session id to the STS. The non-`ok` values are also diagnostic reasons. */
export type SessionContinuation = 'ok' | 'session_not_found' | 'session_revoked' | 'session_mismatch';

/** Who presents the session: the authenticated client, its zone, and the verified subject. */
export type SessionPresenter = { zone_id: string; application_id: string; subject_id: string };

/**
 * May this caller continue this session? Checked in this order:
 * - unknown, or in another zone: `session_not_found` (a zone never learns about another zone's sessions);
 * - bound to another application or subject: `session_mismatch`, checked before revocation so that a caller
 *   who does not own the session learns nothing about its status;
 * - revoked: `session_revoked`;
 * - otherwise `ok`.
 */
export function checkSessionContinuation(state: SessionState, presenter: SessionPresenter): SessionContinuation {
  if (state.status === 'none' || state.zone_id !== presenter.zone_id) return 'session_not_found';
  if (state.application_id !== presenter.application_id || state.subject_id !== presenter.subject_id) {
    return 'session_mismatch';
  }
  if (state.status === 'revoked') return 'session_revoked';
  return 'ok';
}
