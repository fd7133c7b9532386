import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/domain-error.js';
import { decisionDecider, grantableScopes, type RecordDecision } from '../../src/domain/decision/index.js';
import { makeEvent } from '../../src/domain/events.js';
import { DIGEST_A, DIGEST_B, T0, T1, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const RESOURCE_SCOPES = ['payments:read', 'payments:write', 'payments:refund'];
const GRANTS = [
  { grant_id: 'grt_1', scopes: ['payments:read'] },
  { grant_id: 'grt_2', scopes: ['payments:write', 'orders:read'] },
];
const MANDATE = { jti: 'jti_1', exp: T1 };

const allow = (over: Partial<RecordDecision> = {}): RecordDecision => ({
  type: 'RecordDecision',
  grants: GRANTS,
  resource_scopes: RESOURCE_SCOPES,
  request_id: 'req_1',
  zone_id: ZONE,
  occurred_at: T0,
  application_id: 'app_1',
  subject_id: 'user_42',
  subject_type: 'user',
  actor_id: null,
  session_id: 'ses_1',
  resource: { id: 'res_1', identifier: 'resource://payments' },
  requested_scopes: ['payments:read', 'payments:write'],
  granted_scopes: ['payments:read', 'payments:write'],
  decision: 'allow',
  determining_policies: ['writ.default'],
  diagnostics: [],
  policy_set_version: 1,
  policy_set_digest: DIGEST_A,
  ledger_position: '41',
  input_digest: DIGEST_B,
  mandate: MANDATE,
  ...over,
});
const deny = (over: Partial<RecordDecision> = {}): RecordDecision =>
  allow({
    granted_scopes: [],
    decision: 'deny',
    mandate: null,
    diagnostics: [{ reason: 'scope_not_granted', scope: 'payments:refund' }],
    requested_scopes: ['payments:refund'],
    ...over,
  });

/** The event a command should produce: its fields, minus the evidence, plus the derived grant ids. */
const recordedFrom = (command: RecordDecision, granted = command.granted_scopes) => {
  const { type: _t, grants, resource_scopes: _r, ...data } = command;
  return makeEvent('DecisionRecorded', { ...data, granted_scopes: granted, grant_ids: grants.map((g) => g.grant_id) });
};

describe('decision decider', () => {
  it('records an allow decision, deriving grant_ids from the grants in the input', () => {
    const command = allow();
    const state = given(decisionDecider).when(command).thenEvents([recordedFrom(command)]);
    expect(state).toEqual({
      status: 'recorded',
      request_id: 'req_1',
      zone_id: ZONE,
      occurred_at: T0,
      decision: 'allow',
      granted_scopes: ['payments:read', 'payments:write'],
      mandate: MANDATE,
    });
    const [event] = decisionDecider.decide(command, decisionDecider.initialState());
    expect(event?.type === 'DecisionRecorded' && event.data.grant_ids).toEqual(['grt_1', 'grt_2']);
  });

  it('records a deny decision', () => {
    const command = deny();
    const state = given(decisionDecider).when(command).thenEvents([recordedFrom(command)]);
    expect(state).toMatchObject({ status: 'recorded', decision: 'deny', granted_scopes: [], mandate: null });
  });

  it('records a deny for an unknown resource with nothing to grant from', () => {
    const command = deny({ grants: [], resource_scopes: [], resource: { id: null, identifier: 'resource://nope' } });
    given(decisionDecider).when(command).thenEvents([recordedFrom(command)]);
  });

  it('drops repeated granted scopes', () => {
    const command = allow({ granted_scopes: ['payments:read', 'payments:read'] });
    given(decisionDecider).when(command).thenEvents([recordedFrom(command, ['payments:read'])]);
  });

  it('refuses a second decision for the same request id', () => {
    given(decisionDecider, [recordedFrom(allow())])
      .when(deny({ occurred_at: T1 }))
      .thenError('duplicate_request_id', { request_id: 'req_1' });
  });

  describe('granted scopes never exceed requested ∩ grants ∩ resource', () => {
    it('refuses a scope that was not requested', () => {
      given(decisionDecider)
        .when(allow({ requested_scopes: ['payments:read'], granted_scopes: ['payments:read', 'payments:write'] }))
        .thenError('invalid_request', { violation: 'granted_scopes_exceed_bound', scopes: ['payments:write'] });
    });

    it('refuses a scope no grant covers', () => {
      given(decisionDecider)
        .when(allow({ requested_scopes: ['payments:refund'], granted_scopes: ['payments:refund'] }))
        .thenError('invalid_request', { violation: 'granted_scopes_exceed_bound', scopes: ['payments:refund'] });
    });

    it('refuses a scope the resource does not define, even if a grant covers it', () => {
      given(decisionDecider)
        .when(allow({ requested_scopes: ['orders:read'], granted_scopes: ['orders:read'] }))
        .thenError('invalid_request', { violation: 'granted_scopes_exceed_bound', scopes: ['orders:read'] });
    });

    it('accepts scopes covered by different grants (the union)', () => {
      const command = allow({ granted_scopes: ['payments:write', 'payments:read'] });
      given(decisionDecider).when(command).thenEvents([recordedFrom(command)]);
    });

    it('refuses any grant when the input had no grants', () => {
      given(decisionDecider)
        .when(allow({ grants: [] }))
        .thenError('invalid_request', { violation: 'granted_scopes_exceed_bound', scopes: ['payments:read', 'payments:write'] });
    });

    it('holds for arbitrary inputs (property)', () => {
      const alphabet = ['s:a', 's:b', 's:c', 's:d', 's:e'];
      const scopes = fc.subarray(alphabet);
      fc.assert(
        fc.property(scopes, fc.array(scopes, { maxLength: 3 }), scopes, scopes, (requested, grantScopes, resource, granted) => {
          const grants = grantScopes.map((s, i) => ({ grant_id: `grt_${i}`, scopes: s }));
          const bound = alphabet.filter((s) => requested.includes(s) && resource.includes(s) && grantScopes.some((g) => g.includes(s)));
          const command = allow({ requested_scopes: requested, grants, resource_scopes: resource, granted_scopes: granted });
          const acceptable = granted.length > 0 && granted.every((s) => bound.includes(s));
          let events;
          try {
            events = decisionDecider.decide(command, decisionDecider.initialState());
          } catch (err) {
            expect(err).toBeInstanceOf(DomainError);
            expect((err as DomainError).code).toBe('invalid_request');
            expect(acceptable).toBe(false);
            return;
          }
          expect(acceptable).toBe(true);
          expect(events[0]?.type === 'DecisionRecorded' && events[0].data.granted_scopes).toEqual(granted);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('decision shape', () => {
    it('refuses an allow that grants nothing', () => {
      given(decisionDecider).when(allow({ granted_scopes: [] })).thenError('invalid_request', { violation: 'allow_without_scopes' });
    });

    it('refuses an allow without a mandate', () => {
      given(decisionDecider).when(allow({ mandate: null })).thenError('invalid_request', { violation: 'allow_without_mandate' });
    });

    it('refuses a deny that grants scopes, even within the bound', () => {
      given(decisionDecider)
        .when(deny({ requested_scopes: ['payments:read'], granted_scopes: ['payments:read'] }))
        .thenError('invalid_request', { violation: 'deny_with_scopes', scopes: ['payments:read'] });
    });

    it('refuses a deny with a mandate', () => {
      given(decisionDecider).when(deny({ mandate: MANDATE })).thenError('invalid_request', { violation: 'deny_with_mandate' });
    });

    it('refuses a payload the event schema rejects', () => {
      given(decisionDecider)
        .when(allow({ ledger_position: 'head' }))
        .thenError('invalid_request', { event_type: 'DecisionRecorded' });
    });
  });

  describe('grantableScopes', () => {
    it('is requested ∩ union of grants ∩ resource, in requested order, without repeats', () => {
      expect(
        grantableScopes(
          ['payments:write', 'orders:read', 'payments:read', 'payments:refund', 'payments:write'],
          GRANTS,
          RESOURCE_SCOPES,
        ),
      ).toEqual(['payments:write', 'payments:read']);
    });

    it('is empty without grants', () => {
      expect(grantableScopes(['payments:read'], [], RESOURCE_SCOPES)).toEqual([]);
    });
  });
});
