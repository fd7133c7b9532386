import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionsModel, type DecisionSummary } from '../../src/projections/decisions-model.js';
import { InvalidCursorError, encodeDecisionCursor } from '../../src/projections/decision-cursor.js';
import { build, project, t } from './fixtures.js';

describe('DecisionsModel', () => {
  // Positions: 0 ... 6, one per event.
  const history = [
    build.decision({ request_id: 'r0', zone_id: 'z1', application_id: 'a1', subject_id: 'alice', at: 0 }),
    build.decision({ request_id: 'r1', zone_id: 'z1', application_id: 'a1', subject_id: 'bob', decision: 'deny', at: 10, session_id: null }),
    build.decision({ request_id: 'r2', zone_id: 'z2', application_id: 'a9', at: 20 }),
    build.decision({
      request_id: 'r3',
      zone_id: 'z1',
      application_id: 'a2',
      subject_id: 'alice',
      at: 30,
      resource_id: 'res-2',
      identifier: 'resource://reports',
      requested: ['reports:read', 'reports:write'],
      granted: ['reports:read'],
    }),
    build.session('z1', 'ses-x', 'a1', 'alice', 35),
    // A time in another precision is kept verbatim.
    build.decision({ request_id: 'r4', zone_id: 'z1', application_id: 'a1', occurred_at: '2030-01-01T00:00:40.123456Z', exp: '2030-01-01T00:15:40Z' }),
    build.decision({ request_id: 'r5', zone_id: 'z1', application_id: 'a1', decision: 'deny', at: 50, policy_set_version: null, resource_id: null }),
  ];

  it('gets a decision summary by request id and a mandate by jti', async () => {
    const { decisions } = await project(history);
    expect(decisions.get('r3')).toEqual({
      request_id: 'r3',
      zone_id: 'z1',
      occurred_at: t(30),
      decision: 'allow',
      application_id: 'a2',
      subject_id: 'alice',
      session_id: 'ses-1',
      resource_id: 'res-2',
      resource_identifier: 'resource://reports',
      requested_scopes: ['reports:read', 'reports:write'],
      granted_scopes: ['reports:read'],
      policy_set_version: 1,
      mandate: { jti: 'jti-r3', exp: t(930) },
      position: 3n,
    } satisfies DecisionSummary);
    expect(decisions.get('r1')).toMatchObject({ decision: 'deny', session_id: null, granted_scopes: [], mandate: null, position: 1n });
    expect(decisions.get('r5')).toMatchObject({ policy_set_version: null, resource_id: null });
    expect(decisions.get('r4')).toMatchObject({
      occurred_at: '2030-01-01T00:00:40.123456Z',
      mandate: { jti: 'jti-r4', exp: '2030-01-01T00:15:40Z' },
    });
    expect(decisions.get('nope')).toBeUndefined();
    expect(decisions.byJti('jti-r0')).toEqual({
      request_id: 'r0',
      zone_id: 'z1',
      session_id: 'ses-1',
      application_id: 'a1',
      subject_id: 'alice',
      exp: t(900),
    });
    expect(decisions.byJti('jti-r1')).toBeUndefined();
    expect(decisions.size).toBe(6);
  });

  it('lists a zone in position order with filters', async () => {
    const { decisions } = await project(history);
    const ids = (f: Partial<Parameters<DecisionsModel['list']>[1]>) => decisions.list('z1', { limit: 100, ...f }).items.map((d) => d.request_id);
    expect(ids({})).toEqual(['r0', 'r1', 'r3', 'r4', 'r5']);
    expect(ids({ decision: 'deny' })).toEqual(['r1', 'r5']);
    expect(ids({ application_id: 'a1' })).toEqual(['r0', 'r1', 'r4', 'r5']);
    expect(ids({ subject: 'alice' })).toEqual(['r0', 'r3']);
    expect(ids({ resource: 'resource://reports' })).toEqual(['r3']);
    expect(ids({ resource: 'res-2' })).toEqual(['r3']);
    expect(ids({ since: t(10), until: t(40) })).toEqual(['r1', 'r3']);
    expect(ids({ since: '2030-01-01T00:00:40.123Z' })).toEqual(['r4', 'r5']);
    expect(ids({ application_id: 'unknown' })).toEqual([]);
    expect(ids({ subject: 'alice', decision: 'deny' })).toEqual([]);
    expect(decisions.list('z9', { limit: 10 })).toEqual({ items: [], next_cursor: null });
  });

  it('pages with an opaque cursor, and the last page has no cursor', async () => {
    const { decisions } = await project(history);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = decisions.list('z1', { limit: 2, cursor });
      pages++;
      seen.push(...page.items.map((d) => d.request_id));
      cursor = page.next_cursor ?? undefined;
      expect(page.items.length).toBeGreaterThan(0);
    } while (cursor);
    expect(seen).toEqual(['r0', 'r1', 'r3', 'r4', 'r5']);
    expect(pages).toBe(3);
    // Exactly one full page: no empty page after it.
    expect(decisions.list('z1', { limit: 5 }).next_cursor).toBeNull();
    // A filter combines with the cursor.
    const first = decisions.list('z1', { limit: 1, application_id: 'a1' });
    expect(first.items.map((d) => d.request_id)).toEqual(['r0']);
    expect(decisions.list('z1', { limit: 10, application_id: 'a1', cursor: first.next_cursor! }).items.map((d) => d.request_id)).toEqual(['r1', 'r4', 'r5']);
    // A cursor past everything.
    expect(decisions.list('z1', { limit: 10, cursor: encodeDecisionCursor(100n) }).items).toEqual([]);
  });

  it('keeps any valid time exactly and filters on it (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), fc.boolean(), (date, canonical) => {
        const iso = date.toISOString();
        const occurred_at = canonical ? iso : iso.replace(/\.(\d{3})Z$/, '.$1999Z');
        const model = new DecisionsModel();
        model.apply(build.decision({ request_id: 'r', zone_id: 'z', application_id: 'a', occurred_at, exp: occurred_at }), {
          position: 0n,
          recordedAt: iso,
          streamId: 'decision-r',
          revision: 0n,
        });
        expect(model.get('r')?.occurred_at).toBe(occurred_at);
        expect(model.byJti('jti-r')?.exp).toBe(occurred_at);
        expect(model.list('z', { limit: 1, since: iso }).items).toHaveLength(1);
        expect(model.list('z', { limit: 1, until: iso }).items).toHaveLength(0);
        expect(model.list('z', { limit: 1, until: new Date(date.getTime() + 1).toISOString() }).items).toHaveLength(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects bad cursors, times and limits', async () => {
    const { decisions } = await project(history);
    expect(() => decisions.list('z1', { limit: 10, cursor: 'garbage!' })).toThrow(InvalidCursorError);
    expect(() => decisions.list('z1', { limit: 10, cursor: Buffer.from('d1.-5').toString('base64url') })).toThrow(InvalidCursorError);
    expect(() => decisions.list('z1', { limit: 10, since: 'yesterday' })).toThrow(RangeError);
    expect(() => decisions.list('z1', { limit: 0 })).toThrow(RangeError);
  });

  it('restores from its columnar snapshot to the same answers', async () => {
    const { decisions } = await project(history);
    const snap = JSON.parse(JSON.stringify(decisions.snapshot()));
    expect(snap.rows).toBe(6);
    const copy = new DecisionsModel();
    copy.restore(snap);
    expect(copy.snapshot()).toEqual(decisions.snapshot());
    for (const id of ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']) expect(copy.get(id)).toEqual(decisions.get(id));
    expect(copy.byJti('jti-r4')).toEqual(decisions.byJti('jti-r4'));
    expect(copy.list('z1', { limit: 2, since: t(5) })).toEqual(decisions.list('z1', { limit: 2, since: t(5) }));
    expect(() => copy.restore({ ...snap, zone: [] })).toThrow(TypeError);
  });

  it('folds more after a restore, continuing the same tables', async () => {
    const { decisions, store } = await project(history);
    const copy = new DecisionsModel();
    copy.restore(JSON.parse(JSON.stringify(decisions.snapshot())));
    const more = build.decision({ request_id: 'r6', zone_id: 'z1', application_id: 'a2', subject_id: 'alice', at: 60 });
    const at = { position: 7n, recordedAt: t(60), streamId: 'decision-r6', revision: 0n };
    copy.apply(more, at);
    decisions.apply(more, at);
    expect(copy.snapshot()).toEqual(decisions.snapshot());
    expect(copy.list('z1', { limit: 10, subject: 'alice' }).items.map((d) => d.request_id)).toEqual(['r0', 'r3', 'r6']);
    await store.close();
  });
});
