import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/domain/events.js';
import { zoneDecider, type ZoneCommand } from '../../src/domain/zone/index.js';
import { HASH, OTHER_ZONE, SALT, T0, T1, T2, T3, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] };
const ISSUER = 'https://idp.example.com';

const created = makeEvent('ZoneCreated', { zone_id: ZONE, name: 'Payments', created_at: T0 });
const keyIssued = (key_id: string) =>
  makeEvent('AdminKeyIssued', { zone_id: ZONE, key_id, name: 'ci', secret_salt: SALT, secret_hash: HASH, issued_at: T1 });
const keyRevoked = (key_id: string) => makeEvent('AdminKeyRevoked', { zone_id: ZONE, key_id, revoked_at: T2 });
const issuerAdded = (issuer_id: string, issuer = ISSUER) =>
  makeEvent('TrustedIssuerAdded', { zone_id: ZONE, issuer_id, issuer, jwks: JWKS, audience: null, added_at: T1 });
const issuerRemoved = (issuer_id: string) => makeEvent('TrustedIssuerRemoved', { zone_id: ZONE, issuer_id, removed_at: T2 });

const issueKey = (key_id: string, zone_id = ZONE): ZoneCommand => ({
  type: 'IssueAdminKey',
  zone_id,
  key_id,
  name: 'ci',
  secret_salt: SALT,
  secret_hash: HASH,
  issued_at: T1,
});
const revokeKey = (key_id: string, zone_id = ZONE): ZoneCommand => ({ type: 'RevokeAdminKey', zone_id, key_id, revoked_at: T2 });
const addIssuer = (issuer_id: string, issuer = ISSUER, zone_id = ZONE): ZoneCommand => ({
  type: 'AddTrustedIssuer',
  zone_id,
  issuer_id,
  issuer,
  jwks: JWKS,
  audience: null,
  added_at: T1,
});
const removeIssuer = (issuer_id: string): ZoneCommand => ({ type: 'RemoveTrustedIssuer', zone_id: ZONE, issuer_id, removed_at: T3 });

