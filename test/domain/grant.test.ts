import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/domain/events.js';
import { grantDecider, type IssueGrant, type RevokeGrant } from '../../src/domain/grant/index.js';
import { OTHER_ZONE, T0, T1, T2, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const RESOURCE_SCOPES = ['payments:read', 'payments:write', 'payments:refund'];

const issue = (over: Partial<IssueGrant> = {}): IssueGrant => ({
  type: 'IssueGrant',
  zone_id: ZONE,
  grant_id: 'grt_1',
  application_id: 'app_1',
  resource_id: 'res_1',
  scopes: ['payments:read'],
  user_id: null,
  issued_at: T0,
  application: { zone_id: ZONE },
  resource: { zone_id: ZONE, scopes: RESOURCE_SCOPES },
  ...over,
});
const issued = (over: { scopes?: string[]; user_id?: string | null } = {}) =>
  makeEvent('GrantIssued', {
    zone_id: ZONE,
    grant_id: 'grt_1',
    application_id: 'app_1',
    resource_id: 'res_1',
    scopes: ['payments:read'],
    user_id: null,
    issued_at: T0,
    ...over,
  });
const revoke = (over: Partial<RevokeGrant> = {}): RevokeGrant => ({
  type: 'RevokeGrant',
  zone_id: ZONE,
  grant_id: 'grt_1',
  revoked_at: T1,
  ...over,
});
const revoked = makeEvent('GrantRevoked', { zone_id: ZONE, grant_id: 'grt_1', revoked_at: T1 });

describe('grant decider', () => {
  describe('IssueGrant', () => {
    it('issues a grant within the resource scopes', () => {
      const state = given(grantDecider).when(issue()).thenEvents([issued()]);
      expect(state).toMatchObject({ status: 'active', grant_id: 'grt_1', scopes: ['payments:read'] });
    });

    it('issues a grant for one user, every resource scope, without repeats', () => {
      given(grantDecider)
        .when(issue({ user_id: 'user_42', scopes: ['payments:write', 'payments:read', 'payments:refund', 'payments:read'] }))
        .thenEvents([issued({ user_id: 'user_42', scopes: ['payments:write', 'payments:read', 'payments:refund'] })]);
    });

    it('refuses an unknown application', () => {
      given(grantDecider).when(issue({ application: null })).thenError('application_not_found', { application_id: 'app_1' });
    });

    it("treats another zone's application as unknown", () => {
      const error = given(grantDecider)
        .when(issue({ application: { zone_id: OTHER_ZONE } }))
        .thenError('application_not_found');
      expect(JSON.stringify(error)).not.toContain(OTHER_ZONE);
      expect(error.message).not.toContain(OTHER_ZONE);
    });

    it('refuses an unknown resource', () => {
      given(grantDecider).when(issue({ resource: null })).thenError('resource_not_found', { resource_id: 'res_1' });
    });

    it("treats another zone's resource as unknown", () => {
      const error = given(grantDecider)
        .when(issue({ resource: { zone_id: OTHER_ZONE, scopes: RESOURCE_SCOPES } }))
        .thenError('resource_not_found');
      expect(JSON.stringify(error.details)).not.toContain(OTHER_ZONE);
      expect(error.message).not.toContain(OTHER_ZONE);
    });

    it('reports the application before the resource when both are unknown', () => {
      given(grantDecider).when(issue({ application: null, resource: null })).thenError('application_not_found');
    });

    it('refuses scopes the resource does not define, listing exactly those', () => {
      const error = given(grantDecider)
        .when(issue({ scopes: ['payments:read', 'payments:admin', 'orders:read', 'payments:admin'] }))
        .thenError('grant_scopes_exceed_resource');
      expect(error.details.scopes).toEqual(['payments:admin', 'orders:read']);
    });

    it('refuses scopes that break the grammar', () => {
      given(grantDecider)
        .when(issue({ scopes: ['payments:read', 'PAYMENTS'] }))
        .thenError('invalid_scope', { scopes: ['PAYMENTS'] });
    });

    it('refuses a grant without scopes', () => {
      given(grantDecider).when(issue({ scopes: [] })).thenError('invalid_scope', { scopes: [] });
    });

    it('refuses a grant id that already exists', () => {
      given(grantDecider, [issued()]).when(issue({ issued_at: T1 })).thenError('grant_already_exists', { grant_id: 'grt_1' });
    });

    it('refuses to reissue a revoked grant under the same id', () => {
      given(grantDecider, [issued(), revoked]).when(issue({ issued_at: T2 })).thenError('grant_already_exists');
    });
  });

  describe('RevokeGrant', () => {
    it('revokes an active grant', () => {
      const state = given(grantDecider, [issued()]).when(revoke()).thenEvents([revoked]);
      expect(state).toMatchObject({ status: 'revoked', revoked_at: T1, scopes: ['payments:read'] });
    });

    it('refuses an unknown grant', () => {
      given(grantDecider).when(revoke()).thenError('grant_not_found', { grant_id: 'grt_1' });
    });

    it("treats another zone's grant as unknown", () => {
      given(grantDecider, [issued()]).when(revoke({ zone_id: OTHER_ZONE })).thenError('grant_not_found');
    });

    it('refuses a grant revoked already', () => {
      given(grantDecider, [issued(), revoked])
        .when(revoke({ revoked_at: T2 }))
        .thenError('grant_already_revoked', { grant_id: 'grt_1', revoked_at: T1 });
    });
  });
});
