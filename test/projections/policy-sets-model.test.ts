import { describe, expect, it } from 'vitest';
import { PolicySetsModel } from '../../src/projections/policy-sets-model.js';
import { build, HASH_A, HASH_B, project, t } from './fixtures.js';

describe('PolicySetsModel', () => {
  const history = [
    build.policyVersion('z1', 1, HASH_A, 0),
    build.activate('z1', 1, null, 1),
    build.policyVersion('z1', 2, HASH_B, 2),
    build.policyVersion('z2', 1, HASH_A, 3),
    build.activate('z1', 2, 1, 4),
    build.activate('z1', 1, 2, 5),
  ];

  it('tracks versions, the active one and when each was last activated', async () => {
    const { policySets } = await project(history);
    expect(policySets.get('z1')).toEqual({
      active_version: 1,
      versions: [
        { version: 1, digest: HASH_A, origin: 'builtin', entrypoints: ['writ/authz/result'], created_at: t(0), activated_at: t(5) },
        { version: 2, digest: HASH_B, origin: 'rego', entrypoints: ['writ/authz/result'], created_at: t(2), activated_at: t(4) },
      ],
    });
    expect(policySets.activeVersion('z1')).toEqual({ version: 1, digest: HASH_A });
    // Created but never activated.
    expect(policySets.get('z2')).toMatchObject({ active_version: null, versions: [{ version: 1, activated_at: null }] });
    expect(policySets.activeVersion('z2')).toBeUndefined();
    expect(policySets.get('z3')).toBeUndefined();
  });

  it('serves bundles by zone and version', async () => {
    const { policySets } = await project(history);
    expect(policySets.bundle('z1', 2)).toEqual({ digest: HASH_B, bundle_base64: Buffer.from(`bundle ${HASH_B}`).toString('base64') });
    expect(policySets.bundle('z2', 1)?.digest).toBe(HASH_A);
    expect(policySets.bundle('z1', 3)).toBeUndefined();
  });

  it('stores each bundle once per digest in its snapshot and restores', async () => {
    const { policySets } = await project(history);
    const snap = policySets.snapshot();
    expect(Object.keys(snap.bundles).sort()).toEqual([HASH_A, HASH_B]);
    const copy = new PolicySetsModel();
    copy.restore(JSON.parse(JSON.stringify(snap)));
    expect(copy.get('z1')).toEqual(policySets.get('z1'));
    expect(copy.bundle('z2', 1)).toEqual(policySets.bundle('z2', 1));
    expect(copy.activeVersion('z1')).toEqual({ version: 1, digest: HASH_A });
  });
});