describe('zone decider', () => {
  describe('CreateZone', () => {
    it('creates a zone', () => {
      const state = given(zoneDecider)
        .when({ type: 'CreateZone', zone_id: ZONE, name: 'Payments', created_at: T0 })
        .thenEvents([created]);
      expect(state).toMatchObject({ status: 'active', zone_id: ZONE, name: 'Payments', created_at: T0 });
    });

    it('refuses an existing zone', () => {
      given(zoneDecider, [created])
        .when({ type: 'CreateZone', zone_id: ZONE, name: 'Again', created_at: T1 })
        .thenError('zone_already_exists', { zone_id: ZONE });
    });

    it('turns a payload the event schema refuses into invalid_request', () => {
      const error = given(zoneDecider)
        .when({ type: 'CreateZone', zone_id: ZONE, name: 'Payments', created_at: 'yesterday' })
        .thenError('invalid_request', { event_type: 'ZoneCreated' });
      expect(error.details.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['created_at'] })]));
    });
  });

  describe('IssueAdminKey', () => {
    it('issues a key in an existing zone', () => {
      const state = given(zoneDecider, [created]).when(issueKey('key_1')).thenEvents([keyIssued('key_1')]);
      expect(state.status === 'active' && state.admin_keys.get('key_1')).toEqual({
        key_id: 'key_1',
        name: 'ci',
        issued_at: T1,
        revoked_at: null,
      });
    });

    it('refuses when the zone does not exist', () => {
      given(zoneDecider).when(issueKey('key_1')).thenError('zone_not_found', { zone_id: ZONE });
    });

    it('treats a stream holding another zone as not found', () => {
      given(zoneDecider, [created]).when(issueKey('key_1', OTHER_ZONE)).thenError('zone_not_found', { zone_id: OTHER_ZONE });
    });

    it('refuses a key id that already exists', () => {
      given(zoneDecider, [created, keyIssued('key_1')])
        .when(issueKey('key_1'))
        .thenError('admin_key_already_exists', { key_id: 'key_1' });
    });
  });

  describe('RevokeAdminKey', () => {
    it('revokes an active key', () => {
      const state = given(zoneDecider, [created, keyIssued('key_1')]).when(revokeKey('key_1')).thenEvents([keyRevoked('key_1')]);
      expect(state.status === 'active' && state.admin_keys.get('key_1')?.revoked_at).toBe(T2);
    });

    it('refuses an unknown key', () => {
      given(zoneDecider, [created, keyIssued('key_1')]).when(revokeKey('key_2')).thenError('admin_key_not_found', { key_id: 'key_2' });
    });

    it('refuses a key revoked already', () => {
      given(zoneDecider, [created, keyIssued('key_1'), keyRevoked('key_1')])
        .when(revokeKey('key_1'))
        .thenError('admin_key_already_revoked', { key_id: 'key_1', revoked_at: T2 });
    });

    it('refuses when the zone does not exist', () => {
      given(zoneDecider).when(revokeKey('key_1')).thenError('zone_not_found');
    });

    it('does not confuse ids with object prototype members', () => {
      given(zoneDecider, [created]).when(revokeKey('constructor')).thenError('admin_key_not_found');
      given(zoneDecider, [created]).when(revokeKey('__proto__')).thenError('admin_key_not_found');
      given(zoneDecider, [created, keyIssued('__proto__'), keyRevoked('__proto__')])
        .when(revokeKey('__proto__'))
        .thenError('admin_key_already_revoked');
    });
  });

  describe('AddTrustedIssuer', () => {
    it('trusts an issuer', () => {
      const state = given(zoneDecider, [created]).when(addIssuer('iss_1')).thenEvents([issuerAdded('iss_1')]);
      expect(state.status === 'active' && state.issuers.get('iss_1')).toMatchObject({ issuer: ISSUER, removed_at: null });
    });

    it('refuses an issuer URL that is already trusted, naming the existing entry', () => {
      given(zoneDecider, [created, issuerAdded('iss_1')])
        .when(addIssuer('iss_2'))
        .thenError('issuer_already_trusted', { issuer: ISSUER, issuer_id: 'iss_1' });
    });

    it('accepts an issuer URL again once its previous entry was removed', () => {
      given(zoneDecider, [created, issuerAdded('iss_1'), issuerRemoved('iss_1')])
        .when(addIssuer('iss_2'))
        .thenEvents([issuerAdded('iss_2')]);
    });

    it('accepts several distinct issuers', () => {
      given(zoneDecider, [created, issuerAdded('iss_1')])
        .when(addIssuer('iss_2', 'https://other.example.com'))
        .thenEvents([issuerAdded('iss_2', 'https://other.example.com')]);
    });

    it('refuses an issuer id that already exists', () => {
      given(zoneDecider, [created, issuerAdded('iss_1')])
        .when(addIssuer('iss_1', 'https://other.example.com'))
        .thenError('issuer_already_exists', { issuer_id: 'iss_1' });
    });

    it('refuses when the zone does not exist', () => {
      given(zoneDecider).when(addIssuer('iss_1')).thenError('zone_not_found');
    });

    it('refuses a JWKS without keys', () => {
      given(zoneDecider, [created])
        .when({ ...addIssuer('iss_1'), jwks: { keys: [] } } as ZoneCommand)
        .thenError('invalid_request', { event_type: 'TrustedIssuerAdded' });
    });
  });

  describe('RemoveTrustedIssuer', () => {
    it('removes a trusted issuer', () => {
      const state = given(zoneDecider, [created, issuerAdded('iss_1')])
        .when(removeIssuer('iss_1'))
        .thenEvents([makeEvent('TrustedIssuerRemoved', { zone_id: ZONE, issuer_id: 'iss_1', removed_at: T3 })]);
      expect(state.status === 'active' && state.issuers.get('iss_1')?.removed_at).toBe(T3);
    });

    it('refuses an unknown issuer', () => {
      given(zoneDecider, [created]).when(removeIssuer('iss_1')).thenError('issuer_not_found', { issuer_id: 'iss_1' });
    });

    it('refuses an issuer removed already', () => {
      given(zoneDecider, [created, issuerAdded('iss_1'), issuerRemoved('iss_1')])
        .when(removeIssuer('iss_1'))
        .thenError('issuer_not_found', { issuer_id: 'iss_1' });
    });

    it('refuses when the zone does not exist', () => {
      given(zoneDecider).when(removeIssuer('iss_1')).thenError('zone_not_found');
    });
  });

  it('ignores events of other aggregates', () => {
    const state = given(zoneDecider, [created, makeEvent('GrantRevoked', { zone_id: ZONE, grant_id: 'g', revoked_at: T1 })]).state;
    expect(state).toEqual(given(zoneDecider, [created]).state);
  });
});
