import { describe, expect, it } from 'vitest';
import { SessionsModel } from '../../src/projections/sessions-model.js';
import { build, project, t } from './fixtures.js';

describe('SessionsModel', () => {
  const history = [
    build.session('z1', 's1', 'a1', 'alice', 0),
    build.session('z1', 's2', 'a1', 'bob', 1),
    build.session('z1', 's3', 'a2', 'alice', 2),
    build.session('z2', 's4', 'a3', 'alice', 3),
    build.revokeSession('z1', 's2', 'logout', 4),
    build.revokeSession('z1', 's3', null, 5),
    // Again: ignored, the first revocation stands.
    build.revokeSession('z1', 's3', 'again', 6),
  ];

  it('gets sessions with their status', async () => {
    const { sessions } = await project(history);
    expect(sessions.get('s1')).toEqual({
      session_id: 's1',
      zone_id: 'z1',
      application_id: 'a1',
      subject_id: 'alice',
      subject_type: 'user',
      status: 'active',
      started_at: t(0),
      revoked_at: null,
      reason: null,
    });
    expect(sessions.get('s2')).toMatchObject({ status: 'revoked', revoked_at: t(4), reason: 'logout' });
    expect(sessions.get('s3')).toMatchObject({ status: 'revoked', revoked_at: t(5), reason: null });
    expect(sessions.get('nope')).toBeUndefined();
  });

  it('lists a zone’s sessions with filters', async () => {
    const { sessions } = await project(history);
    const ids = (xs: { session_id: string }[]) => xs.map((s) => s.session_id);
    expect(ids(sessions.list('z1'))).toEqual(['s1', 's2', 's3']);
    expect(ids(sessions.list('z1', { subject: 'alice' }))).toEqual(['s1', 's3']);
    expect(ids(sessions.list('z1', { application_id: 'a1', status: 'active' }))).toEqual(['s1']);
    expect(ids(sessions.list('z1', { status: 'revoked' }))).toEqual(['s2', 's3']);
    expect(ids(sessions.list('z2'))).toEqual(['s4']);
  });

  it('restores from its snapshot', async () => {
    const { sessions } = await project(history);
    const copy = new SessionsModel();
    copy.restore(JSON.parse(JSON.stringify(sessions.snapshot())));
    expect(copy.snapshot()).toEqual(sessions.snapshot());
    expect(copy.get('s2')).toEqual(sessions.get('s2'));
    expect(copy.list('z1', { subject: 'alice' })).toEqual(sessions.list('z1', { subject: 'alice' }));
  });
});
