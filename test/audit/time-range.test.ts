import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { setUpZone, type AuditZone } from './audit-fixture.js';
import { verifyExport } from '../../src/audit/verify.js';
import { parseCsv } from '../../src/audit/csv.js';

/**
 * Time ranges over `occurred_at` (since inclusive, until exclusive) agree across the list, the CSV list, the
 * export and replay. The STS clock is driven by the test (a minute apart per decision, within token lifetimes).
 */
describe('audit time ranges', () => {
  let t: TestWrit;
  let z: AuditZone;
  const base = Date.now();
  let clock = base;
  const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
  const ids: string[] = [];

  beforeAll(async () => {
    t = await startTestWrit({ now: () => new Date(clock) });
    z = await setUpZone(t);
    const client = await z.app();
    const res = await z.resource('payments', ['p:read']);
    await z.grant(client.application_id, res.resource_id, ['p:read']);
    for (let m = 0; m < 4; m++) {
      clock = base + m * 60_000;
      const r = await z.exchange({ client, sub: 'alice', resource: res.identifier, scope: 'p:read' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      ids.push(r.requestId);
    }
    clock = base;
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: t.root });
    expect(res.statusCode, res.body).toBe(200);
    return res;
  };
  const q = (since: string, until: string) => `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`;

  it('selects the same decisions everywhere', async () => {
    const range = q(at(1), at(3));
    const list = (await get(`/v1/zones/${z.zoneId}/audit/decisions?${range}`)).json();
    expect(list.items.map((i: { request_id: string }) => i.request_id)).toEqual(ids.slice(1, 3));

    const desc = (await get(`/v1/zones/${z.zoneId}/audit/decisions?${range}&order=desc`)).json();
    expect(desc.items.map((i: { request_id: string }) => i.request_id)).toEqual(ids.slice(1, 3).reverse());

    const csv = parseCsv((await get(`/v1/zones/${z.zoneId}/audit/decisions?${range}&format=csv`)).body);
    expect(csv.slice(1).map((r) => r[0])).toEqual(ids.slice(1, 3));

    const exported = (await get(`/v1/zones/${z.zoneId}/audit/export?${range}`)).body;
    expect(await verifyExport([exported])).toMatchObject({ ok: true, count: 2 });
    const lines = exported.trim().split('\n').map((l) => JSON.parse(l) as { request_id?: string });
    expect(lines.slice(0, 2).map((l) => l.request_id)).toEqual(ids.slice(1, 3));

    const replay = await t.app.inject({
      method: 'POST',
      url: `/v1/zones/${z.zoneId}/audit/replay`,
      headers: { ...t.root, 'content-type': 'application/json' },
      payload: { since: at(1), until: at(3) },
    });
    expect(replay.json()).toMatchObject({ evaluated: 2, matches_recorded: 2, mismatches: 0 });
  });

  it('accepts offsets and normalises them', async () => {
    const sinceWithOffset = new Date(base + 2 * 60_000).toISOString().replace('Z', '+00:00');
    const list = (await get(`/v1/zones/${z.zoneId}/audit/decisions?since=${encodeURIComponent(sinceWithOffset)}`)).json();
    expect(list.items.map((i: { request_id: string }) => i.request_id)).toEqual(ids.slice(2));
  });

  it('pages newest first across every decision', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ request_id: string }>; next_cursor: string | null } = (await get(`/v1/zones/${z.zoneId}/audit/decisions?order=desc&limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...page.items.map((i: { request_id: string }) => i.request_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });
});
