import { describe, expect, it } from 'vitest';
import { GrantsModel } from '../../src/projections/grants-model.js';
import { build, project, t } from './fixtures.js';

describe('GrantsModel', () => {
  // Positions: one event each, so g1 is at 0, g2 at 1, ...
  const history = [
    build.grant('z1', 'g1', 'a1', 'r1', ['payments:read'], null, 0),
    build.grant('z1', 'g2', 'a1', 'r1', ['payments:write'], 'alice', 1),
    build.grant('z1', 'g3', 'a1', 'r1', ['reports:read'], 'bob', 2),
    build.grant('z1', 'g4', 'a1', 'r2', ['payments:read'], null, 3),
    build.grant('z1', 'g5', 'a2', 'r1', ['payments:read'], 'alice', 4),
    build.grant('z2', 'g6', 'a1', 'r1', ['payments:read'], null, 5),
    build.grant('z1', 'g7', 'a1', 'r1', ['admin'], null, 6),
    build.revokeGrant('z1', 'g7', 7),
    build.grant('z1', 'g8', 'a1', 'r1', ['payments:read'], 'alice', 8),
    // Revoking twice, or an unknown grant, changes nothing.
    build.revokeGrant('z1', 'g7', 9),
    build.revokeGrant('z1', 'nope', 10),
  ];

  it('activeFor returns active any-user grants plus the user’s own, in issue order', async () => {
    const { grants } = await project(history);
    expect(grants.activeFor('z1', 'a1', 'r1', 'alice').map((g) => g.grant_id)).toEqual(['g1', 'g2', 'g8']);
    expect(grants.activeFor('z1', 'a1', 'r1', 'bob').map((g) => g.grant_id)).toEqual(['g1', 'g3']);
    expect(grants.activeFor('z1', 'a1', 'r1', 'carol').map((g) => g.grant_id)).toEqual(['g1']);
    // An application subject (no user) only gets grants for any user.
    expect(grants.activeFor('z1', 'a1', 'r1', null).map((g) => g.grant_id)).toEqual(['g1']);
    expect(grants.activeFor('z1', 'a1', 'r2', 'alice').map((g) => g.grant_id)).toEqual(['g4']);
    expect(grants.activeFor('z2', 'a1', 'r1', null).map((g) => g.grant_id)).toEqual(['g6']);
    expect(grants.activeFor('z1', 'a9', 'r1', 'alice')).toEqual([]);
  });

  it('keeps revoked grants with their positions, and everFor lists every grant of the triple', async () => {
    const { grants } = await project(history);
    expect(grants.get('g7')).toEqual({
      grant_id: 'g7',
      zone_id: 'z1',
      application_id: 'a1',
      resource_id: 'r1',
      scopes: ['admin'],
      user_id: null,
      status: 'revoked',
      issued_at: t(6),
      revoked_at: t(7),
      issued_position: 6n,
      revoked_position: 7n,
    });
    expect(grants.get('g1')).toMatchObject({ status: 'active', revoked_at: null, issued_position: 0n, revoked_position: null });
    expect(grants.everFor('z1', 'a1', 'r1')).toEqual([
      { grant_id: 'g1', issued_position: 0n },
      { grant_id: 'g2', issued_position: 1n },
      { grant_id: 'g3', issued_position: 2n },
      { grant_id: 'g7', issued_position: 6n },
      { grant_id: 'g8', issued_position: 8n },
    ]);
    expect(grants.everFor('z1', 'zz', 'r1')).toEqual([]);
  });

  it('lists a zone’s grants with filters', async () => {
    const { grants } = await project(history);
    const ids = (xs: { grant_id: string }[]) => xs.map((g) => g.grant_id);
    expect(ids(grants.list('z1'))).toEqual(['g1', 'g2', 'g3', 'g4', 'g5', 'g7', 'g8']);
    expect(ids(grants.list('z1', { status: 'revoked' }))).toEqual(['g7']);
    expect(ids(grants.list('z1', { application_id: 'a1', resource_id: 'r1', status: 'active' }))).toEqual(['g1', 'g2', 'g3', 'g8']);
    expect(ids(grants.list('z1', { user_id: 'alice' }))).toEqual(['g2', 'g5', 'g8']);
    expect(ids(grants.list('z3'))).toEqual([]);
  });

  it('returns frozen records and fresh arrays', async () => {
    const { grants } = await project(history);
    const list = grants.activeFor('z1', 'a1', 'r1', 'alice');
    list.length = 0;
    expect(grants.activeFor('z1', 'a1', 'r1', 'alice')).toHaveLength(3);
    expect(() => ((grants.get('g1') as { status: string }).status = 'revoked')).toThrow(TypeError);
    const ever = grants.everFor('z1', 'a1', 'r1');
    ever.pop();
    expect(grants.everFor('z1', 'a1', 'r1')).toHaveLength(5);
  });

  it('restores from a JSON snapshot (positions as strings) to the same answers', async () => {
    const { grants } = await project(history);
    const json = JSON.stringify(grants.snapshot());
    expect(json).toContain('"issued_position":"6"');
    const copy = new GrantsModel();
    copy.restore(JSON.parse(json));
    expect(copy.snapshot()).toEqual(grants.snapshot());
    expect(copy.activeFor('z1', 'a1', 'r1', 'alice').map((g) => g.grant_id)).toEqual(['g1', 'g2', 'g8']);
    expect(copy.everFor('z1', 'a1', 'r1').map((g) => g.grant_id)).toEqual(['g1', 'g2', 'g3', 'g7', 'g8']);
    expect(copy.get('g7')?.revoked_position).toBe(7n);
  });
});
