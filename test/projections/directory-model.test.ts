import { describe, expect, it } from 'vitest';
import { DirectoryModel } from '../../src/projections/directory-model.js';
import { SnapshotVersionError } from '../../src/projections/read-model.js';
import { build, ev, HASH_A, HASH_B, project, SALT, t } from './fixtures.js';

const issuer = (zone_id: string, issuer_id: string, iss: string, at = 0) =>
  ev('TrustedIssuerAdded', {
    zone_id,
    issuer_id,
    issuer: iss,
    jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: issuer_id }] },
    audience: null,
    added_at: t(at),
  });

describe('DirectoryModel', () => {
  const history = [
    build.zone('z1', 0),
    build.zone('z2', 1),
    ev('AdminKeyIssued', { zone_id: 'z1', key_id: 'k1', name: 'ops', secret_salt: SALT, secret_hash: HASH_A, issued_at: t(2) }),
    ev('AdminKeyIssued', { zone_id: 'z1', key_id: 'k2', name: 'ci', secret_salt: SALT, secret_hash: HASH_B, issued_at: t(3) }),
    ev('AdminKeyRevoked', { zone_id: 'z1', key_id: 'k2', revoked_at: t(4) }),
    issuer('z1', 'i1', 'https://idp.example', 5),
    issuer('z1', 'i2', 'https://idp.example', 6),
    issuer('z1', 'i3', 'https://other.example', 7),
    issuer('z2', 'i4', 'https://idp.example', 8),
    ev('TrustedIssuerRemoved', { zone_id: 'z1', issuer_id: 'i1', removed_at: t(9) }),
    build.app('z1', 'a1', 10),
    build.app('z1', 'a2', 11),
    build.app('z2', 'a3', 12),
    build.resource('z1', 'r1', 'payments', ['payments:read', 'payments:write'], 13),
    build.resource('z2', 'r2', 'payments', ['payments:read'], 14),
  ];

  it('answers zone, key, issuer, application and resource queries', async () => {
    const { directory } = await project(history);
    expect(directory.getZone('z1')).toEqual({ zone_id: 'z1', name: 'Zone z1', created_at: t(0) });
    expect(directory.getZone('nope')).toBeUndefined();
    expect(directory.listZones().map((z) => z.zone_id)).toEqual(['z1', 'z2']);

    expect(directory.getAdminKey('k1')).toMatchObject({ key_id: 'k1', zone_id: 'z1', status: 'active', secret_hash: HASH_A, secret_salt: SALT, issued_at: t(2) });
    expect(directory.getAdminKey('k2')).toMatchObject({ status: 'revoked', revoked_at: t(4) });
    expect(directory.listAdminKeys('z1').map((k) => k.key_id)).toEqual(['k1', 'k2']);

    expect(directory.listIssuers('z1').map((i) => i.issuer_id)).toEqual(['i2', 'i3']);
    expect(directory.findIssuers('z1', 'https://idp.example').map((i) => i.issuer_id)).toEqual(['i2']);
    expect(directory.findIssuers('z2', 'https://idp.example').map((i) => i.issuer_id)).toEqual(['i4']);
    expect(directory.findIssuers('z1', 'https://unknown.example')).toEqual([]);
    expect(directory.getIssuer('i1')).toBeUndefined();
    expect(directory.getIssuer('i2')?.jwks.keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: 'i2' });

    expect(directory.getApplication('a1')).toEqual({
      application_id: 'a1',
      zone_id: 'z1',
      name: 'App a1',
      secret_salt: SALT,
      secret_hash: HASH_A,
      registered_at: t(10),
    });
    expect(directory.listApplications('z1').map((a) => a.application_id)).toEqual(['a1', 'a2']);
    expect(directory.listApplications('z9')).toEqual([]);

    expect(directory.getResource('r1')).toEqual({
      resource_id: 'r1',
      zone_id: 'z1',
      identifier: 'resource://payments',
      scopes: ['payments:read', 'payments:write'],
      upstream_url: null,
      registered_at: t(13),
    });
    // The same identifier in two zones resolves per zone.
    expect(directory.findResourceByIdentifier('z1', 'resource://payments')?.resource_id).toBe('r1');
    expect(directory.findResourceByIdentifier('z2', 'resource://payments')?.resource_id).toBe('r2');
    expect(directory.findResourceByIdentifier('z1', 'resource://nope')).toBeUndefined();
    expect(directory.listResources('z2').map((r) => r.resource_id)).toEqual(['r2']);
  });

  it('hands out records that cannot be changed through the reference', async () => {
    const { directory } = await project(history);
    const app = directory.getApplication('a1')!;
    expect(() => ((app as { name: string }).name = 'x')).toThrow(TypeError);
    const res = directory.getResource('r1')!;
    expect(() => (res.scopes as string[]).push('x')).toThrow(TypeError);
    const list = directory.listApplications('z1');
    list.pop();
    expect(directory.listApplications('z1')).toHaveLength(2);
    const jwk = directory.getIssuer('i2')!.jwks.keys[0] as Record<string, unknown>;
    expect(() => (jwk.x = 'evil')).toThrow(TypeError);
  });

  it('restores from its snapshot to the same answers, and refuses another version', async () => {
    const { directory } = await project(history);
    const snap = JSON.parse(JSON.stringify(directory.snapshot()));
    const copy = new DirectoryModel();
    copy.restore(snap);
    expect(copy.snapshot()).toEqual(directory.snapshot());
    expect(copy.findIssuers('z1', 'https://idp.example').map((i) => i.issuer_id)).toEqual(['i2']);
    expect(copy.findResourceByIdentifier('z2', 'resource://payments')?.resource_id).toBe('r2');
    expect(() => copy.restore({ ...snap, version: 999 })).toThrow(SnapshotVersionError);
  });
});
