import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/domain/events.js';
import {
  checkSessionContinuation,
  sessionDecider,
  type RevokeSession,
  type StartSession,
} from '../../src/domain/session/index.js';
import { OTHER_ZONE, T0, T1, T2, T3, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const start = (over: Partial<StartSession> = {}): StartSession => ({
  type: 'StartSession',
  zone_id: ZONE,
  session_id: 'ses_1',
  application_id: 'app_1',
  subject_id: 'user_42',
  subject_type: 'user',
  started_at: T0,
  ...over,
});
const revoke = (over: Partial<RevokeSession> = {}): RevokeSession => ({
  type: 'RevokeSession',
  zone_id: ZONE,
  session_id: 'ses_1',
  reason: 'laptop stolen',
  revoked_at: T1,
  ...over,
});
const started = makeEvent('SessionStarted', {
  zone_id: ZONE,
  session_id: 'ses_1',
  application_id: 'app_1',
  subject_id: 'user_42',
  subject_type: 'user',
  started_at: T0,
});
const revoked = makeEvent('SessionRevoked', { zone_id: ZONE, session_id: 'ses_1', reason: 'laptop stolen', revoked_at: T1 });

describe('session decider', () => {
  describe('StartSession', () => {
    it('starts a session', () => {
      const state = given(sessionDecider).when(start()).thenEvents([started]);
      expect(state).toMatchObject({ status: 'active', application_id: 'app_1', subject_id: 'user_42' });
    });

    it('refuses a session that already exists', () => {
      given(sessionDecider, [started]).when(start({ started_at: T1 })).thenError('session_already_exists', { session_id: 'ses_1' });
    });

    it('never reactivates a revoked session', () => {
      given(sessionDecider, [started, revoked]).when(start({ started_at: T2 })).thenError('session_revoked', { session_id: 'ses_1' });
    });

    it('refuses an unknown subject type', () => {
      given(sessionDecider)
        .when(start({ subject_type: 'robot' as never }))
        .thenError('invalid_request', { event_type: 'SessionStarted' });
    });
  });

  describe('RevokeSession', () => {
    it('revokes an active session', () => {
      const state = given(sessionDecider, [started]).when(revoke()).thenEvents([revoked]);
      expect(state).toMatchObject({ status: 'revoked', revoked_at: T1, reason: 'laptop stolen' });
    });

    it('revokes without a reason', () => {
      given(sessionDecider, [started])
        .when(revoke({ reason: null }))
        .thenEvents([makeEvent('SessionRevoked', { zone_id: ZONE, session_id: 'ses_1', reason: null, revoked_at: T1 })]);
    });

    it('is idempotent on a revoked session: no event, and the first revocation stands', () => {
      const state = given(sessionDecider, [started, revoked]).when(revoke({ reason: 'again', revoked_at: T3 })).thenEvents([]);
      expect(state).toMatchObject({ status: 'revoked', revoked_at: T1, reason: 'laptop stolen' });
    });

    it('refuses an unknown session', () => {
      given(sessionDecider).when(revoke()).thenError('session_not_found', { session_id: 'ses_1' });
    });

    it("treats another zone's session as unknown, even when revoked", () => {
      given(sessionDecider, [started]).when(revoke({ zone_id: OTHER_ZONE })).thenError('session_not_found');
      given(sessionDecider, [started, revoked]).when(revoke({ zone_id: OTHER_ZONE })).thenError('session_not_found');
    });
  });

  it('keeps a revoked session revoked even if a start event follows in the ledger', () => {
    const state = given(sessionDecider, [started, revoked, { ...started, data: { ...started.data, started_at: T2 } }]).state;
    expect(state.status).toBe('revoked');
  });

  describe('checkSessionContinuation', () => {
    const owner = { zone_id: ZONE, application_id: 'app_1', subject_id: 'user_42' };
    const active = given(sessionDecider, [started]).state;
    const revokedState = given(sessionDecider, [started, revoked]).state;

    it('lets the owner continue an active session', () => {
      expect(checkSessionContinuation(active, owner)).toBe('ok');
    });

    it('reports an unknown session', () => {
      expect(checkSessionContinuation(given(sessionDecider).state, owner)).toBe('session_not_found');
    });

    it("reports another zone's session as unknown", () => {
      expect(checkSessionContinuation(active, { ...owner, zone_id: OTHER_ZONE })).toBe('session_not_found');
      expect(checkSessionContinuation(revokedState, { ...owner, zone_id: OTHER_ZONE })).toBe('session_not_found');
    });

    it('reports a session bound to another application or subject', () => {
      expect(checkSessionContinuation(active, { ...owner, application_id: 'app_2' })).toBe('session_mismatch');
      expect(checkSessionContinuation(active, { ...owner, subject_id: 'user_7' })).toBe('session_mismatch');
    });

    it('reports a revoked session to its owner', () => {
      expect(checkSessionContinuation(revokedState, owner)).toBe('session_revoked');
    });

    it('tells a caller who does not own a revoked session only that it is not theirs', () => {
      expect(checkSessionContinuation(revokedState, { ...owner, application_id: 'app_2' })).toBe('session_mismatch');
    });
  });
});
